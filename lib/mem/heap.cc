// The checking heap; the contract is in heap.h.
//
// Memory comes in regions from the page source. A region is a Region header
// followed by chunks laid end to end and closed by a sentinel chunk of size
// 0. Every chunk starts with a 32-byte Chunk header; its payload (what the
// user gets) follows the header, so payloads are 16-byte aligned. Each
// header records the size of the chunk before it, so neighbours in both
// directions are found without a search, and no two free chunks are ever
// adjacent (they are merged on free). Free chunks are on one doubly-linked
// list whose links live in the first 16 payload bytes; the rest of a free
// payload is poison.
#include "mem/heap.h"

namespace mem {

struct heap_detail::Chunk {
  uint64_t tag;        // kind tag XOR the chunk's own address
  uint64_t size;       // whole chunk including this header
  uint64_t prev_size;  // size of the previous chunk; 0 for a region's first
  uint64_t request;    // bytes asked for, while in use
};

struct heap_detail::Region {
  Region* next;
  uint64_t size;
};

namespace {

struct FreeLinks {
  heap_detail::Chunk* next;
  heap_detail::Chunk* prev;
};

constexpr size_t kHeader = 32;
constexpr size_t kMinChunk = kHeader + sizeof(FreeLinks);
constexpr uint64_t kTagUsed = 0x75736564'6368756bull;
constexpr uint64_t kTagFree = 0x66726565'6368756bull;
constexpr uint64_t kTagEnd = 0x656e6400'6368756bull;
constexpr uint8_t kCanaryByte = 0xfd;
constexpr uint8_t kPoisonByte = 0xdd;
constexpr size_t kPageBytes = 4096;

constexpr size_t round_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

bool bytes_are(uintptr_t from, uintptr_t to, uint8_t value) {
  for (uintptr_t p = from; p < to; ++p)
    if (*reinterpret_cast<const uint8_t*>(p) != value) return false;
  return true;
}

void fill(uintptr_t from, uintptr_t to, uint8_t value) {
  if (to > from) __builtin_memset(reinterpret_cast<void*>(from), value, to - from);
}

}  // namespace

static_assert(sizeof(heap_detail::Chunk) == kHeader && kHeader % Heap::kAlign == 0);
static_assert(sizeof(heap_detail::Region) % Heap::kAlign == 0);

namespace {

using heap_detail::Chunk;
using heap_detail::Region;

uintptr_t addr(const Chunk* c) { return reinterpret_cast<uintptr_t>(c); }
Chunk* at(uintptr_t a) { return reinterpret_cast<Chunk*>(a); }
uintptr_t payload(const Chunk* c) { return addr(c) + kHeader; }
Chunk* next_of(const Chunk* c) { return at(addr(c) + c->size); }
Chunk* prev_of(const Chunk* c) { return at(addr(c) - c->prev_size); }
FreeLinks* links(const Chunk* c) { return reinterpret_cast<FreeLinks*>(payload(c)); }
bool is_used(const Chunk* c) { return c->tag == (kTagUsed ^ addr(c)); }
bool is_free(const Chunk* c) { return c->tag == (kTagFree ^ addr(c)); }
bool is_end(const Chunk* c) { return c->tag == (kTagEnd ^ addr(c)); }

// Chunk bytes for a request: header, payload, at least kMinRedzone of canary.
bool chunk_size_for(size_t request, size_t* out) {
  if (request > (~size_t{0} >> 2)) return false;
  size_t need = round_up(kHeader + request + Heap::kMinRedzone, Heap::kAlign);
  *out = need < kMinChunk ? kMinChunk : need;
  return true;
}

}  // namespace

const char* heap_fault_str(HeapFault f) {
  switch (f) {
    case HeapFault::out_of_memory: return "heap exhausted";
    case HeapFault::bad_pointer: return "pointer not allocated by the heap";
    case HeapFault::double_free: return "double free";
    case HeapFault::overrun: return "write past the end of an allocation";
    case HeapFault::corrupt_header: return "heap chunk header overwritten";
    case HeapFault::use_after_free: return "write to freed memory";
    case HeapFault::bad_alignment: return "alignment not a power of two";
  }
  return "unknown heap fault";
}

void Heap::problem(HeapFault f, const void* ptr, size_t size) {
  if (cfg_.report) cfg_.report(cfg_.ctx, HeapProblem{f, ptr, size});
}

void Heap::list_insert(Chunk* c) {
  FreeLinks* l = links(c);
  l->next = free_list_;
  l->prev = nullptr;
  if (free_list_) links(free_list_)->prev = c;
  free_list_ = c;
  free_bytes_ += c->size;
}

void Heap::list_remove(Chunk* c) {
  FreeLinks* l = links(c);
  if (l->prev)
    links(l->prev)->next = l->next;
  else
    free_list_ = l->next;
  if (l->next) links(l->next)->prev = l->prev;
  free_bytes_ -= c->size;
}

bool Heap::poison_intact(const Chunk* c) const {
  return bytes_are(payload(c) + sizeof(FreeLinks), addr(c) + c->size, kPoisonByte);
}

// Turns `c` (not on the free list; its payload may hold user data) into a
// free chunk, merged with free neighbours.
void Heap::release(Chunk* c) {
  fill(payload(c), addr(c) + c->size, kPoisonByte);
  c->tag = kTagFree ^ addr(c);
  c->request = 0;
  Chunk* n = next_of(c);
  if (is_free(n)) {
    list_remove(n);
    c->size += n->size;
    fill(addr(n), payload(n) + sizeof(FreeLinks), kPoisonByte);
  }
  if (c->prev_size != 0) {
    Chunk* p = prev_of(c);
    if (is_free(p)) {
      list_remove(p);
      p->size += c->size;
      fill(addr(c), payload(c), kPoisonByte);
      c = p;
    }
  }
  next_of(c)->prev_size = c->size;
  list_insert(c);
}

// Shrinks the in-use or detached chunk `c` to `keep` bytes and frees the
// rest, if the rest can hold a chunk.
void Heap::split(Chunk* c, size_t keep) {
  if (c->size - keep < kMinChunk) return;
  Chunk* t = at(addr(c) + keep);
  t->size = c->size - keep;
  t->prev_size = keep;
  c->size = keep;
  next_of(t)->prev_size = t->size;
  release(t);
}

void Heap::mark_used(Chunk* c, size_t request) {
  c->tag = kTagUsed ^ addr(c);
  c->request = request;
  fill(payload(c) + request, addr(c) + c->size, kCanaryByte);
}

// First free chunk that can hold `need` bytes with its payload aligned to
// `align`; `*out` receives that payload address.
Chunk* Heap::find_fit(size_t need, size_t align, uintptr_t* out) {
  for (Chunk* c = free_list_; c; c = links(c)->next) {
    if (!is_free(c)) {
      problem(HeapFault::corrupt_header, c, 0);
      return nullptr;
    }
    uintptr_t p = round_up(payload(c), align);
    // A gap in front of the payload must itself be a valid free chunk.
    while (p != payload(c) && p - kHeader - addr(c) < kMinChunk) p += align;
    if (p - kHeader + need <= addr(c) + c->size) {
      *out = p;
      return c;
    }
  }
  return nullptr;
}

Chunk* Heap::grow(size_t need, size_t align) {
  if (!cfg_.alloc_pages) return nullptr;
  const size_t overhead = sizeof(Region) + kHeader /* sentinel */ + kMinChunk;
  if (need > ~size_t{0} / 2 - overhead - align) return nullptr;
  size_t pages = round_up(need + align + overhead, kPageBytes) / kPageBytes;
  if (pages < cfg_.grow_pages) pages = cfg_.grow_pages;
  void* mem = cfg_.alloc_pages(cfg_.ctx, pages);
  if (!mem) return nullptr;
  const uintptr_t base = reinterpret_cast<uintptr_t>(mem);
  const size_t bytes = pages * kPageBytes;
  Region* r = reinterpret_cast<Region*>(base);
  r->next = regions_;
  r->size = bytes;
  regions_ = r;
  from_source_ += bytes;

  Chunk* first = at(base + sizeof(Region));
  Chunk* end = at(base + bytes - kHeader);
  first->size = addr(end) - addr(first);
  first->prev_size = 0;
  end->tag = kTagEnd ^ addr(end);
  end->size = 0;
  end->prev_size = first->size;
  end->request = 0;
  release(first);
  return first;
}

// Takes the free chunk `c` off the list and carves an in-use chunk of
// `need` bytes whose payload is at `p`; the parts before and after stay
// free.
Chunk* Heap::place(Chunk* c, uintptr_t p, size_t need) {
  // Only the bytes handed out are checked here: checking the whole free
  // chunk would make every allocation from a large free block cost as much
  // as the block. The parts left free are checked when they are handed out
  // and by check().
  const uintptr_t from_lo = payload(c) + sizeof(FreeLinks), from_hi = addr(c) + c->size;
  const uintptr_t lo = p - kHeader > from_lo ? p - kHeader : from_lo;
  const uintptr_t hi = p - kHeader + need < from_hi ? p - kHeader + need : from_hi;
  if (lo < hi && !bytes_are(lo, hi, kPoisonByte))
    problem(HeapFault::use_after_free, reinterpret_cast<void*>(payload(c)), c->size);
  list_remove(c);
  Chunk* n = at(p - kHeader);
  if (n != c) {
    n->size = c->size - (addr(n) - addr(c));
    n->prev_size = addr(n) - addr(c);
    c->size = n->prev_size;
    next_of(n)->prev_size = n->size;
    list_insert(c);
  }
  n->tag = kTagUsed ^ addr(n);
  split(n, need);
  return n;
}

void* Heap::aligned_alloc(size_t align, size_t size) {
  if (align == 0 || (align & (align - 1)) != 0) {
    problem(HeapFault::bad_alignment, nullptr, align);
    return nullptr;
  }
  if (align < kAlign) align = kAlign;
  size_t need;
  uintptr_t p = 0;
  Chunk* c = nullptr;
  if (chunk_size_for(size, &need) && align <= (~size_t{0} >> 2)) {
    c = find_fit(need, align, &p);
    if (!c && grow(need, align)) c = find_fit(need, align, &p);
  }
  if (!c) {
    if (cfg_.report_exhaustion) problem(HeapFault::out_of_memory, nullptr, size);
    return nullptr;
  }
  Chunk* n = place(c, p, need);
  mark_used(n, size);
  in_use_ += size;
  ++live_;
  return reinterpret_cast<void*>(payload(n));
}

void* Heap::malloc(size_t size) { return aligned_alloc(kAlign, size); }

void* Heap::calloc(size_t count, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    if (cfg_.report_exhaustion) problem(HeapFault::out_of_memory, nullptr, ~size_t{0});
    return nullptr;
  }
  void* p = malloc(bytes);
  if (p) __builtin_memset(p, 0, bytes);
  return p;
}

// The in-use chunk whose payload is `ptr`, after checking its header and
// canary; nullptr (after reporting) for anything else.
Chunk* Heap::checked_chunk(const void* ptr) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  const Region* r = regions_;
  while (r && !(p >= reinterpret_cast<uintptr_t>(r) + sizeof(Region) + kHeader &&
                p < reinterpret_cast<uintptr_t>(r) + r->size))
    r = r->next;
  if (!r || p % kAlign != 0) {
    problem(HeapFault::bad_pointer, ptr, 0);
    return nullptr;
  }
  Chunk* c = at(p - kHeader);
  if (is_used(c)) {
    const uintptr_t region_end = reinterpret_cast<uintptr_t>(r) + r->size - kHeader;
    if (c->size < kMinChunk || c->size % kAlign || c->size > region_end - addr(c) ||
        next_of(c)->prev_size != c->size || c->request > c->size - kHeader) {
      problem(HeapFault::corrupt_header, ptr, 0);
      return nullptr;
    }
    if (!bytes_are(p + c->request, addr(c) + c->size, kCanaryByte)) {
      problem(HeapFault::overrun, ptr, c->request);
      return nullptr;
    }
    return c;
  }
  if (is_free(c)) {
    problem(HeapFault::double_free, ptr, c->size);
    return nullptr;
  }
  // No valid header: find what lies at `p` by walking the region.
  for (Chunk* w = at(reinterpret_cast<uintptr_t>(r) + sizeof(Region)); !is_end(w); w = next_of(w)) {
    if (!(is_used(w) || is_free(w)) || w->size == 0) break;
    if (w == c) break;
    if (p < addr(w) + w->size) {
      problem(is_free(w) ? HeapFault::double_free : HeapFault::bad_pointer, ptr, w->size);
      return nullptr;
    }
  }
  problem(HeapFault::corrupt_header, ptr, 0);
  return nullptr;
}

void Heap::free(void* ptr) {
  if (!ptr) return;
  Chunk* c = checked_chunk(ptr);
  if (!c) return;
  in_use_ -= c->request;
  --live_;
  release(c);
}

size_t Heap::usable_size(const void* ptr) {
  const Chunk* c = checked_chunk(ptr);
  return c ? c->request : 0;
}

void* Heap::realloc(void* ptr, size_t size) {
  if (!ptr) return malloc(size);
  if (size == 0) {
    free(ptr);
    return nullptr;
  }
  Chunk* c = checked_chunk(ptr);
  if (!c) return nullptr;
  size_t need;
  if (chunk_size_for(size, &need)) {
    Chunk* n = next_of(c);
    if (need > c->size && is_free(n) && c->size + n->size >= need) {
      if (!poison_intact(n))
        problem(HeapFault::use_after_free, reinterpret_cast<void*>(payload(n)), n->size);
      list_remove(n);
      c->size += n->size;
      next_of(c)->prev_size = c->size;
    }
    if (need <= c->size) {
      in_use_ = in_use_ - c->request + size;
      split(c, need);
      mark_used(c, size);
      return ptr;
    }
  }
  void* q = malloc(size);
  if (!q) return nullptr;
  __builtin_memcpy(q, ptr, c->request < size ? c->request : size);
  free(ptr);
  return q;
}

size_t Heap::check() {
  size_t problems = 0;
  size_t free_chunks = 0;
  for (const Region* r = regions_; r; r = r->next) {
    const uintptr_t end = reinterpret_cast<uintptr_t>(r) + r->size - kHeader;
    uint64_t prev_size = 0;
    bool prev_free = false;
    Chunk* c = at(reinterpret_cast<uintptr_t>(r) + sizeof(Region));
    while (addr(c) != end) {
      const bool used = is_used(c), fr = is_free(c);
      if ((!used && !fr) || c->size < kMinChunk || c->size % kAlign ||
          c->size > end - addr(c) || c->prev_size != prev_size || (fr && prev_free)) {
        problem(HeapFault::corrupt_header, c, 0);
        ++problems;
        break;  // the rest of this region cannot be walked safely
      }
      if (used && (c->request > c->size - kHeader ||
                   !bytes_are(payload(c) + c->request, addr(c) + c->size, kCanaryByte))) {
        problem(HeapFault::overrun, reinterpret_cast<void*>(payload(c)), c->request);
        ++problems;
      }
      if (fr) {
        ++free_chunks;
        if (!poison_intact(c)) {
          problem(HeapFault::use_after_free, reinterpret_cast<void*>(payload(c)), c->size);
          ++problems;
        }
      }
      prev_size = c->size;
      prev_free = fr;
      c = next_of(c);
    }
    if (addr(c) == end && (!is_end(c) || c->prev_size != prev_size)) {
      problem(HeapFault::corrupt_header, c, 0);
      ++problems;
    }
  }
  size_t listed = 0;
  for (Chunk* c = free_list_; c; c = links(c)->next) {
    if (!is_free(c) || ++listed > free_chunks) {
      problem(HeapFault::corrupt_header, c, 0);
      return problems + 1;
    }
  }
  if (listed != free_chunks) {
    problem(HeapFault::corrupt_header, free_list_, 0);
    ++problems;
  }
  return problems;
}

HeapStats Heap::stats() const {
  return HeapStats{in_use_, live_, free_bytes_, from_source_};
}

}  // namespace mem
