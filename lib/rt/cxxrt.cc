// The pieces of a C++ runtime that freestanding code still needs.
#include <cstddef>

#include "rt/report.h"

extern "C" void __cxa_pure_virtual() { report_abort("pure virtual function called"); }

// operator new and delete live with the heap, in lib/mem/memory.cc.
