// memory: the guest's page allocator and heap (lib/mem/memory.h) under load.
//
// Pages: the counters match the memory map, blocks honour their alignment
// and zone limits, random allocations keep distinct contents until freed,
// refused frees are values that change nothing, exhaustion is a value, and
// with RAM above 4 GiB (-m 6G) that memory is handed out and holds
// distinct data at probes spread over all of it. Heap: random
// malloc/realloc/free traffic keeps every block's contents, alignment
// holds, calloc zeroes, the counters return to where they started, and a
// consistency walk finds nothing.
// Heap corruption detection is the host tests' job (tests/host/heap_test.cc):
// here it would end the guest.
#include <cstdint>
#include <new>

#include "boot/bootinfo.h"
#include "mem/memory.h"
#include "rt/report.h"
#include "rt/string.h"

namespace {

using mem::AllocError;
using mem::kBelow1M;
using mem::kBelow4G;

constexpr uint64_t k64K = 64 << 10;
constexpr uint64_t k4G = 4ull << 30;

// xorshift64: the same sequence on every run, so a failure reproduces.
struct Rng {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

uint64_t tag(uint64_t addr, uint64_t salt) { return addr * 0x2545f4914f6cdd1dull ^ salt; }

volatile uint64_t* at(uint64_t pa) { return reinterpret_cast<volatile uint64_t*>(pa); }

void page_counters() {
  ReportPrefix p("pages");
  const BootInfo& bi = boot_info();
  const uint64_t total = mem::pages_total(), nfree = mem::pages_free();
  // Partial pages at range edges are dropped: at most one per range end.
  const uint64_t usable = bi.mem_stats.usable_bytes / kPageSize;
  report(total <= usable && total + 2 * bi.mem_stats.count >= usable,
         "pages_total %lu matches the map's usable %lu pages", total, usable);
  report(nfree > 0 && nfree <= total, "pages_free %lu within pages_total", nfree);

  mem::PageResult r = mem::alloc_pages(3);
  report(r.ok() && mem::pages_free() == nfree - 3, "alloc of 3 pages takes 3 from the free count");
  if (!r.ok()) return;
  report(mem::free_pages(r.pa, 3) == AllocError::none && mem::pages_free() == nfree,
         "freeing them gives them back");
  report(mem::free_pages(r.pa, 3) == AllocError::double_free && mem::pages_free() == nfree,
         "a second free is refused as double_free and changes nothing");
  report(mem::free_pages(PhysAddr(0xfee00000), 1) == AllocError::not_ram &&
             mem::pages_free() == nfree,
         "freeing the local APIC page is refused as not_ram");
  mem::PageResult bad = mem::alloc_pages(0);
  report(bad.error == AllocError::bad_request, "alloc of 0 pages is a bad_request");
  bad = mem::alloc_pages(1, 3 * kPageSize);
  report(bad.error == AllocError::bad_request, "an alignment that is not a power of two is refused");
  bad = mem::alloc_pages(total + 1);
  report(bad.error == AllocError::out_of_memory && mem::pages_free() == nfree,
         "more pages than exist: out_of_memory, nothing taken");
}

void page_alignment_and_zones() {
  ReportPrefix p("pages");
  static const uint64_t kAligns[] = {k64K, kLargePageSize};
  for (uint64_t align : kAligns) {
    mem::PageResult r = mem::alloc_pages(5, align);
    report(r.ok() && r.pa.value % align == 0, "5 pages aligned to 0x%lx: 0x%lx", align,
           r.pa.value);
    if (r.ok() && mem::free_pages(r.pa, 5) != AllocError::none) report_fail("free after alignment");
  }
  mem::PageResult low = mem::alloc_pages(2, kPageSize, kBelow4G);
  report(low.ok() && low.pa.value + 2 * kPageSize <= kBelow4G, "below 4 GiB: 0x%lx", low.pa.value);
  if (low.ok() && mem::free_pages(low.pa, 2) != AllocError::none) report_fail("free below 4 GiB");
  if (mem::pages_free_below(kBelow1M) == 0) {
    report_skip("below 1 MiB: no free page there in this memory map");
  } else {
    mem::PageResult dma = mem::alloc_pages(1, kPageSize, kBelow1M);
    report(dma.ok() && dma.pa.value + kPageSize <= kBelow1M && dma.pa.value != 0,
           "below 1 MiB: 0x%lx", dma.pa.value);
    if (dma.ok() && mem::free_pages(dma.pa, 1) != AllocError::none) report_fail("free below 1 MiB");
  }
}

struct Block {
  uint64_t pa, pages;
};

// Random blocks, each page tagged with its address; blocks are verified
// when freed, so an allocator that handed out a page twice is caught.
void page_stress() {
  ReportPrefix p("pages: stress");
  constexpr unsigned kSlots = 64, kOps = 3000;
  static Block live[kSlots];
  Rng rng;
  const uint64_t free0 = mem::pages_free();
  unsigned allocs = 0, bad = 0, oom = 0, misaligned = 0;
  for (unsigned op = 0; op < kOps; ++op) {
    Block& b = live[rng.below(kSlots)];
    if (b.pages) {
      for (uint64_t i = 0; i < b.pages; ++i)
        if (*at(b.pa + i * kPageSize) != tag(b.pa + i * kPageSize, b.pages)) ++bad;
      if (mem::free_pages(PhysAddr(b.pa), b.pages) != AllocError::none) ++bad;
      b.pages = 0;
      continue;
    }
    const uint64_t n = 1 + rng.below(rng.below(4) == 0 ? 256 : 16);
    const uint64_t align = kPageSize << rng.below(5);
    mem::PageResult r = mem::alloc_pages(n, align);
    if (!r.ok()) {
      ++oom;
      continue;
    }
    ++allocs;
    if (r.pa.value % align) ++misaligned;
    b = Block{r.pa.value, n};
    for (uint64_t i = 0; i < n; ++i) *at(b.pa + i * kPageSize) = tag(b.pa + i * kPageSize, n);
  }
  for (Block& b : live) {
    if (!b.pages) continue;
    for (uint64_t i = 0; i < b.pages; ++i)
      if (*at(b.pa + i * kPageSize) != tag(b.pa + i * kPageSize, b.pages)) ++bad;
    if (mem::free_pages(PhysAddr(b.pa), b.pages) != AllocError::none) ++bad;
    b.pages = 0;
  }
  report(allocs > kOps / 4, "%u of %u operations were allocations (%u refused)", allocs, kOps, oom);
  report(bad == 0, "every page kept its tag until freed, every free accepted (%u bad)", bad);
  report(misaligned == 0, "every block honoured its alignment");
  report(mem::pages_free() == free0, "the free count is back to %lu", free0);
}

// Where above_4g() probes a block: every 64 KiB of its first and last
// 32 MiB, every 16 MiB in between. Every probe makes the host back that
// memory (a 2 MiB huge page at a time, often), so probing all of 4 GiB
// densely would cost seconds of host time under TCG for little more.
constexpr uint64_t kDenseEdge = 32ull << 20;
constexpr uint64_t kSparseStride = 16ull << 20;
uint64_t next_probe(uint64_t off, uint64_t size) {
  if (off + k64K < kDenseEdge || size <= 2 * kDenseEdge || off >= size - kDenseEdge)
    return off + k64K;
  return off + kSparseStride < size - kDenseEdge ? off + kSparseStride : size - kDenseEdge;
}

// Everything above 4 GiB, in blocks as large as the allocator gives; one
// qword written at each probe, then all read back, so two blocks that
// alias the same RAM would show.
void above_4g() {
  ReportPrefix p("above 4 GiB");
  const uint64_t high = mem::pages_free() - mem::pages_free_below(kBelow4G);
  if (boot_info().mem_stats.top_of_ram <= k4G || high == 0) {
    report_skip("no free RAM above 4 GiB in this memory map (run with -m 6G)");
    return;
  }
  constexpr unsigned kMaxBlocks = 512;
  static Block blocks[kMaxBlocks];
  unsigned n = 0;
  uint64_t got_high = 0, lowest = ~0ull;
  for (uint64_t chunk = 1ull << 18; chunk >= k64K / kPageSize && n < kMaxBlocks;) {
    mem::PageResult r = mem::alloc_pages(chunk, k64K);
    if (!r.ok() || r.pa.value < k4G) {
      if (r.ok() && mem::free_pages(r.pa, chunk) != AllocError::none) report_fail("free low block");
      chunk >>= 1;
      continue;
    }
    blocks[n++] = Block{r.pa.value, chunk};
    got_high += chunk;
    if (r.pa.value < lowest) lowest = r.pa.value;
  }
  report(n > 0 && got_high > 0, "%lu MiB obtained above 4 GiB in %u blocks (lowest 0x%lx)",
         got_high * kPageSize >> 20, n, lowest);
  report(got_high + k64K / kPageSize * kMaxBlocks >= high || n == kMaxBlocks,
         "that is (nearly) all of the %lu MiB free there", high * kPageSize >> 20);
  for (unsigned i = 0; i < n; ++i) {
    const uint64_t size = blocks[i].pages * kPageSize;
    for (uint64_t off = 0; off < size; off = next_probe(off, size))
      *at(blocks[i].pa + off) = tag(blocks[i].pa + off, 0x4647);
  }
  uint64_t bad = 0, touched = 0, highest = 0;
  for (unsigned i = 0; i < n; ++i) {
    const uint64_t size = blocks[i].pages * kPageSize;
    for (uint64_t off = 0; off < size; off = next_probe(off, size), ++touched) {
      if (*at(blocks[i].pa + off) != tag(blocks[i].pa + off, 0x4647)) ++bad;
      if (blocks[i].pa + off > highest) highest = blocks[i].pa + off;
    }
  }
  report(touched > 0 && bad == 0,
         "%lu probes above 4 GiB, up to 0x%lx, hold their own data (%lu bad)", touched, highest,
         bad);
  unsigned refused = 0;
  for (unsigned i = 0; i < n; ++i)
    if (mem::free_pages(PhysAddr(blocks[i].pa), blocks[i].pages) != AllocError::none) ++refused;
  report(refused == 0 && mem::pages_free() - mem::pages_free_below(kBelow4G) == high,
         "all of it freed again");
}

// Drains the allocator completely in power-of-two blocks: exhaustion must
// be a value, and everything must come back.
void exhaustion() {
  ReportPrefix p("pages: exhaustion");
  constexpr unsigned kMaxBlocks = 2048;
  static Block blocks[kMaxBlocks];
  const uint64_t free0 = mem::pages_free();
  unsigned n = 0;
  for (uint64_t chunk = 1ull << 18; chunk >= 1 && n < kMaxBlocks;) {
    mem::PageResult r = mem::alloc_pages(chunk);
    if (!r.ok()) {
      chunk >>= 1;
      continue;
    }
    blocks[n++] = Block{r.pa.value, chunk};
  }
  const uint64_t left = mem::pages_free();
  mem::PageResult one = mem::alloc_pages(1);
  report(n < kMaxBlocks && left == 0 && one.error == AllocError::out_of_memory,
         "drained in %u blocks; one more page is out_of_memory", n);
  if (one.ok() && mem::free_pages(one.pa, 1) != AllocError::none) report_fail("free extra page");
  unsigned refused = 0;
  for (unsigned i = 0; i < n; ++i)
    if (mem::free_pages(PhysAddr(blocks[i].pa), blocks[i].pages) != AllocError::none) ++refused;
  report(refused == 0 && mem::pages_free() == free0, "all %lu pages come back", free0);
}

struct Alloc {
  uint8_t* p;
  size_t size;
  uint8_t seed;
};

bool holds(const Alloc& a) {
  for (size_t i = 0; i < a.size; ++i)
    if (a.p[i] != static_cast<uint8_t>(a.seed + i * 7)) return false;
  return true;
}
void fill(const Alloc& a) {
  for (size_t i = 0; i < a.size; ++i) a.p[i] = static_cast<uint8_t>(a.seed + i * 7);
}

size_t random_size(Rng& rng) {
  switch (rng.below(8)) {
    case 0: return rng.below(16);
    case 1: return 4096 + rng.below(60000);
    default: return 1 + rng.below(512);
  }
}

void heap_stress() {
  ReportPrefix p("heap: stress");
  constexpr unsigned kSlots = 256, kOps = 6000;
  static Alloc live[kSlots];
  Rng rng;
  rng.s ^= 0x5eed;
  const mem::HeapStats s0 = mem::heap_stats();
  unsigned bad = 0, nulls = 0, misaligned = 0, reallocs = 0;
  for (unsigned op = 0; op < kOps; ++op) {
    Alloc& a = live[rng.below(kSlots)];
    const uint64_t what = rng.below(4);
    if (a.p && what == 0) {
      // realloc keeps the common prefix; refill to the new size.
      const size_t n = random_size(rng);
      Alloc old = a;
      old.size = n < a.size ? n : a.size;
      auto* q = static_cast<uint8_t*>(realloc(a.p, n ? n : 1));
      if (!q) {
        ++nulls;
        continue;
      }
      ++reallocs;
      a = Alloc{q, n ? n : 1, a.seed};
      old.p = q;
      if (!holds(old)) ++bad;
      fill(a);
    } else if (a.p) {
      if (!holds(a)) ++bad;
      free(a.p);
      a.p = nullptr;
    } else {
      const size_t n = random_size(rng);
      a = Alloc{static_cast<uint8_t*>(malloc(n)), n, static_cast<uint8_t>(rng.next())};
      if (!a.p) {
        ++nulls;
        continue;
      }
      if (reinterpret_cast<uintptr_t>(a.p) % mem::Heap::kAlign) ++misaligned;
      fill(a);
    }
  }
  const mem::HeapStats mid = mem::heap_stats();
  size_t live_bytes = 0, live_count = 0;
  for (const Alloc& a : live)
    if (a.p) live_bytes += a.size, ++live_count;
  report(mid.live_allocations == s0.live_allocations + live_count &&
             mid.bytes_in_use == s0.bytes_in_use + live_bytes,
         "the counters track %zu live blocks of %zu bytes", live_count, live_bytes);
  report(mem::heap_check() == 0, "a consistency walk with blocks live finds nothing");
  for (Alloc& a : live) {
    if (!a.p) continue;
    if (!holds(a)) ++bad;
    free(a.p);
    a.p = nullptr;
  }
  const mem::HeapStats s1 = mem::heap_stats();
  report(nulls == 0 && reallocs > 0, "%u operations, %u reallocs, no allocation failed", kOps,
         reallocs);
  report(bad == 0, "every block kept its contents (%u bad)", bad);
  report(misaligned == 0, "every pointer is %zu-byte aligned", mem::Heap::kAlign);
  report(s1.live_allocations == s0.live_allocations && s1.bytes_in_use == s0.bytes_in_use,
         "after freeing all, counters are back (%zu live, %zu bytes)", s1.live_allocations,
         s1.bytes_in_use);
  report(mem::heap_check() == 0, "a consistency walk finds nothing");
}

struct alignas(256) Wide {
  uint8_t bytes[300];
};

void heap_api() {
  ReportPrefix p("heap");
  const mem::HeapStats s0 = mem::heap_stats();
  void* a = malloc(100);
  const mem::HeapStats s1 = mem::heap_stats();
  report(a && s1.bytes_in_use == s0.bytes_in_use + 100 &&
             s1.live_allocations == s0.live_allocations + 1,
         "malloc(100) counts 100 bytes and one allocation");
  free(a);
  const mem::HeapStats s2 = mem::heap_stats();
  report(s2.bytes_in_use == s0.bytes_in_use && s2.live_allocations == s0.live_allocations,
         "free takes them off again");

  void* z1 = malloc(0);
  void* z2 = malloc(0);
  report(z1 && z2 && z1 != z2, "malloc(0) gives distinct pointers");
  free(z1);
  free(z2);

  static const size_t kAligns[] = {64, 4096, 65536};
  for (size_t align : kAligns) {
    void* q = aligned_alloc(align, 24);
    report(q && reinterpret_cast<uintptr_t>(q) % align == 0, "aligned_alloc(%zu): %p", align, q);
    free(q);
  }

  auto* c = static_cast<uint8_t*>(malloc(2000));
  if (c) memset(c, 0xab, 2000);
  free(c);
  auto* z = static_cast<uint8_t*>(calloc(250, 8));
  bool zero = z != nullptr;
  for (size_t i = 0; zero && i < 2000; ++i) zero = z[i] == 0;
  report(zero, "calloc zeroes, also where a dirty block was just freed");
  free(z);
  report(calloc(~size_t{0} / 4, 8) == nullptr, "calloc with an overflowing product fails");

  auto* r = static_cast<uint8_t*>(malloc(40));
  for (unsigned i = 0; r && i < 40; ++i) r[i] = static_cast<uint8_t>(i);
  r = static_cast<uint8_t*>(realloc(r, 100000));
  bool kept = r != nullptr;
  for (unsigned i = 0; kept && i < 40; ++i) kept = r[i] == i;
  report(kept, "realloc to 100000 bytes keeps the first 40");
  const size_t live = mem::heap_stats().live_allocations;
  report(realloc(r, 0) == nullptr && mem::heap_stats().live_allocations == live - 1,
         "realloc(p, 0) frees p");
  void* fresh = realloc(nullptr, 32);
  report(fresh && mem::heap_stats().live_allocations == live, "realloc(nullptr, n) allocates");
  free(fresh);

  const mem::HeapStats before = mem::heap_stats();
  void* huge = malloc(size_t{1} << 60);
  const mem::HeapStats after = mem::heap_stats();
  report(huge == nullptr && after.live_allocations == before.live_allocations &&
             after.bytes_in_use == before.bytes_in_use,
         "an impossible malloc returns nullptr and changes no counter");

  const size_t n0 = mem::heap_stats().live_allocations;
  int* arr = new int[1000];
  for (int i = 0; i < 1000; ++i) arr[i] = i;
  report(mem::heap_stats().live_allocations == n0 + 1 && arr[999] == 999,
         "new int[1000] comes from the heap");
  delete[] arr;
  Wide* w = new Wide;
  report(reinterpret_cast<uintptr_t>(w) % alignof(Wide) == 0, "new of an alignas(256) type: %p",
         static_cast<void*>(w));
  delete w;
  report(mem::heap_stats().live_allocations == n0, "delete gives both back");
}

// Last: the freed 8 MiB stays in the heap as one free chunk, and the heap
// verifies a free chunk's poison whenever it carves from it.
void heap_growth() {
  ReportPrefix p("heap");
  const uint64_t pages0 = mem::pages_free();
  const size_t src0 = mem::heap_stats().bytes_from_source;
  void* big = malloc(8 << 20);
  const size_t src1 = mem::heap_stats().bytes_from_source;
  report(big && src1 >= src0 + (8 << 20) && mem::pages_free() <= pages0 - (8 << 20) / kPageSize,
         "an 8 MiB block grows the heap from the page allocator (%zu -> %zu bytes)", src0, src1);
  free(big);
}

}  // namespace

int main() {
  page_counters();
  page_alignment_and_zones();
  page_stress();
  above_4g();
  exhaustion();
  heap_stress();
  heap_api();
  heap_growth();
  return report_summary();
}
