// The live page table is a service of the memory layer now: mem/paging.h.
// This name stays only until x86/access.cc and x86/emulator.cc include it
// by the new one; include mem/paging.h.
#pragma once

#include "mem/paging.h"
