// Host tests of the DMAR parser (lib/iommu/dmar.h) over synthesized
// tables laid out as in the VT-d specification rev. 3.4 chapter 8.
#include "iommu/dmar.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

namespace {

void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(x & 0xff);
  v.push_back(x >> 8);
}
void put64(std::vector<uint8_t>& v, uint64_t x) {
  for (int i = 0; i < 8; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

std::vector<uint8_t> header(uint8_t haw, uint8_t flags) {
  std::vector<uint8_t> t(48, 0);
  std::memcpy(t.data(), "DMAR", 4);
  t[36] = haw;
  t[37] = flags;
  return t;
}

// A DRHD with endpoint scopes (bus, device, function) each.
void drhd(std::vector<uint8_t>& t, bool all, uint16_t segment, uint64_t base,
          std::vector<std::array<uint8_t, 3>> endpoints, uint8_t scope_type = 1) {
  put16(t, 0);
  put16(t, static_cast<uint16_t>(16 + 8 * endpoints.size()));
  t.push_back(all ? 1 : 0);
  t.push_back(0);
  put16(t, segment);
  put64(t, base);
  for (auto& e : endpoints) {
    t.insert(t.end(), {scope_type, 8, 0, 0, 0, e[0], e[1], e[2]});
  }
}

void finish(std::vector<uint8_t>& t) {
  const uint32_t len = static_cast<uint32_t>(t.size());
  std::memcpy(&t[4], &len, 4);
}

const acpi::SdtHeader* as_table(const std::vector<uint8_t>& t) {
  return reinterpret_cast<const acpi::SdtHeader*>(t.data());
}

TEST(Dmar, ParsesUnitsAndScopes) {
  auto t = header(38, iommu::dmar_flags::kIntrRemap);
  drhd(t, false, 0, 0xfed90000, {{0, 1, 0}, {0, 2, 0}});
  drhd(t, true, 0, 0xfed91000, {});
  // An RMRR: type 1, reserved, segment, base, limit.
  put16(t, 1);
  put16(t, 24);
  put16(t, 0);
  put16(t, 0);
  put64(t, 0x1000);
  put64(t, 0x1fff);
  finish(t);
  iommu::DmarInfo info;
  acpi::Problems problems;
  ASSERT_TRUE(iommu::parse_dmar(as_table(t), &info, &problems));
  EXPECT_EQ(problems.count, 0u);
  EXPECT_EQ(info.host_address_width, 38);
  EXPECT_EQ(info.flags, iommu::dmar_flags::kIntrRemap);
  ASSERT_EQ(info.unit_count, 2u);
  EXPECT_EQ(info.rmrr_count, 1u);
  EXPECT_EQ(info.units[0].register_base, 0xfed90000u);
  EXPECT_FALSE(info.units[0].include_pci_all);
  ASSERT_EQ(info.units[0].scope_count, 2u);
  EXPECT_EQ(info.units[0].scopes[1].type, iommu::ScopeType::pci_endpoint);
  EXPECT_EQ(info.units[0].scopes[1].path_len, 1);
  EXPECT_EQ(info.units[0].scopes[1].path[0][0], 2);
  EXPECT_TRUE(info.units[1].include_pci_all);

  // The listed device goes to its unit, any other to the catch-all one.
  EXPECT_EQ(iommu::unit_for(info, 0, 0, 2, 0), &info.units[0]);
  EXPECT_EQ(iommu::unit_for(info, 0, 0, 3, 0), &info.units[1]);
  EXPECT_EQ(iommu::unit_for(info, 1, 0, 2, 0), nullptr);
}

TEST(Dmar, IoapicScopeDoesNotClaimAnEndpoint) {
  auto t = header(38, 0);
  drhd(t, false, 0, 0xfed90000, {{0, 1, 0}}, 3);
  finish(t);
  iommu::DmarInfo info;
  ASSERT_TRUE(iommu::parse_dmar(as_table(t), &info, nullptr));
  EXPECT_EQ(info.units[0].scopes[0].type, iommu::ScopeType::ioapic);
  EXPECT_EQ(iommu::unit_for(info, 0, 0, 1, 0), nullptr);
}

TEST(Dmar, BadLengthsAreRecorded) {
  auto t = header(38, 0);
  drhd(t, false, 0, 0xfed90000, {{0, 1, 0}});
  t[48 + 16 + 1] = 40;  // the scope claims more than the DRHD holds
  finish(t);
  iommu::DmarInfo info;
  acpi::Problems problems;
  ASSERT_TRUE(iommu::parse_dmar(as_table(t), &info, &problems));
  EXPECT_EQ(info.unit_count, 1u);
  EXPECT_EQ(info.units[0].scope_count, 0u);
  ASSERT_EQ(problems.count, 1u);
  EXPECT_EQ(problems.items[0].kind, acpi::ProblemKind::bad_entry);

  auto u = header(38, 0);
  put16(u, 0);
  put16(u, 200);  // beyond the table
  put16(u, 0);
  finish(u);
  acpi::Problems p2;
  ASSERT_TRUE(iommu::parse_dmar(as_table(u), &info, &p2));
  EXPECT_EQ(info.unit_count, 0u);
  EXPECT_EQ(p2.count, 1u);

  auto s = header(38, 0);
  s.resize(40);
  finish(s);
  acpi::Problems p3;
  EXPECT_FALSE(iommu::parse_dmar(as_table(s), &info, &p3));
  EXPECT_EQ(p3.items[0].kind, acpi::ProblemKind::bad_length);
}

TEST(Dmar, FullUnitListIsRecorded) {
  auto t = header(38, 0);
  for (size_t i = 0; i < iommu::DmarInfo::kMaxUnits + 1; ++i) drhd(t, false, 0, 0x1000 * i, {});
  finish(t);
  iommu::DmarInfo info;
  acpi::Problems problems;
  ASSERT_TRUE(iommu::parse_dmar(as_table(t), &info, &problems));
  EXPECT_EQ(info.unit_count, iommu::DmarInfo::kMaxUnits);
  ASSERT_EQ(problems.count, 1u);
  EXPECT_EQ(problems.items[0].kind, acpi::ProblemKind::list_full);
}

}  // namespace
