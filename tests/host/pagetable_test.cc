// Host tests of the page-table builder over a simulated physical memory.
#include "cpu/pagetable.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using paging::Attr;
using paging::MapStatus;
using paging::PageMemory;
using paging::PageTable;
using paging::Translation;
namespace pte = paging::pte;

namespace {

constexpr uint64_t KiB = 1024, MiB = KiB * KiB, GiB = MiB * KiB;

// Table pages live at kBase + i * 4 KiB; the builder only ever sees them
// through PageMemory, as it would in the guest.
class SimMemory {
 public:
  static constexpr uint64_t kBase = 0x7000'0000;

  explicit SimMemory(size_t max_pages) : max_pages_(max_pages) {}

  PageMemory memory(uint64_t max_page = kHugePageSize) {
    PageMemory m;
    m.ctx = this;
    m.alloc_table = [](void* ctx) { return static_cast<SimMemory*>(ctx)->alloc(); };
    m.table = [](void* ctx, PhysAddr pa) { return static_cast<SimMemory*>(ctx)->at(pa); };
    m.max_page = max_page;
    return m;
  }

  PhysAddr alloc() {
    if (pages_.size() >= max_pages_) return PhysAddr(~0ull);
    pages_.push_back(std::make_unique<Page>());
    pages_.back()->fill(0);
    return PhysAddr(kBase + (pages_.size() - 1) * kPageSize);
  }

  uint64_t* at(PhysAddr pa) {
    const uint64_t off = pa.value - kBase;
    if (pa.value < kBase || off % kPageSize || off / kPageSize >= pages_.size()) {
      std::fprintf(stderr, "table access outside the simulated memory: %#llx\n",
                   static_cast<unsigned long long>(pa.value));
      std::abort();
    }
    return pages_[off / kPageSize]->data();
  }

  size_t used() const { return pages_.size(); }
  void set_limit(size_t n) { max_pages_ = n; }

 private:
  size_t max_pages_;
  using Page = std::array<uint64_t, 512>;
  // Separate allocations: pointers handed out stay valid as the memory grows.
  std::vector<std::unique_ptr<Page>> pages_;
};

PageTable make_table(SimMemory& sim, int levels = 4, PageMemory mem = {}) {
  if (!mem.table) mem = sim.memory();
  PageTable pt(mem, PhysAddr(), levels);
  EXPECT_TRUE(PageTable::create(mem, levels, &pt));
  return pt;
}

Translation must_lookup(const PageTable& pt, uint64_t va) {
  Translation t{};
  EXPECT_TRUE(pt.lookup(VirtAddr(va), &t)) << std::hex << va;
  return t;
}

TEST(PageTable, IdentityMapWith1GPages) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(0), 8 * GiB, Attr::data()), MapStatus::ok);
  // PML4 + one PDPT, eight 1 GiB leaves.
  EXPECT_EQ(pt.tables_allocated(), 2u);
  EXPECT_EQ(sim.used(), 2u);
  for (uint64_t va : {uint64_t{0}, uint64_t{0x1234}, 3 * GiB + 0x5678, 8 * GiB - 1}) {
    Translation t = must_lookup(pt, va);
    EXPECT_EQ(t.pa.value, va);
    EXPECT_EQ(t.page_size, kHugePageSize);
    EXPECT_EQ(t.attr, Attr::data());
  }
  Translation t;
  EXPECT_FALSE(pt.lookup(VirtAddr(8 * GiB), &t));
}

TEST(PageTable, IdentityMapWith2MPages) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(0), 6 * GiB, Attr::data(), kLargePageSize),
            MapStatus::ok);
  // PML4 + PDPT + six PDs.
  EXPECT_EQ(pt.tables_allocated(), 8u);
  Translation t = must_lookup(pt, 5 * GiB + 3 * MiB + 17);
  EXPECT_EQ(t.pa.value, 5 * GiB + 3 * MiB + 17);
  EXPECT_EQ(t.page_size, kLargePageSize);
}

TEST(PageTable, PageMemoryMaxPageLimitsLeafSize) {
  SimMemory sim(64);
  PageTable pt = make_table(sim, 4, sim.memory(kLargePageSize));
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(0), 2 * GiB, Attr::data()), MapStatus::ok);
  EXPECT_EQ(must_lookup(pt, GiB).page_size, kLargePageSize);
  EXPECT_EQ(pt.tables_allocated(), 4u);
}

TEST(PageTable, UnalignedRangeUsesMixedPageSizes) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  // 4 KiB head up to 2 MiB, 2 MiB pages up to 1 GiB, a 1 GiB page, a tail.
  const uint64_t start = 2 * MiB - 8 * KiB, end = 2 * GiB + 4 * MiB + 4 * KiB;
  ASSERT_EQ(pt.map(VirtAddr(start), PhysAddr(start), end - start, Attr::data()), MapStatus::ok);
  EXPECT_EQ(must_lookup(pt, start).page_size, kPageSize);
  EXPECT_EQ(must_lookup(pt, 2 * MiB).page_size, kLargePageSize);
  EXPECT_EQ(must_lookup(pt, GiB).page_size, kHugePageSize);
  EXPECT_EQ(must_lookup(pt, 2 * GiB + 2 * MiB).page_size, kLargePageSize);
  EXPECT_EQ(must_lookup(pt, 2 * GiB + 4 * MiB).page_size, kPageSize);
  Translation t;
  EXPECT_FALSE(pt.lookup(VirtAddr(start - kPageSize), &t));
  EXPECT_FALSE(pt.lookup(VirtAddr(end), &t));
}

TEST(PageTable, VaAndPaAlignmentDifferForcesSmallPages) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  ASSERT_EQ(pt.map(VirtAddr(4 * MiB), PhysAddr(4 * MiB + 4 * KiB), 4 * MiB, Attr::data()),
            MapStatus::ok);
  Translation t = must_lookup(pt, 4 * MiB + 0x10);
  EXPECT_EQ(t.page_size, kPageSize);
  EXPECT_EQ(t.pa.value, 4 * MiB + 4 * KiB + 0x10);
}

// An image inside a 2 MiB identity-mapped region gets 4 KiB permissions;
// the rest of the large page keeps its original attributes.
TEST(PageTable, ImagePermissionsSplitLargePage) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(0), 4 * GiB, Attr::data()), MapStatus::ok);
  const uint64_t img = GiB + 6 * MiB + 64 * KiB;
  ASSERT_EQ(pt.map(VirtAddr(img), PhysAddr(img), 12 * KiB, Attr::code()), MapStatus::ok);
  ASSERT_EQ(pt.map(VirtAddr(img + 12 * KiB), PhysAddr(img + 12 * KiB), 8 * KiB, Attr::rodata()),
            MapStatus::ok);
  // Split 1G -> PD, and 2M -> PT.
  EXPECT_EQ(pt.tables_allocated(), 4u);

  Translation t = must_lookup(pt, img + 4 * KiB);
  EXPECT_EQ(t.page_size, kPageSize);
  EXPECT_EQ(t.attr, Attr::code());
  EXPECT_EQ(must_lookup(pt, img + 16 * KiB).attr, Attr::rodata());
  for (uint64_t va : {img - kPageSize, img + 20 * KiB, GiB + 8 * MiB - kPageSize}) {
    t = must_lookup(pt, va);
    EXPECT_EQ(t.page_size, kPageSize);
    EXPECT_EQ(t.attr, Attr::data());
    EXPECT_EQ(t.pa.value, va);
  }
  t = must_lookup(pt, GiB + 8 * MiB);
  EXPECT_EQ(t.page_size, kLargePageSize);
  EXPECT_EQ(t.attr, Attr::data());
  t = must_lookup(pt, 3 * GiB);
  EXPECT_EQ(t.page_size, kHugePageSize);
}

TEST(PageTable, SplitMovesPatBitAndKeepsAllAttributes) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  Attr odd{.write = true, .user = true, .nx = false, .pwt = true, .pcd = false, .pat = true,
           .global = true, .pkey = 9};
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(0), GiB, odd), MapStatus::ok);
  Translation t = must_lookup(pt, 0);
  EXPECT_TRUE(*t.entry & pte::PAT_LARGE);
  EXPECT_TRUE(*t.entry & pte::PS);

  ASSERT_EQ(pt.map(VirtAddr(4 * KiB), PhysAddr(4 * KiB), 4 * KiB, Attr::data()), MapStatus::ok);
  t = must_lookup(pt, 8 * KiB);
  EXPECT_EQ(t.page_size, kPageSize);
  EXPECT_EQ(t.attr, odd);
  EXPECT_TRUE(*t.entry & pte::PAT_4K);
  EXPECT_FALSE(*t.entry & pte::PAT_LARGE);
  EXPECT_EQ((*t.entry & pte::kPkeyMask) >> pte::kPkeyShift, 9u);
  // The 2 MiB leaves from the 1 GiB split keep PAT at bit 12.
  t = must_lookup(pt, 2 * MiB);
  EXPECT_EQ(t.page_size, kLargePageSize);
  EXPECT_EQ(t.attr, odd);
  EXPECT_TRUE(*t.entry & pte::PAT_LARGE);
  EXPECT_EQ(t.pa.value, 2 * MiB);
  EXPECT_EQ(must_lookup(pt, 4 * KiB).attr, Attr::data());
}

TEST(PageTable, SameAttributesDoNotSplit) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(0), GiB, Attr::data()), MapStatus::ok);
  ASSERT_EQ(pt.map(VirtAddr(12 * KiB), PhysAddr(12 * KiB), 8 * KiB, Attr::data()), MapStatus::ok);
  EXPECT_EQ(pt.tables_allocated(), 2u);
  EXPECT_EQ(must_lookup(pt, 12 * KiB).page_size, kHugePageSize);
}

// A large-page-sized remap over an existing lower table keeps the table, so
// no table page is lost, and every page in it gets the new mapping.
TEST(PageTable, LargeMapOverExistingTableReusesIt) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  ASSERT_EQ(pt.map(VirtAddr(2 * MiB), PhysAddr(2 * MiB), 8 * KiB, Attr::code()), MapStatus::ok);
  const uint64_t before = pt.tables_allocated();
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(0), 4 * MiB, Attr::data()), MapStatus::ok);
  EXPECT_EQ(pt.tables_allocated(), before);
  EXPECT_EQ(must_lookup(pt, 0).page_size, kLargePageSize);
  for (uint64_t va = 2 * MiB; va < 4 * MiB; va += kPageSize) {
    Translation t = must_lookup(pt, va);
    ASSERT_EQ(t.attr, Attr::data());
    ASSERT_EQ(t.pa.value, va);
  }
}

TEST(PageTable, LookupDecodesEveryAttribute) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  struct Case {
    Attr attr;
    uint64_t bits;
  } cases[] = {
      {Attr::code(), pte::P},
      {Attr::rodata(), pte::P | pte::NX},
      {Attr::data(), pte::P | pte::RW | pte::NX},
      {Attr::mmio(), pte::P | pte::RW | pte::PWT | pte::PCD | pte::NX},
      {Attr{.user = true}, pte::P | pte::US | pte::NX},
      {Attr{.nx = false, .pat = true}, pte::P | pte::PAT_4K},
      {Attr{.global = true}, pte::P | pte::G | pte::NX},
      {Attr{.pkey = 15}, pte::P | pte::NX | pte::kPkeyMask},
  };
  uint64_t va = 0x40'0000'0000;
  for (const Case& c : cases) {
    ASSERT_EQ(pt.map(VirtAddr(va), PhysAddr(0x1000), kPageSize, c.attr), MapStatus::ok);
    Translation t = must_lookup(pt, va + 0x123);
    EXPECT_EQ(t.attr, c.attr);
    EXPECT_EQ(t.pa.value, 0x1123u);
    EXPECT_EQ(*t.entry, c.bits | 0x1000);
    va += kPageSize;
  }
}

TEST(PageTable, TablePointersArePresentWritableUser) {
  SimMemory sim(64);
  PageMemory mem = sim.memory();
  PageTable pt = make_table(sim, 4, mem);
  ASSERT_EQ(pt.map(VirtAddr(0x1000), PhysAddr(0x1000), kPageSize, Attr::rodata()), MapStatus::ok);
  uint64_t e = sim.at(pt.root())[0];
  EXPECT_EQ(e & 0xfff, pte::P | pte::RW | pte::US);
  EXPECT_FALSE(e & pte::NX);
}

TEST(PageTable, UnmapPunchesHoles) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(0), 2 * GiB, Attr::data()), MapStatus::ok);
  // A hole in the middle of a 1 GiB page, and a whole 2 MiB one.
  ASSERT_EQ(pt.unmap(VirtAddr(GiB + 4 * MiB + 4 * KiB), 8 * KiB), MapStatus::ok);
  ASSERT_EQ(pt.unmap(VirtAddr(GiB + 10 * MiB), 2 * MiB), MapStatus::ok);
  Translation t;
  EXPECT_FALSE(pt.lookup(VirtAddr(GiB + 4 * MiB + 4 * KiB), &t));
  EXPECT_FALSE(pt.lookup(VirtAddr(GiB + 4 * MiB + 8 * KiB), &t));
  EXPECT_FALSE(pt.lookup(VirtAddr(GiB + 11 * MiB), &t));
  EXPECT_TRUE(pt.lookup(VirtAddr(GiB + 4 * MiB), &t));
  EXPECT_TRUE(pt.lookup(VirtAddr(GiB + 4 * MiB + 12 * KiB), &t));
  EXPECT_EQ(t.pa.value, GiB + 4 * MiB + 12 * KiB);
  EXPECT_TRUE(pt.lookup(VirtAddr(GiB + 12 * MiB), &t));
  EXPECT_EQ(t.page_size, kLargePageSize);
  EXPECT_TRUE(pt.lookup(VirtAddr{}, &t));
  EXPECT_EQ(t.page_size, kHugePageSize);

  // A range with a hole is refused and changes nothing.
  EXPECT_EQ(pt.unmap(VirtAddr(GiB + 4 * MiB), 16 * KiB), MapStatus::not_mapped);
  EXPECT_TRUE(pt.lookup(VirtAddr(GiB + 4 * MiB), &t));
  EXPECT_EQ(pt.unmap(VirtAddr(8 * GiB), kPageSize), MapStatus::not_mapped);

  // Remapping a hole reuses the emptied tables.
  const uint64_t before = pt.tables_allocated();
  ASSERT_EQ(pt.map(VirtAddr(GiB + 4 * MiB + 4 * KiB), PhysAddr(0x5000), 8 * KiB, Attr::code()),
            MapStatus::ok);
  EXPECT_EQ(pt.tables_allocated(), before);
  EXPECT_EQ(must_lookup(pt, GiB + 4 * MiB + 8 * KiB).pa.value, 0x6000u);
}

TEST(PageTable, ProtectChangesAttributesKeepsFrames) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(GiB), GiB, Attr::data()), MapStatus::ok);
  ASSERT_EQ(pt.protect(VirtAddr(3 * MiB), 3 * MiB, Attr::rodata()), MapStatus::ok);
  Translation t = must_lookup(pt, 3 * MiB);
  EXPECT_EQ(t.attr, Attr::rodata());
  EXPECT_EQ(t.pa.value, GiB + 3 * MiB);
  EXPECT_EQ(t.page_size, kPageSize);
  t = must_lookup(pt, 4 * MiB + 5);
  EXPECT_EQ(t.attr, Attr::rodata());
  EXPECT_EQ(t.page_size, kLargePageSize);
  EXPECT_EQ(t.pa.value, GiB + 4 * MiB + 5);
  EXPECT_EQ(must_lookup(pt, 3 * MiB - kPageSize).attr, Attr::data());
  EXPECT_EQ(must_lookup(pt, 6 * MiB).attr, Attr::data());
  EXPECT_EQ(must_lookup(pt, 7 * MiB - kPageSize).attr, Attr::data());

  EXPECT_EQ(pt.protect(VirtAddr(GiB - kPageSize), 2 * kPageSize, Attr::code()),
            MapStatus::not_mapped);
  EXPECT_EQ(must_lookup(pt, GiB - kPageSize).attr, Attr::data());
}

TEST(PageTable, FiveLevelAddressesAbove47Bits) {
  SimMemory sim(64);
  PageTable pt = make_table(sim, 5);
  EXPECT_EQ(pt.levels(), 5);
  const uint64_t high = 1ull << 52;
  const uint64_t kernel = 0xff00'0000'0000'0000ull;  // lowest upper-half address with LA57
  ASSERT_EQ(pt.map(VirtAddr(high), PhysAddr(0x20'0000), 4 * MiB, Attr::data()), MapStatus::ok);
  ASSERT_EQ(pt.map(VirtAddr(kernel), PhysAddr(0x40'0000), kPageSize, Attr::code()), MapStatus::ok);
  Translation t = must_lookup(pt, high + 2 * MiB + 1);
  EXPECT_EQ(t.pa.value, 0x40'0001u);
  EXPECT_EQ(t.page_size, kLargePageSize);
  t = must_lookup(pt, kernel);
  EXPECT_EQ(t.pa.value, 0x40'0000u);
  EXPECT_EQ(t.attr, Attr::code());
  EXPECT_FALSE(pt.lookup(VirtAddr{}, &t));
  // PML5 index = bits 56:48: 2^52 is slot 16, the upper half starts at 256.
  EXPECT_TRUE(sim.at(pt.root())[16] & pte::P);
  EXPECT_TRUE(sim.at(pt.root())[256] & pte::P);
}

TEST(PageTable, NonCanonicalRejected) {
  SimMemory sim(64);
  PageTable pt4 = make_table(sim, 4);
  EXPECT_EQ(pt4.map(VirtAddr(1ull << 47), PhysAddr(0), kPageSize, Attr::data()),
            MapStatus::non_canonical);
  EXPECT_EQ(pt4.map(VirtAddr(1ull << 52), PhysAddr(0), kPageSize, Attr::data()),
            MapStatus::non_canonical);
  // Canonical start, but the range runs into the hole.
  EXPECT_EQ(pt4.map(VirtAddr((1ull << 47) - kPageSize), PhysAddr(0), 2 * kPageSize, Attr::data()),
            MapStatus::non_canonical);
  // Wraps past the top of the address space.
  EXPECT_EQ(pt4.map(VirtAddr(~0ull & ~(kPageSize - 1)), PhysAddr(0), 2 * kPageSize, Attr::data()),
            MapStatus::non_canonical);
  EXPECT_EQ(pt4.map(VirtAddr(~0ull & ~(kPageSize - 1)), PhysAddr(0), kPageSize, Attr::data()),
            MapStatus::ok);
  EXPECT_EQ(must_lookup(pt4, ~0ull).pa.value, kPageSize - 1);
  EXPECT_EQ(pt4.unmap(VirtAddr(1ull << 47), kPageSize), MapStatus::non_canonical);
  EXPECT_EQ(pt4.protect(VirtAddr(1ull << 47), kPageSize, Attr::data()), MapStatus::non_canonical);
  Translation t;
  EXPECT_FALSE(pt4.lookup(VirtAddr(1ull << 47), &t));

  PageTable pt5 = make_table(sim, 5);
  EXPECT_EQ(pt5.map(VirtAddr(1ull << 47), PhysAddr(0), kPageSize, Attr::data()), MapStatus::ok);
  EXPECT_EQ(pt5.map(VirtAddr(1ull << 56), PhysAddr(0), kPageSize, Attr::data()),
            MapStatus::non_canonical);
}

TEST(PageTable, MisalignedRejected) {
  SimMemory sim(64);
  PageTable pt = make_table(sim);
  EXPECT_EQ(pt.map(VirtAddr(0x1001), PhysAddr(0), kPageSize, Attr::data()), MapStatus::misaligned);
  EXPECT_EQ(pt.map(VirtAddr(0x1000), PhysAddr(0x10), kPageSize, Attr::data()),
            MapStatus::misaligned);
  EXPECT_EQ(pt.map(VirtAddr(0x1000), PhysAddr(0), 100, Attr::data()), MapStatus::misaligned);
  EXPECT_EQ(pt.map(VirtAddr(0x1000), PhysAddr(1ull << 52), kPageSize, Attr::data()),
            MapStatus::misaligned);
  EXPECT_EQ(pt.unmap(VirtAddr(0x1000), 10), MapStatus::misaligned);
  EXPECT_EQ(pt.map(VirtAddr(0x1000), PhysAddr(0), 0, Attr::data()), MapStatus::ok);
  EXPECT_EQ(pt.tables_allocated(), 1u);
}

TEST(PageTable, OutOfTables) {
  SimMemory sim(3);  // root + PDPT + one PD
  PageTable pt = make_table(sim);
  EXPECT_EQ(pt.map(VirtAddr{}, PhysAddr(0), 4 * MiB, Attr::data(), kLargePageSize),
            MapStatus::ok);
  EXPECT_EQ(pt.map(VirtAddr(GiB), PhysAddr(0), 4 * MiB, Attr::data(), kLargePageSize),
            MapStatus::out_of_tables);
  EXPECT_EQ(pt.map(VirtAddr{}, PhysAddr(0), kPageSize, Attr::code()), MapStatus::out_of_tables);
  EXPECT_EQ(pt.tables_allocated(), 3u);
  // A protect that needs a split fails without changing anything.
  EXPECT_EQ(pt.protect(VirtAddr{}, kPageSize, Attr::code()), MapStatus::out_of_tables);
  Translation t = must_lookup(pt, 0);
  EXPECT_EQ(t.attr, Attr::data());
  EXPECT_EQ(t.page_size, kLargePageSize);
  EXPECT_EQ(pt.unmap(VirtAddr(kPageSize), kPageSize), MapStatus::out_of_tables);
  EXPECT_TRUE(pt.lookup(VirtAddr(kPageSize), &t));

  SimMemory none(0);
  PageTable empty(none.memory(), PhysAddr(), 4);
  EXPECT_FALSE(PageTable::create(none.memory(), 4, &empty));
}

TEST(PageTable, EncryptionBitPlacement) {
  constexpr uint64_t kCBit = 1ull << 51;
  SimMemory sim(64);
  PageMemory mem = sim.memory();
  mem.enc_mask = kCBit;
  PageTable pt = make_table(sim, 4, mem);
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(0), 4 * MiB, Attr::data(), kLargePageSize),
            MapStatus::ok);
  Attr shared = Attr::data();
  shared.shared = true;
  ASSERT_EQ(pt.map(VirtAddr(GiB), PhysAddr(0x10'0000), kPageSize, shared), MapStatus::ok);

  // Every table pointer on the way carries the C-bit.
  const uint64_t pml4e = sim.at(pt.root())[0];
  EXPECT_TRUE(pml4e & kCBit);
  const uint64_t pdpte = sim.at(PhysAddr(pml4e & ~kCBit & ~0xfffull))[1];
  EXPECT_TRUE(pdpte & kCBit);

  Translation t = must_lookup(pt, 2 * MiB + 5);
  EXPECT_TRUE(*t.entry & kCBit);
  EXPECT_EQ(t.pa.value, 2 * MiB + 5);
  EXPECT_FALSE(t.attr.shared);
  t = must_lookup(pt, GiB);
  EXPECT_FALSE(*t.entry & kCBit);
  EXPECT_TRUE(t.attr.shared);
  EXPECT_EQ(t.pa.value, 0x10'0000u);

  // Splitting keeps the C-bit on the smaller leaves, protect can flip it.
  ASSERT_EQ(pt.protect(VirtAddr{}, kPageSize, shared), MapStatus::ok);
  t = must_lookup(pt, 0);
  EXPECT_FALSE(*t.entry & kCBit);
  EXPECT_EQ(t.pa.value, 0u);
  t = must_lookup(pt, kPageSize);
  EXPECT_TRUE(*t.entry & kCBit);
  EXPECT_EQ(t.pa.value, kPageSize);
  EXPECT_FALSE(t.attr.shared);
}

TEST(PageTable, SharedBitPlacement) {
  constexpr uint64_t kShared = 1ull << 47;
  SimMemory sim(64);
  PageMemory mem = sim.memory();
  mem.shared_mask = kShared;
  PageTable pt = make_table(sim, 4, mem);
  Attr shared = Attr::mmio();
  shared.shared = true;
  ASSERT_EQ(pt.map(VirtAddr{}, PhysAddr(0), kLargePageSize, Attr::data()), MapStatus::ok);
  ASSERT_EQ(pt.map(VirtAddr(kLargePageSize), PhysAddr(kLargePageSize), kPageSize, shared),
            MapStatus::ok);
  Translation t = must_lookup(pt, 0);
  EXPECT_FALSE(*t.entry & kShared);
  t = must_lookup(pt, kLargePageSize);
  EXPECT_TRUE(*t.entry & kShared);
  EXPECT_EQ(t.attr, shared);
  EXPECT_EQ(t.pa.value, kLargePageSize);
  EXPECT_FALSE(sim.at(pt.root())[0] & kShared);
}

TEST(PageTable, StatusStrings) {
  for (MapStatus s : {MapStatus::ok, MapStatus::out_of_tables, MapStatus::misaligned,
                      MapStatus::non_canonical, MapStatus::not_mapped}) {
    ASSERT_NE(paging::map_status_str(s), nullptr);
    EXPECT_GT(std::string(paging::map_status_str(s)).size(), 1u);
  }
  EXPECT_STREQ(paging::map_status_str(static_cast<MapStatus>(99)), "unknown map status");
}

// Random maps/unmaps/protects checked page by page against a flat model.
TEST(PageTable, RandomOperationsMatchModel) {
  constexpr uint64_t kSpan = 8 * MiB;  // four 2 MiB regions, va 1 GiB up
  constexpr uint64_t kVa = GiB;
  constexpr size_t kPages = kSpan / kPageSize;
  struct Model {
    bool present = false;
    uint64_t pa = 0;
    Attr attr;
  };
  std::vector<Model> model(kPages);
  SimMemory sim(256);
  PageTable pt = make_table(sim);
  const Attr attrs[] = {Attr::code(), Attr::rodata(), Attr::data(), Attr::mmio()};
  uint64_t seed = 12345;
  auto rnd = [&](uint64_t n) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (seed >> 33) % n;
  };
  for (int iter = 0; iter < 400; ++iter) {
    // Sizes biased to 2 MiB multiples so large pages appear.
    const bool large = rnd(2);
    const uint64_t unit = large ? kLargePageSize / kPageSize : 1;
    const uint64_t first = rnd(kPages / unit) * unit;
    const uint64_t count = 1 + rnd((kPages - first) / unit) * unit;
    const uint64_t n = std::min<uint64_t>(count, kPages - first);
    const VirtAddr va(kVa + first * kPageSize);
    const Attr a = attrs[rnd(4)];
    bool all_present = true;
    for (uint64_t i = first; i < first + n; ++i) all_present &= model[i].present;
    switch (rnd(3)) {
      case 0: {
        const uint64_t pa = (large ? rnd(64) * kLargePageSize : rnd(1 << 20) * kPageSize);
        ASSERT_EQ(pt.map(va, PhysAddr(pa), n * kPageSize, a), MapStatus::ok);
        for (uint64_t i = 0; i < n; ++i) model[first + i] = {true, pa + i * kPageSize, a};
        break;
      }
      case 1:
        ASSERT_EQ(pt.unmap(va, n * kPageSize),
                  all_present ? MapStatus::ok : MapStatus::not_mapped);
        if (all_present)
          for (uint64_t i = first; i < first + n; ++i) model[i].present = false;
        break;
      default:
        ASSERT_EQ(pt.protect(va, n * kPageSize, a),
                  all_present ? MapStatus::ok : MapStatus::not_mapped);
        if (all_present)
          for (uint64_t i = first; i < first + n; ++i) model[i].attr = a;
        break;
    }
    for (uint64_t i = 0; i < kPages; ++i) {
      Translation t{};
      const bool found = pt.lookup(VirtAddr(kVa + i * kPageSize + 8), &t);
      ASSERT_EQ(found, model[i].present) << "iter " << iter << " page " << i;
      if (!found) continue;
      ASSERT_EQ(t.pa.value, model[i].pa + 8) << "iter " << iter << " page " << i;
      ASSERT_EQ(t.attr, model[i].attr) << "iter " << iter << " page " << i;
    }
  }
}

}  // namespace
