// Physical page allocator; the contract is in page_alloc.h.
//
// The extent list is short (one entry per hole in RAM plus fragmentation),
// so linear scans keep the code obviously correct; nothing here is on a hot
// path.
#include "mem/page_alloc.h"

namespace mem {
namespace {

constexpr uint64_t page_floor(uint64_t v) { return v & ~(kPageSize - 1); }
// Saturates instead of wrapping for addresses in the last page.
constexpr uint64_t page_ceil(uint64_t v) {
  return v > ~0ull - (kPageSize - 1) ? page_floor(~0ull) : page_floor(v + kPageSize - 1);
}
constexpr uint64_t end_of(uint64_t base, uint64_t size) {
  return size > ~0ull - base ? ~0ull : base + size;
}
constexpr uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
constexpr uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

}  // namespace

const char* alloc_error_str(AllocError e) {
  switch (e) {
    case AllocError::none: return "ok";
    case AllocError::out_of_memory: return "out of physical memory";
    case AllocError::bad_request: return "bad page request";
    case AllocError::double_free: return "pages already free";
    case AllocError::not_ram: return "pages not managed by the allocator";
    case AllocError::no_slots: return "free-extent list full";
  }
  return "unknown allocation error";
}

bool PageAllocator::insert_at(size_t i, Extent e) {
  if (n_ == cap_) return false;
  for (size_t j = n_; j > i; --j) ext_[j] = ext_[j - 1];
  ext_[i] = e;
  ++n_;
  return true;
}

void PageAllocator::erase_at(size_t i) {
  for (size_t j = i + 1; j < n_; ++j) ext_[j - 1] = ext_[j];
  --n_;
}

// Returns [base, end) to the free list, merging with its neighbours.
// Refuses (double_free) if any part of it is already free.
AllocError PageAllocator::give_back(uint64_t base, uint64_t end) {
  size_t i = 0;
  while (i < n_ && ext_[i].base < base) ++i;  // first extent at or after base
  const bool prev_touches = i > 0 && ext_[i - 1].end == base;
  const bool next_touches = i < n_ && ext_[i].base == end;
  if ((i > 0 && ext_[i - 1].end > base) || (i < n_ && ext_[i].base < end))
    return AllocError::double_free;
  if (prev_touches && next_touches) {
    ext_[i - 1].end = ext_[i].end;
    erase_at(i);
  } else if (prev_touches) {
    ext_[i - 1].end = end;
  } else if (next_touches) {
    ext_[i].base = base;
  } else if (!insert_at(i, Extent{base, end})) {
    return AllocError::no_slots;
  }
  free_pages_ += (end - base) / kPageSize;
  return AllocError::none;
}

// Removes [base, end), which lies inside extent i, from the free list.
AllocError PageAllocator::take(size_t i, uint64_t base, uint64_t end) {
  Extent& x = ext_[i];
  if (base == x.base && end == x.end) {
    erase_at(i);
  } else if (base == x.base) {
    x.base = end;
  } else if (end == x.end) {
    x.end = base;
  } else {
    const Extent upper{end, x.end};
    if (!insert_at(i + 1, upper)) return AllocError::no_slots;
    ext_[i].end = base;
  }
  free_pages_ -= (end - base) / kPageSize;
  return AllocError::none;
}

// Adds [base, end) to the sorted RAM spans, merging with touching ones.
// Only called for ranges that add_free() checked: no overlap, and a free
// slot if one is needed.
void PageAllocator::record_ram(uint64_t base, uint64_t end) {
  size_t i = 0;
  while (i < n_ram_ && ram_[i].base < base) ++i;
  const bool prev_touches = i > 0 && ram_[i - 1].end == base;
  const bool next_touches = i < n_ram_ && ram_[i].base == end;
  if (prev_touches && next_touches) {
    ram_[i - 1].end = ram_[i].end;
    for (size_t j = i + 1; j < n_ram_; ++j) ram_[j - 1] = ram_[j];
    --n_ram_;
  } else if (prev_touches) {
    ram_[i - 1].end = end;
  } else if (next_touches) {
    ram_[i].base = base;
  } else {
    for (size_t j = n_ram_; j > i; --j) ram_[j] = ram_[j - 1];
    ram_[i] = Extent{base, end};
    ++n_ram_;
  }
}

bool PageAllocator::is_ram(uint64_t base, uint64_t end) const {
  for (size_t i = 0; i < n_ram_; ++i)
    if (ram_[i].base <= base && end <= ram_[i].end) return true;
  return false;
}

AllocError PageAllocator::add_free(PhysAddr base, uint64_t size) {
  // Page 0 stays out of the pool (see the header).
  const uint64_t b = max_u64(page_ceil(base.value), kPageSize);
  const uint64_t e = page_floor(end_of(base.value, size));
  if (b >= e) return AllocError::none;
  // A range that overlaps RAM already added is refused whole. Check for a
  // RAM span slot before changing the free list, so failures change nothing.
  bool touches = false;
  for (size_t i = 0; i < n_ram_; ++i) {
    if (ram_[i].base < e && b < ram_[i].end) return AllocError::double_free;
    touches |= ram_[i].end == b || ram_[i].base == e;
  }
  if (!touches && n_ram_ == kMaxRamSpans) return AllocError::no_slots;
  const AllocError err = give_back(b, e);
  if (err != AllocError::none) return err;
  record_ram(b, e);
  total_pages_ += (e - b) / kPageSize;
  return AllocError::none;
}

AllocError PageAllocator::add_usable(const boot::MemRange* ranges, size_t count) {
  AllocError first = AllocError::none;
  for (size_t i = 0; i < count; ++i) {
    if (ranges[i].kind != boot::MemKind::usable) continue;
    const AllocError e = add_free(ranges[i].base, ranges[i].size);
    if (first == AllocError::none) first = e;
  }
  return first;
}

PageResult PageAllocator::alloc_pages(uint64_t count, uint64_t align, uint64_t below) {
  if (count == 0 || align < kPageSize || (align & (align - 1)) != 0 ||
      count > ~0ull / kPageSize)
    return {PhysAddr(), AllocError::bad_request};
  const uint64_t size = count * kPageSize;
  bool lacked_slot = false;
  for (size_t i = n_; i-- > 0;) {
    const Extent x = ext_[i];
    const uint64_t top = min_u64(x.end, page_floor(below));
    if (top <= x.base || top - x.base < size) continue;
    const uint64_t start = (top - size) & ~(align - 1);
    if (start < x.base) continue;
    if (take(i, start, start + size) == AllocError::none) return {PhysAddr(start)};
    // Carving from the middle needs a slot; the bottom of the extent does not.
    const uint64_t low = (x.base + align - 1) & ~(align - 1);
    if (low == x.base && x.base + size <= top && take(i, low, low + size) == AllocError::none)
      return {PhysAddr(low)};
    lacked_slot = true;
  }
  return {PhysAddr(), lacked_slot ? AllocError::no_slots : AllocError::out_of_memory};
}

AllocError PageAllocator::free_pages(PhysAddr pa, uint64_t count) {
  if (count == 0 || (pa.value & (kPageSize - 1)) || pa.value == 0 ||
      count > (~0ull - pa.value) / kPageSize)
    return AllocError::bad_request;
  const uint64_t end = pa.value + count * kPageSize;
  if (!is_ram(pa.value, end)) return AllocError::not_ram;
  return give_back(pa.value, end);
}

AllocError PageAllocator::reserve(PhysAddr base, uint64_t size) {
  if (size == 0) return AllocError::none;
  const uint64_t b = page_floor(base.value);
  const uint64_t e = page_ceil(end_of(base.value, size));
  // Only an extent that strictly contains the range needs a new slot; check
  // first so that a failure changes nothing.
  for (size_t i = 0; i < n_; ++i)
    if (ext_[i].base < b && ext_[i].end > e && n_ == cap_) return AllocError::no_slots;
  for (size_t i = 0; i < n_;) {
    const uint64_t lo = max_u64(ext_[i].base, b), hi = min_u64(ext_[i].end, e);
    if (lo >= hi) {
      ++i;
      continue;
    }
    const bool erases = lo == ext_[i].base && hi == ext_[i].end;
    const AllocError err = take(i, lo, hi);
    if (err != AllocError::none) return err;
    if (!erases) ++i;
  }
  return AllocError::none;
}

bool PageAllocator::is_free(PhysAddr pa, uint64_t count) const {
  if (count > ~0ull / kPageSize) return false;
  const uint64_t e = end_of(pa.value, count * kPageSize);
  for (size_t i = 0; i < n_; ++i)
    if (ext_[i].base <= pa.value && e <= ext_[i].end) return true;
  return false;
}

uint64_t PageAllocator::pages_free_below(uint64_t below) const {
  uint64_t pages = 0;
  for (size_t i = 0; i < n_; ++i) {
    const uint64_t top = min_u64(ext_[i].end, page_floor(below));
    if (top > ext_[i].base) pages += (top - ext_[i].base) / kPageSize;
  }
  return pages;
}

}  // namespace mem
