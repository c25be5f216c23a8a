// The guest's memory services (boot phase 6, step 1), built on the portable
// PageAllocator and Heap once the final memory map is known.
//
// Contract:
//  - memory_init() runs once, on the BSP, before main(). Afterwards every
//    usable page of RAM, above 4 GiB too, belongs to the page allocator,
//    except what the boot stub already uses (loader ranges are not usable).
//  - The functions below are safe to call from any CPU: they serialise on
//    one lock.
//  - Failures are values; the heap reports corruption (double free,
//    overrun, foreign pointer) through report_abort with the address and
//    the kind of fault, and exhaustion with a clear message before
//    returning nullptr.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/addr.h"
#include "mem/heap.h"
#include "mem/page_alloc.h"

struct BootInfo;

namespace mem {

void memory_init(BootInfo& bi);

// Physical pages, identity-mapped (the address is also the pointer).
PageResult alloc_pages(uint64_t count, uint64_t align = kPageSize, uint64_t below = kNoLimit);
AllocError free_pages(PhysAddr pa, uint64_t count);
uint64_t pages_free();
uint64_t pages_total();
// Free pages whose end is at or below `below` (kBelow4G: the 32-bit zone).
uint64_t pages_free_below(uint64_t below);

// The heap behind malloc: its counters, and a full consistency walk that
// reports (and so aborts on) the first problem; returns the problem count.
HeapStats heap_stats();
size_t heap_check();

}  // namespace mem

extern "C" {
void* malloc(size_t size);
void free(void* p);
void* calloc(size_t n, size_t size);
void* realloc(void* p, size_t size);
void* aligned_alloc(size_t align, size_t size);
}
