// Host tests of the VT-d encoders, the second-level builder and the
// reference walk (lib/iommu/vtd.h). Expected bit positions are those of
// the VT-d specification rev. 3.4 (§9.1, §9.3, §9.8, §9.10, §6.5.2,
// §10.4); the sample CAP/ECAP values are those QEMU 7.2's intel-iommu
// reports with its defaults and intremap=on.
#include "iommu/vtd.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <vector>

namespace {

class TableMemory {
 public:
  static constexpr uint64_t kBase = 0x4000'0000;
  paging::PageMemory memory() {
    paging::PageMemory m;
    m.ctx = this;
    m.alloc_table = [](void* c) { return static_cast<TableMemory*>(c)->alloc(); };
    m.table = [](void* c, PhysAddr pa) { return static_cast<TableMemory*>(c)->at(pa); };
    m.max_page = kPageSize;
    return m;
  }
  PhysAddr alloc() {
    pages_.push_back(std::make_unique<std::array<uint64_t, 512>>());
    pages_.back()->fill(0);
    return PhysAddr(kBase + (pages_.size() - 1) * kPageSize);
  }
  uint64_t* at(PhysAddr pa) {
    const uint64_t i = (pa.value - kBase) / kPageSize;
    EXPECT_LT(i, pages_.size());
    return pages_.at(i)->data();
  }
  size_t used() const { return pages_.size(); }

 private:
  std::vector<std::unique_ptr<std::array<uint64_t, 512>>> pages_;
};

TEST(Vtd, DecodesCapability) {
  const vtd::Capability c = vtd::decode_cap(0xd2008c22260206ull);
  EXPECT_EQ(c.domain_count(), 65536u);
  EXPECT_EQ(c.sagaw, 0x2);
  EXPECT_TRUE(c.supports_levels(3));
  EXPECT_FALSE(c.supports_levels(4));
  EXPECT_EQ(c.mgaw, 39);
  EXPECT_EQ(c.fault_offset, 0x220u);
  EXPECT_EQ(c.fault_records, 1u);
  EXPECT_TRUE(c.page_selective);
  EXPECT_EQ(c.large_pages, 3);
  EXPECT_EQ(c.max_address_mask, 18);
  EXPECT_FALSE(c.caching_mode);
}

TEST(Vtd, DecodesExtendedCapability) {
  const vtd::ExtCapability e = vtd::decode_ecap(0xf00f4aull);
  EXPECT_FALSE(e.coherent);
  EXPECT_TRUE(e.queued_invalidation);
  EXPECT_FALSE(e.device_tlb);
  EXPECT_TRUE(e.interrupt_remapping);
  EXPECT_FALSE(e.extended_interrupt);
  EXPECT_TRUE(e.pass_through);
  EXPECT_EQ(e.iotlb_offset, 0xf0u);
  EXPECT_FALSE(e.scalable_mode);
}

TEST(Vtd, GlobalCommandKeepsPersistentStateOnly) {
  // TES, RTPS and IRTPS set: RTPS and IRTPS are one-shot status, not echoed.
  const uint32_t gsts = vtd::gcmd::kTe | vtd::gcmd::kSrtp | vtd::gcmd::kSirtp;
  EXPECT_EQ(vtd::gcmd_value(gsts, vtd::gcmd::kQie), vtd::gcmd::kTe | vtd::gcmd::kQie);
  EXPECT_EQ(vtd::gcmd_value(gsts | vtd::gcmd::kIre, 0, vtd::gcmd::kTe), vtd::gcmd::kIre);
  EXPECT_EQ(vtd::gcmd_value(0, vtd::gcmd::kSrtp), 1u << 30);
}

TEST(Vtd, RootAndContextEntries) {
  vtd::RootEntry r;
  r.present = true;
  r.context_table = PhysAddr(0x12345000);
  EXPECT_EQ(r.lo(), 0x12345001u);
  EXPECT_EQ(vtd::RootEntry::decode(r.lo()).context_table, PhysAddr(0x12345000));

  vtd::ContextEntry c;
  c.present = true;
  c.fault_processing_disable = true;
  c.type = vtd::TranslationType::pass_through;
  c.second_level = PhysAddr(0xabcde000);
  c.address_width = vtd::aw_for_levels(3);
  c.domain_id = 0x1234;
  EXPECT_EQ(c.lo(), 0xabcde000u | 0x8 | 0x2 | 0x1);
  EXPECT_EQ(c.hi(), 0x123401u);
  const vtd::ContextEntry d = vtd::ContextEntry::decode(c.lo(), c.hi());
  EXPECT_TRUE(d.present && d.fault_processing_disable);
  EXPECT_EQ(d.type, vtd::TranslationType::pass_through);
  EXPECT_EQ(d.second_level, c.second_level);
  EXPECT_EQ(d.address_width, 1);
  EXPECT_EQ(d.domain_id, 0x1234);
  EXPECT_EQ(vtd::aw_for_levels(4), 2);
}

TEST(Vtd, SourceId) {
  EXPECT_EQ(vtd::source_id(0, 1, 0), 0x0008);
  EXPECT_EQ(vtd::source_id(0x12, 0x1f, 7), 0x12ff);
}

TEST(Vtd, FaultRecord) {
  const uint64_t hi = vtd::kFaultRecordF | 1ull << 62 | 6ull << 32 | 0x0008;
  const vtd::FaultRecord r = vtd::decode_fault(0xfeeb123, hi);
  EXPECT_TRUE(r.fault);
  EXPECT_TRUE(r.is_read);
  EXPECT_EQ(r.reason, vtd::fault::kRead);
  EXPECT_EQ(r.source_id, 0x0008);
  EXPECT_EQ(r.address, 0xfeeb000u);
  EXPECT_STREQ(vtd::fault_reason_str(5), "write without write permission");
}

TEST(Vtd, IrteXapicAndX2apic) {
  vtd::Irte e;
  e.present = true;
  e.vector = 0x61;
  e.destination = 3;
  e.level = true;
  e.delivery_mode = 1;
  e.source_validation = 1;
  e.source_id = 0x0008;
  EXPECT_EQ(e.lo(false), 1ull | 1ull << 4 | 1ull << 5 | 0x61ull << 16 | 3ull << 40);
  EXPECT_EQ(e.lo(true), 1ull | 1ull << 4 | 1ull << 5 | 0x61ull << 16 | 3ull << 32);
  EXPECT_EQ(e.hi(), 0x40008u);
  const vtd::Irte d = vtd::Irte::decode(e.lo(false), e.hi(), false);
  EXPECT_TRUE(d.present && d.level);
  EXPECT_EQ(d.vector, 0x61);
  EXPECT_EQ(d.destination, 3u);
  EXPECT_EQ(d.delivery_mode, 1);
  EXPECT_EQ(d.source_validation, 1);
  EXPECT_EQ(d.source_id, 0x0008);
  e.destination = 0x12345;
  EXPECT_EQ(vtd::Irte::decode(e.lo(true), e.hi(), true).destination, 0x12345u);
}

TEST(Vtd, InterruptTableAddressAndMessages) {
  EXPECT_EQ(vtd::irta_value(PhysAddr(0x7000), 256, false), 0x7000u | 7);
  EXPECT_EQ(vtd::irta_value(PhysAddr(0x7000), 2, true), 0x7000u | vtd::kIrtaEime);
  EXPECT_EQ(vtd::irta_value(PhysAddr(0x7000), 65536, false), 0x7000u | 15);
  EXPECT_EQ(vtd::remappable_msi(5).address, 0xfee000b0u);
  EXPECT_EQ(vtd::remappable_msi(0x8000).address, 0xfee00014u);
  EXPECT_EQ(vtd::remappable_msi(0x7fff).address, 0xfeefffe0u | 0x10);
  EXPECT_EQ(vtd::remappable_msi(5).data, 0u);
}

TEST(Vtd, InvalidationDescriptors) {
  const vtd::Descriptor w = vtd::wait_status(PhysAddr(0x9000), 0xabcd);
  EXPECT_EQ(w.lo, 0x5u | 1u << 5 | 1u << 6 | 0xabcdull << 32);
  EXPECT_EQ(w.hi, 0x9000u);
  EXPECT_EQ(vtd::context_cache_global().lo, 0x11u);
  EXPECT_EQ(vtd::iotlb_global().lo, 0xd2u);
  EXPECT_EQ(vtd::iotlb_global(false).lo, 0x12u);
  EXPECT_EQ(vtd::iotlb_domain(7).lo, 0x2u | 2u << 4 | 3u << 6 | 7u << 16);
  EXPECT_EQ(vtd::iec_global().lo, 0x4u);
  EXPECT_EQ(vtd::iec_index(5).lo, 0x4u | 1u << 4 | 5ull << 32);
  EXPECT_EQ(vtd::iqa_value(PhysAddr(0x5000), 0), 0x5000u);
  EXPECT_EQ(vtd::queue_offset(3), 0x30u);
  EXPECT_EQ(vtd::queue_index(0x70), 7u);
}

class SecondLevelTest : public ::testing::TestWithParam<int> {};

TEST_P(SecondLevelTest, MapsAndWalks) {
  const int levels = GetParam();
  TableMemory tm;
  const paging::PageMemory m = tm.memory();
  vtd::SecondLevel sl;
  ASSERT_TRUE(vtd::SecondLevel::create(m, levels, &sl));
  EXPECT_EQ(sl.levels(), levels);
  ASSERT_EQ(sl.map(0x1000, PhysAddr(0x55000), kPageSize, false), paging::MapStatus::ok);
  ASSERT_EQ(sl.map(0x7fff000, PhysAddr(0x66000), kPageSize, true), paging::MapStatus::ok);

  vtd::Walk r = vtd::walk(m, sl.pointer(), levels, 0x1123, false);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.pa, PhysAddr(0x55123));
  r = vtd::walk(m, sl.pointer(), levels, 0x1123, true);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, vtd::fault::kWrite);
  r = vtd::walk(m, sl.pointer(), levels, 0x7fff008, true);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.pa, PhysAddr(0x66008));
  r = vtd::walk(m, sl.pointer(), levels, 0x2000, false);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, vtd::fault::kRead);
  r = vtd::walk(m, sl.pointer(), levels, sl.iova_limit(), false);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, vtd::fault::kBeyondAgaw);
  EXPECT_NE(sl.map(sl.iova_limit() - kPageSize, PhysAddr(0x1000), 2 * kPageSize, true),
            paging::MapStatus::ok);

  ASSERT_EQ(sl.unmap(0x7fff000, kPageSize), paging::MapStatus::ok);
  EXPECT_FALSE(vtd::walk(m, sl.pointer(), levels, 0x7fff000, true).ok);
}

TEST_P(SecondLevelTest, LeafBitsAreReadWriteAndFrame) {
  const int levels = GetParam();
  TableMemory tm;
  const paging::PageMemory m = tm.memory();
  vtd::SecondLevel sl;
  ASSERT_TRUE(vtd::SecondLevel::create(m, levels, &sl));
  ASSERT_EQ(sl.map(0x3000, PhysAddr(0x77000), kPageSize, false), paging::MapStatus::ok);
  PhysAddr t = sl.pointer();
  uint64_t e = 0;
  for (int level = levels; level >= 1; --level) {
    e = m.table(m.ctx, t)[(0x3000ull >> (12 + 9 * (level - 1))) & 511];
    ASSERT_TRUE(e & vtd::sl::kRead) << "level " << level;
    if (level > 1) {
      EXPECT_FALSE(e & vtd::sl::kPageSize);
      EXPECT_FALSE(e & vtd::sl::kSnoop);
      t = PhysAddr(e & vtd::sl::kFrameMask);
    }
  }
  EXPECT_EQ(e & vtd::sl::kFrameMask, 0x77000u);
  EXPECT_FALSE(e & vtd::sl::kWrite);
  EXPECT_FALSE(e & vtd::sl::kSnoop);
}

INSTANTIATE_TEST_SUITE_P(Levels, SecondLevelTest, ::testing::Values(3, 4));

TEST(Vtd, ThreeLevelPointerIsBelowTheBuilderRoot) {
  TableMemory tm;
  const paging::PageMemory m = tm.memory();
  vtd::SecondLevel sl;
  ASSERT_TRUE(vtd::SecondLevel::create(m, 3, &sl));
  EXPECT_EQ(sl.iova_limit(), 1ull << 39);
  vtd::SecondLevel four;
  ASSERT_TRUE(vtd::SecondLevel::create(m, 4, &four));
  EXPECT_EQ(four.iova_limit(), 1ull << 48);
  vtd::SecondLevel bad;
  EXPECT_FALSE(vtd::SecondLevel::create(m, 5, &bad));
}

}  // namespace
