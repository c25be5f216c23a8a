// The guest's memory services; the contract is in memory.h.
//
// One PageAllocator owns every usable page of the final memory map; the
// checking Heap grows from it. Both are built in memory_init() with
// placement new rather than as global objects with constructors: static
// constructors run after phase 6 (start.cc), so they would wipe state that
// memory_init() had already filled in.
//
// One lock covers both, taken with interrupts off: the heap's page source
// calls into the page allocator while the heap holds the lock, and an
// interrupt handler that allocates must not spin on its own CPU's lock.
#include "mem/memory.h"

#include <new>

#include "cpu/spinlock.h"
#include "boot/bootinfo.h"
#include "rt/console.h"
#include "rt/report.h"

namespace mem {
namespace {

// Free extents: the map has at most BootInfo::kMaxRanges ranges; the rest
// is room for the holes that allocations and frees punch into them.
constexpr size_t kMaxExtents = 1024;
using Allocator = PageAllocatorWithStorage<kMaxExtents>;

alignas(Allocator) constinit unsigned char allocator_storage[sizeof(Allocator)] = {};
alignas(Heap) constinit unsigned char heap_storage[sizeof(Heap)] = {};
constinit Allocator* allocator = nullptr;
constinit Heap* heap = nullptr;
constinit SpinLock lock;

Allocator& pages() {
  if (!allocator) report_abort("memory: page allocator used before memory_init");
  return *allocator;
}

Heap& the_heap() {
  if (!heap) report_abort("memory: heap used before memory_init");
  return *heap;
}

// Called by the heap with the lock already held.
void* heap_pages(void*, size_t count) {
  PageResult r = allocator->alloc_pages(count);
  return r.ok() ? reinterpret_cast<void*>(r.pa.value) : nullptr;
}

void heap_problem(void*, const HeapProblem& p) {
  if (p.fault == HeapFault::out_of_memory) {
    // The allocation returns nullptr; the caller decides whether that is
    // fatal. The line tells whoever reads the log why it happened.
    printf("heap: out of memory for a request of %zu bytes (%lu pages free in the page "
           "allocator)\n",
           p.size, allocator->pages_free());
    return;
  }
  report_abort("heap: %s at 0x%lx (chunk size %zu)", heap_fault_str(p.fault),
               reinterpret_cast<uint64_t>(p.ptr), p.size);
}

}  // namespace

void memory_init(BootInfo& bi) {
  if (allocator) report_abort("memory: memory_init called twice");
  auto* a = new (allocator_storage) Allocator();
  if (AllocError e = a->add_usable(bi.mem, bi.mem_stats.count); e != AllocError::none)
    report_abort("memory: adding the memory map to the page allocator failed: %s",
                 alloc_error_str(e));
  allocator = a;

  HeapConfig hc;
  hc.alloc_pages = heap_pages;
  hc.report = heap_problem;
  hc.report_exhaustion = true;
  heap = new (heap_storage) Heap(hc);

  const uint64_t low = a->pages_free_below(kBelow4G);
  printf("memory: %lu MiB in the page allocator (%lu MiB above 4 GiB)\n",
         a->pages_free() * kPageSize >> 20, (a->pages_free() - low) * kPageSize >> 20);
}

PageResult alloc_pages(uint64_t count, uint64_t align, uint64_t below) {
  IrqSpinGuard g(lock);
  return pages().alloc_pages(count, align, below);
}

AllocError free_pages(PhysAddr pa, uint64_t count) {
  IrqSpinGuard g(lock);
  return pages().free_pages(pa, count);
}

uint64_t pages_free() {
  IrqSpinGuard g(lock);
  return pages().pages_free();
}

uint64_t pages_total() {
  IrqSpinGuard g(lock);
  return pages().pages_total();
}

uint64_t pages_free_below(uint64_t below) {
  IrqSpinGuard g(lock);
  return pages().pages_free_below(below);
}

HeapStats heap_stats() {
  IrqSpinGuard g(lock);
  return the_heap().stats();
}

size_t heap_check() {
  IrqSpinGuard g(lock);
  return the_heap().check();
}

}  // namespace mem

extern "C" {

void* malloc(size_t size) {
  IrqSpinGuard g(mem::lock);
  return mem::the_heap().malloc(size);
}

void free(void* p) {
  if (!p) return;
  IrqSpinGuard g(mem::lock);
  mem::the_heap().free(p);
}

void* calloc(size_t n, size_t size) {
  IrqSpinGuard g(mem::lock);
  return mem::the_heap().calloc(n, size);
}

void* realloc(void* p, size_t size) {
  IrqSpinGuard g(mem::lock);
  return mem::the_heap().realloc(p, size);
}

void* aligned_alloc(size_t align, size_t size) {
  IrqSpinGuard g(mem::lock);
  return mem::the_heap().aligned_alloc(align, size);
}

}  // extern "C"

// C++ allocation. Built with -fno-exceptions, so a failing operator new
// cannot throw, and returning nullptr from a non-nothrow new is undefined
// behaviour in the caller: it ends the test as ERROR instead.
namespace {

void* new_or_abort(size_t size, size_t align) {
  void* p = align > mem::Heap::kAlign ? aligned_alloc(align, size) : malloc(size);
  if (!p) report_abort("operator new: out of memory for %zu bytes", size);
  return p;
}

}  // namespace

void* operator new(size_t size) { return new_or_abort(size, 0); }
void* operator new[](size_t size) { return new_or_abort(size, 0); }
void* operator new(size_t size, std::align_val_t a) {
  return new_or_abort(size, static_cast<size_t>(a));
}
void* operator new[](size_t size, std::align_val_t a) {
  return new_or_abort(size, static_cast<size_t>(a));
}
void* operator new(size_t size, const std::nothrow_t&) noexcept { return malloc(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return malloc(size); }
void* operator new(size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return aligned_alloc(static_cast<size_t>(a), size);
}
void* operator new[](size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return aligned_alloc(static_cast<size_t>(a), size);
}

void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
void operator delete[](void* p, size_t) noexcept { free(p); }
void operator delete(void* p, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { free(p); }
