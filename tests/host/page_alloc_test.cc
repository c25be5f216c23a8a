// Host tests of the physical page allocator.
#include "mem/page_alloc.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

using boot::MemKind;
using boot::MemRange;
using mem::AllocError;
using mem::PageAllocator;
using mem::PageAllocatorWithStorage;

namespace {

constexpr uint64_t KiB = 1024, MiB = KiB * KiB, GiB = MiB * KiB;

// A typical q35 + OVMF map after normalisation, RAM above 4 GiB included.
const MemRange kMap[] = {
    {PhysAddr(0x0), 0xa0000, MemKind::usable},
    {PhysAddr(0xa0000), 0x60000, MemKind::reserved},
    {PhysAddr(0x100000), 0x700000, MemKind::usable},
    {PhysAddr(0x800000), 0x8000, MemKind::acpi_nvs},
    {PhysAddr(0x808000), 0x3e000000 - 0x808000, MemKind::usable},
    {PhysAddr(0x3e000000), 0x200000, MemKind::loader},
    {PhysAddr(0x3e200000), 0x1800000, MemKind::usable},
    {PhysAddr(0x3fa00000), 0x600000, MemKind::acpi_reclaim},
    {PhysAddr(0xb0000000), 0x10000000, MemKind::mmio},
    {PhysAddr(4 * GiB), 2 * GiB, MemKind::usable},
};

uint64_t expected_usable_pages() {
  uint64_t pages = 0;
  for (const MemRange& r : kMap)
    if (r.kind == MemKind::usable) pages += r.size / kPageSize;
  return pages - 1;  // page 0 is never handed out
}

TEST(PageAlloc, BuiltFromUsableRangesIncludingHighMemory) {
  PageAllocatorWithStorage<64> pa;
  ASSERT_EQ(pa.add_usable(kMap, std::size(kMap)), AllocError::none);
  EXPECT_EQ(pa.pages_total(), expected_usable_pages());
  EXPECT_EQ(pa.pages_free(), pa.pages_total());
  EXPECT_EQ(pa.extents(), 5u);
  EXPECT_EQ(pa.extent(0).base, kPageSize);
  EXPECT_EQ(pa.extent(4).end, 6 * GiB);
  EXPECT_EQ(pa.pages_free_below(mem::kBelow1M), 0x9fu);
  EXPECT_EQ(pa.pages_free_below(mem::kBelow4G), pa.pages_total() - 2 * GiB / kPageSize);
  EXPECT_FALSE(pa.is_free(PhysAddr(0), 1));
  EXPECT_FALSE(pa.is_free(PhysAddr(0x3e000000), 1));
  EXPECT_TRUE(pa.is_free(PhysAddr(5 * GiB), 1024));
}

TEST(PageAlloc, PartialPagesAtEdgesDropped) {
  PageAllocatorWithStorage<8> pa;
  ASSERT_EQ(pa.add_free(PhysAddr(0x1800), 0x3000), AllocError::none);
  EXPECT_EQ(pa.pages_total(), 2u);
  EXPECT_TRUE(pa.is_free(PhysAddr(0x2000), 2));
  EXPECT_FALSE(pa.is_free(PhysAddr(0x1000), 1));
  EXPECT_FALSE(pa.is_free(PhysAddr(0x4000), 1));
  ASSERT_EQ(pa.add_free(PhysAddr(0x10800), 0x1000), AllocError::none);
  EXPECT_EQ(pa.pages_total(), 2u);
}

TEST(PageAlloc, TopDownAndZones) {
  PageAllocatorWithStorage<64> pa;
  ASSERT_EQ(pa.add_usable(kMap, std::size(kMap)), AllocError::none);
  mem::PageResult r = pa.alloc_pages(1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pa.value, 6 * GiB - kPageSize);

  r = pa.alloc_pages(4, kPageSize, mem::kBelow4G);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pa.value, 0x3fa00000 - 4 * kPageSize);

  // The AP trampoline: one page below 1 MiB.
  r = pa.alloc_pages(1, kPageSize, mem::kBelow1M);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pa.value, 0x9f000u);
  EXPECT_EQ(pa.pages_free(), pa.pages_total() - 6);
}

TEST(PageAlloc, Alignment) {
  PageAllocatorWithStorage<64> pa;
  ASSERT_EQ(pa.add_free(PhysAddr(0x1000), 0x1000000 - 0x3000), AllocError::none);
  for (uint64_t align : {kPageSize, 64 * KiB, 2 * MiB}) {
    mem::PageResult r = pa.alloc_pages(3, align);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.pa.value % align, 0u);
    EXPECT_FALSE(pa.is_free(r.pa, 3));
    EXPECT_TRUE(pa.is_free(r.pa + 3 * kPageSize, 1) || r.pa.value + 3 * kPageSize == 0xffe000);
  }
  EXPECT_EQ(pa.alloc_pages(1, 3 * kPageSize).error, AllocError::bad_request);
  EXPECT_EQ(pa.alloc_pages(1, 512).error, AllocError::bad_request);
  EXPECT_EQ(pa.alloc_pages(0).error, AllocError::bad_request);
  EXPECT_EQ(pa.alloc_pages(1, 1ull << 40).error, AllocError::out_of_memory);
}

TEST(PageAlloc, ExhaustionAndFreeMerges) {
  PageAllocatorWithStorage<8> pa;
  ASSERT_EQ(pa.add_free(PhysAddr(MiB), 16 * kPageSize), AllocError::none);
  std::vector<PhysAddr> pages;
  for (int i = 0; i < 16; ++i) {
    mem::PageResult r = pa.alloc_pages(1);
    ASSERT_TRUE(r.ok());
    pages.push_back(r.pa);
  }
  mem::PageResult r = pa.alloc_pages(1);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, AllocError::out_of_memory);
  EXPECT_STREQ(mem::alloc_error_str(r.error), "out of physical memory");
  EXPECT_EQ(pa.pages_free(), 0u);
  EXPECT_EQ(pa.extents(), 0u);
  // Free every other page, then the rest: the list ends as one extent.
  for (size_t i = 0; i < pages.size(); i += 2) ASSERT_EQ(pa.free_pages(pages[i], 1), AllocError::none);
  EXPECT_EQ(pa.extents(), 8u);
  for (size_t i = 1; i < pages.size(); i += 2) ASSERT_EQ(pa.free_pages(pages[i], 1), AllocError::none);
  EXPECT_EQ(pa.extents(), 1u);
  EXPECT_EQ(pa.pages_free(), 16u);
  r = pa.alloc_pages(16);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pa.value, MiB);
}

TEST(PageAlloc, DoubleFreeAndBadFreeRefused) {
  PageAllocatorWithStorage<8> pa;
  ASSERT_EQ(pa.add_free(PhysAddr(MiB), 16 * kPageSize), AllocError::none);
  mem::PageResult r = pa.alloc_pages(4);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(pa.free_pages(r.pa, 2), AllocError::none);
  const uint64_t free_before = pa.pages_free();
  EXPECT_EQ(pa.free_pages(r.pa, 1), AllocError::double_free);
  EXPECT_EQ(pa.free_pages(r.pa, 4), AllocError::double_free);  // overlaps the freed half
  EXPECT_EQ(pa.free_pages(r.pa + 2 * kPageSize, 3), AllocError::not_ram);  // past the end
  EXPECT_EQ(pa.free_pages(PhysAddr(MiB - kPageSize), 1), AllocError::not_ram);
  EXPECT_EQ(pa.pages_free(), free_before);
  EXPECT_EQ(pa.free_pages(r.pa + 0x10, 1), AllocError::bad_request);
  EXPECT_EQ(pa.free_pages(PhysAddr(0), 1), AllocError::bad_request);
  EXPECT_EQ(pa.free_pages(r.pa, 0), AllocError::bad_request);
  EXPECT_EQ(pa.free_pages(PhysAddr(~0ull & ~(kPageSize - 1)), 2), AllocError::bad_request);
  EXPECT_EQ(pa.free_pages(r.pa + 2 * kPageSize, 2), AllocError::none);
  EXPECT_EQ(pa.pages_free(), 16u);
}

TEST(PageAlloc, ReserveCarvesRanges) {
  PageAllocatorWithStorage<64> pa;
  ASSERT_EQ(pa.add_usable(kMap, std::size(kMap)), AllocError::none);
  const uint64_t total = pa.pages_free();
  // Unaligned range: widened to whole pages.
  ASSERT_EQ(pa.reserve(PhysAddr(0x8800), 0x1000), AllocError::none);
  EXPECT_EQ(pa.pages_free(), total - 2);
  EXPECT_FALSE(pa.is_free(PhysAddr(0x8000), 1));
  EXPECT_FALSE(pa.is_free(PhysAddr(0x9000), 1));
  EXPECT_TRUE(pa.is_free(PhysAddr(0x7000), 1));
  EXPECT_TRUE(pa.is_free(PhysAddr(0xa000), 1));
  // Spanning holes and several extents; the non-free parts are ignored.
  ASSERT_EQ(pa.reserve(PhysAddr(0x90000), 0x200000), AllocError::none);
  EXPECT_EQ(pa.pages_free(), total - 2 - 0x10 - 0x190);
  EXPECT_TRUE(pa.is_free(PhysAddr(0x290000), 1));
  // Reserving again is harmless.
  ASSERT_EQ(pa.reserve(PhysAddr(0x90000), 0x200000), AllocError::none);
  EXPECT_EQ(pa.pages_free(), total - 2 - 0x10 - 0x190);
  // Everything above 4 GiB.
  ASSERT_EQ(pa.reserve(PhysAddr(4 * GiB), ~0ull - 4 * GiB), AllocError::none);
  EXPECT_EQ(pa.pages_free(), pa.pages_free_below(mem::kBelow4G));
  EXPECT_LT(pa.alloc_pages(1).pa.value, mem::kBelow4G);
}

TEST(PageAlloc, SlotExhaustionIsReportedAndHarmless) {
  PageAllocatorWithStorage<2> pa;
  ASSERT_EQ(pa.add_free(PhysAddr(MiB), 64 * kPageSize), AllocError::none);
  ASSERT_EQ(pa.add_free(PhysAddr(4 * MiB), 64 * kPageSize), AllocError::none);
  EXPECT_EQ(pa.add_free(PhysAddr(8 * MiB), kPageSize), AllocError::no_slots);
  EXPECT_EQ(pa.pages_total(), 128u);
  // Reserving from the middle needs a slot: refused, nothing changes.
  EXPECT_EQ(pa.reserve(PhysAddr(MiB + 8 * kPageSize), kPageSize), AllocError::no_slots);
  EXPECT_EQ(pa.pages_free(), 128u);
  // An aligned allocation that would split the top extent falls back to the
  // bottom of an extent whose base is suitably aligned.
  mem::PageResult r = pa.alloc_pages(1, 64 * KiB, 4 * MiB + 32 * kPageSize);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pa.value, 4 * MiB);
  r = pa.alloc_pages(1, 64 * KiB, MiB + 33 * kPageSize);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.pa.value, MiB);
  r = pa.alloc_pages(1, 64 * KiB, 4 * MiB + 32 * kPageSize);
  EXPECT_EQ(r.error, AllocError::no_slots);
  EXPECT_EQ(pa.pages_free(), 126u);
}

TEST(PageAlloc, RandomOperationsMatchModel) {
  PageAllocatorWithStorage<4096> pa;
  const uint64_t base = 16 * MiB;
  constexpr uint64_t kPages = 4096;
  ASSERT_EQ(pa.add_free(PhysAddr(base), kPages * kPageSize), AllocError::none);
  std::vector<bool> used(kPages, false);
  std::map<uint64_t, uint64_t> live;  // pa -> count
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 20000; ++iter) {
    if (live.empty() || rng() % 3 != 0) {
      const uint64_t count = 1 + rng() % 16;
      const uint64_t align = kPageSize << (rng() % 4);
      const uint64_t below = rng() % 2 ? mem::kNoLimit : base + (rng() % kPages) * kPageSize;
      mem::PageResult r = pa.alloc_pages(count, align, below);
      if (!r.ok()) {
        ASSERT_EQ(r.error, AllocError::out_of_memory);
        continue;
      }
      ASSERT_EQ(r.pa.value % align, 0u);
      ASSERT_LE(r.pa.value + count * kPageSize, below);
      const uint64_t first = (r.pa.value - base) / kPageSize;
      ASSERT_LE(first + count, kPages);
      for (uint64_t i = first; i < first + count; ++i) {
        ASSERT_FALSE(used[i]) << "page handed out twice";
        used[i] = true;
      }
      live[r.pa.value] = count;
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      ASSERT_EQ(pa.free_pages(PhysAddr(it->first), it->second), AllocError::none);
      const uint64_t first = (it->first - base) / kPageSize;
      for (uint64_t i = first; i < first + it->second; ++i) used[i] = false;
      live.erase(it);
    }
    uint64_t free_model = 0;
    for (bool u : used) free_model += !u;
    ASSERT_EQ(pa.pages_free(), free_model);
  }
  // Extents are sorted, disjoint and never adjacent (adjacent ones merge).
  for (size_t i = 1; i < pa.extents(); ++i) ASSERT_LT(pa.extent(i - 1).end, pa.extent(i).base);
}

}  // namespace
