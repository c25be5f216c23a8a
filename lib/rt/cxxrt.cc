// The pieces of a C++ runtime that freestanding code still needs.
#include <cstddef>

#include "rt/report.h"

extern "C" void __cxa_pure_virtual() { report_abort("pure virtual function called"); }

// Without a heap (lib/mem provides one), operator new has nowhere to go;
// placement new needs none of this.
void operator delete(void*) noexcept {}
void operator delete(void*, size_t) noexcept {}
void operator delete[](void*) noexcept {}
void operator delete[](void*, size_t) noexcept {}
