// A checking heap: malloc/free/calloc/aligned_alloc/realloc over pages from
// a callback (in the guest: the page allocator through the identity map; in
// host tests: ordinary host memory).
//
// The heap is built to catch the bugs of the code using it, not to be fast:
//  - every chunk has a header whose tag mixes in its own address, so a
//    pointer that was never returned by the heap, or a header overwritten by
//    an underrun, is recognised;
//  - the bytes between the requested size and the end of the chunk (at least
//    kMinRedzone) hold a canary, checked on free, realloc and check();
//  - free memory is poisoned, and the poison is checked before reuse and by
//    check(), which catches writes after free;
//  - a second free of a pointer is reported as a double free, also after
//    the chunk has been merged with its neighbours.
// Problems go to the `report` hook with a HeapProblem; the guest wires it to
// report_abort. When the hook returns (host tests), the operation is
// abandoned: a chunk with a smashed canary is not freed, so the corruption
// does not spread into the free list.
//
// Exhaustion returns nullptr; with `report_exhaustion` set it is also
// reported, as HeapFault::out_of_memory.
//
// Not thread-safe: callers on several CPUs serialise around it. Pages taken
// from the page source are never given back.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mem {

enum class HeapFault : uint8_t {
  out_of_memory,
  bad_pointer,     // not a pointer this heap returned
  double_free,
  overrun,         // the canary after the requested size was overwritten
  corrupt_header,  // a chunk header (ours or a neighbour's) was overwritten
  use_after_free,  // poison in a free chunk was overwritten
  bad_alignment,   // aligned_alloc with an alignment that is not a power of two
};
const char* heap_fault_str(HeapFault f);

struct HeapProblem {
  HeapFault fault;
  const void* ptr;  // the user pointer concerned, or the damaged address
  size_t size;      // the request size for out_of_memory, else the chunk's
};

struct HeapConfig {
  void* ctx = nullptr;
  // `pages` contiguous 4 KiB pages, 16-byte aligned at least, or nullptr.
  void* (*alloc_pages)(void* ctx, size_t pages) = nullptr;
  void (*report)(void* ctx, const HeapProblem& problem) = nullptr;
  bool report_exhaustion = false;
  size_t grow_pages = 16;  // minimum pages taken from the source at a time
};

struct HeapStats {
  size_t bytes_in_use;  // requested bytes of live allocations
  size_t live_allocations;
  size_t bytes_free;    // free chunk bytes, headers included
  size_t bytes_from_source;
};

namespace heap_detail {
struct Chunk;
struct Region;
}  // namespace heap_detail

class Heap {
 public:
  static constexpr size_t kAlign = 16;       // of every pointer returned
  static constexpr size_t kMinRedzone = 8;   // canary bytes after each block

  explicit Heap(const HeapConfig& config) : cfg_(config) {}
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // malloc(0) returns a unique pointer that must be freed.
  void* malloc(size_t size);
  void free(void* ptr);
  void* calloc(size_t count, size_t size);
  // `align` must be a power of two; any size is accepted.
  void* aligned_alloc(size_t align, size_t size);
  // realloc(p, 0) frees p and returns nullptr. On failure p is untouched.
  void* realloc(void* ptr, size_t size);
  // The requested size of a live allocation, or 0 after reporting a problem.
  size_t usable_size(const void* ptr);

  // Walks every chunk and reports each problem; returns how many it found.
  size_t check();
  HeapStats stats() const;

 private:
  using Chunk = heap_detail::Chunk;
  using Region = heap_detail::Region;

  Chunk* find_fit(size_t need, size_t align, uintptr_t* payload);
  Chunk* grow(size_t need, size_t align);
  Chunk* place(Chunk* c, uintptr_t payload, size_t need);
  Chunk* checked_chunk(const void* ptr);
  void release(Chunk* c);
  void mark_used(Chunk* c, size_t request);
  void make_free(Chunk* c);
  void split(Chunk* c, size_t keep);
  void list_insert(Chunk* c);
  void list_remove(Chunk* c);
  bool poison_intact(const Chunk* c) const;
  void problem(HeapFault f, const void* ptr, size_t size);

  HeapConfig cfg_;
  Region* regions_ = nullptr;
  Chunk* free_list_ = nullptr;
  size_t in_use_ = 0;
  size_t live_ = 0;
  size_t free_bytes_ = 0;
  size_t from_source_ = 0;
};

}  // namespace mem
