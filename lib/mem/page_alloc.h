// Physical page allocator over the normalised memory map (boot phase 6).
//
// Free memory is a sorted list of disjoint page-aligned extents [base, end)
// kept in caller-provided storage, so the allocator needs no memory of its
// own and never touches the pages it manages: the same code runs in the
// guest and in host tests without a simulated RAM.
//
// Contract:
//  - Built from the `usable` ranges of the map, all of RAM including above
//    4 GiB. Partial pages at range edges are dropped. Physical page 0 is
//    never handed out, so PhysAddr(0) cannot be mistaken for "none".
//  - alloc_pages() is top-down: it returns the highest suitable block whose
//    end is at or below `below`. Low memory (below 1 MiB for the AP
//    trampoline, below 4 GiB for 32-bit DMA) is therefore used last, and a
//    "zone" is just a `below` limit (kBelow1M, kBelow4G).
//  - Errors are values. A free of pages that are (partly) free already, or
//    that were never added, is refused and changes nothing. For that the
//    allocator remembers the RAM it was given, as up to kMaxRamSpans merged
//    spans.
//  - The extent list can run out of slots when memory fragments; that is
//    reported (AllocError::no_slots) and leaves the state unchanged.
//  - Not thread-safe: callers on several CPUs serialise around it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/addr.h"
#include "boot/memmap.h"

namespace mem {

constexpr uint64_t kBelow1M = 1ull << 20;
constexpr uint64_t kBelow4G = 1ull << 32;
constexpr uint64_t kNoLimit = ~0ull;

enum class AllocError : uint8_t {
  none = 0,
  out_of_memory,  // no free block satisfies count/align/below
  bad_request,    // count 0, align not a power of two >= 4 KiB, unaligned pa
  double_free,    // free of pages that are already free
  not_ram,        // free of pages the allocator never managed
  no_slots,       // the extent list is full (memory too fragmented)
};
const char* alloc_error_str(AllocError e);

struct [[nodiscard]] PageResult {
  PhysAddr pa;
  AllocError error = AllocError::none;
  constexpr bool ok() const { return error == AllocError::none; }
};

struct Extent {
  uint64_t base;
  uint64_t end;  // exclusive
};

class PageAllocator {
 public:
  static constexpr size_t kMaxRamSpans = 128;

  // `storage` holds up to `capacity` free extents and must outlive the
  // allocator.
  PageAllocator(Extent* storage, size_t capacity) : ext_(storage), cap_(capacity) {}

  // Adds every `usable` range of a normalised map. Returns no_slots if some
  // range did not fit (the rest are still added) and double_free if ranges
  // overlapped what was already added (the overlap is skipped).
  [[nodiscard]] AllocError add_usable(const boot::MemRange* ranges, size_t count);
  // Adds [base, base+size), shrunk inward to whole pages, as free memory.
  // Returns no_slots if either the free list or the RAM span list is full.
  [[nodiscard]] AllocError add_free(PhysAddr base, uint64_t size);

  // `count` pages aligned to `align` bytes, ending at or below `below`.
  PageResult alloc_pages(uint64_t count, uint64_t align = kPageSize, uint64_t below = kNoLimit);
  [[nodiscard]] AllocError free_pages(PhysAddr pa, uint64_t count);
  // Removes [base, base+size), widened to whole pages, from the free pool;
  // parts that are not free are ignored. For ranges in use outside the
  // allocator: the AP trampoline, tables built before the allocator existed.
  // Reserved RAM may later be handed back with free_pages().
  [[nodiscard]] AllocError reserve(PhysAddr base, uint64_t size);
  // True when every page of [pa, pa + count pages) is free.
  bool is_free(PhysAddr pa, uint64_t count) const;

  uint64_t pages_free() const { return free_pages_; }
  uint64_t pages_total() const { return total_pages_; }
  // Free pages whose end is at or below `below` (a zone's free count).
  uint64_t pages_free_below(uint64_t below) const;
  size_t extents() const { return n_; }
  const Extent& extent(size_t i) const { return ext_[i]; }

 private:
  bool insert_at(size_t i, Extent e);
  void erase_at(size_t i);
  AllocError give_back(uint64_t base, uint64_t end);
  AllocError take(size_t i, uint64_t base, uint64_t end);

  void record_ram(uint64_t base, uint64_t end);
  bool is_ram(uint64_t base, uint64_t end) const;

  Extent* ext_;
  size_t cap_;
  Extent ram_[kMaxRamSpans] = {};
  size_t n_ram_ = 0;
  size_t n_ = 0;
  uint64_t free_pages_ = 0;
  uint64_t total_pages_ = 0;
};

// An allocator that carries its own extent storage.
template <size_t N>
class PageAllocatorWithStorage : public PageAllocator {
 public:
  PageAllocatorWithStorage() : PageAllocator(storage_, N) {}
  PageAllocatorWithStorage(const PageAllocatorWithStorage&) = delete;
  PageAllocatorWithStorage& operator=(const PageAllocatorWithStorage&) = delete;

 private:
  Extent storage_[N];
};

}  // namespace mem
