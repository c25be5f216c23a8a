#include "efi/memmap.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <ostream>
#include <vector>

#include "efi/efi.h"

namespace {

using boot::MemKind;
using boot::MemRange;
using efi::MemoryType;

// An expected range, with plain numbers for brevity.
struct Want {
  uint64_t base;
  uint64_t size;
  MemKind kind;
  bool operator==(const Want&) const = default;
};

[[maybe_unused]] void PrintTo(const Want& r, std::ostream* os) {
  *os << "{0x" << std::hex << r.base << ", 0x" << r.size << std::dec << ", "
      << boot::mem_kind_str(r.kind) << "}";
}

constexpr uint64_t kPage = 4096;
constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

// A firmware map with an arbitrary stride; the bytes beyond the standard
// descriptor are filled with garbage so a reader that assumes a 40-byte
// stride picks up nonsense.
class FirmwareMap {
 public:
  explicit FirmwareMap(size_t stride = 48) : stride_(stride) {}

  FirmwareMap& add(uint32_t type, uint64_t base, uint64_t bytes) {
    efi::MemoryDescriptor d{};
    d.type = static_cast<MemoryType>(type);
    d.physical_start = base;
    d.virtual_start = 0;
    d.number_of_pages = bytes / kPage;
    d.attribute = efi::kMemoryWb;
    const size_t at = bytes_.size();
    bytes_.resize(at + stride_, 0xa5);
    std::memcpy(bytes_.data() + at, &d, sizeof d);
    return *this;
  }
  FirmwareMap& add(MemoryType type, uint64_t base, uint64_t bytes) {
    return add(static_cast<uint32_t>(type), base, bytes);
  }

  const void* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  size_t stride() const { return stride_; }

 private:
  size_t stride_;
  std::vector<unsigned char> bytes_;
};

struct Result {
  efi::NormalisedMap summary;
  std::vector<Want> ranges;
};

Result normalise(const FirmwareMap& m, size_t max_out = 64) {
  std::vector<MemRange> out(max_out + 1, MemRange{PhysAddr(0xdead), 0xdead, MemKind::reserved});
  Result r;
  r.summary = efi::normalise_memory_map(m.data(), m.size(), m.stride(), out.data(), max_out);
  EXPECT_LE(r.summary.count, max_out);
  EXPECT_EQ(out[max_out].base.value, 0xdeadu) << "wrote past max_out";
  for (size_t i = 0; i < r.summary.count; ++i)
    r.ranges.push_back(Want{out[i].base.value, out[i].size, out[i].kind});
  return r;
}

using Ranges = std::vector<Want>;

TEST(Memmap, SortsUnsortedInputAndUsesTheStride) {
  FirmwareMap m(48);
  m.add(MemoryType::acpi_nvs, 3 * MiB, 64 * kPage)
      .add(MemoryType::conventional, 0, 640 * 1024)
      .add(MemoryType::mmio, 4 * GiB - 16 * MiB, 16 * MiB)
      .add(MemoryType::loader_code, 1 * MiB, 1 * MiB);
  const auto r = normalise(m);
  EXPECT_EQ(r.ranges, (Ranges{{0, 640 * 1024, MemKind::usable},
                              {1 * MiB, 1 * MiB, MemKind::loader},
                              {3 * MiB, 64 * kPage, MemKind::acpi_nvs},
                              {4 * GiB - 16 * MiB, 16 * MiB, MemKind::mmio}}));
  EXPECT_EQ(r.summary.overlaps, 0u);
  EXPECT_EQ(r.summary.dropped, 0u);
  EXPECT_EQ(r.summary.usable_bytes, 640u * 1024);
  EXPECT_EQ(r.summary.top_of_ram, 3 * MiB + 64 * kPage) << "MMIO is not RAM";
}

TEST(Memmap, StandardStrideToo) {
  FirmwareMap m(sizeof(efi::MemoryDescriptor));
  m.add(MemoryType::conventional, 2 * MiB, MiB).add(MemoryType::conventional, 0, MiB);
  EXPECT_EQ(normalise(m).ranges,
            (Ranges{{0, MiB, MemKind::usable}, {2 * MiB, MiB, MemKind::usable}}));
}

TEST(Memmap, Classification) {
  struct Case {
    uint32_t type;
    MemKind kind;
  };
  const Case cases[] = {
      {0, MemKind::reserved},        {1, MemKind::loader},        {2, MemKind::loader},
      {3, MemKind::usable},          {4, MemKind::usable},        {5, MemKind::runtime_code},
      {6, MemKind::runtime_data},    {7, MemKind::usable},        {8, MemKind::unusable},
      {9, MemKind::acpi_reclaim},    {10, MemKind::acpi_nvs},     {11, MemKind::mmio},
      {12, MemKind::mmio},           {13, MemKind::reserved},     {14, MemKind::persistent},
      {15, MemKind::unaccepted},     {16, MemKind::reserved},     {0x70000000, MemKind::reserved},
      {0x80000001, MemKind::reserved},
  };
  for (const Case& c : cases) {
    FirmwareMap m;
    m.add(c.type, 0x100000, kPage);
    const auto r = normalise(m);
    ASSERT_EQ(r.ranges.size(), 1u) << "type " << c.type;
    EXPECT_EQ(r.ranges[0].kind, c.kind) << "type " << c.type;
  }
}

TEST(Memmap, MergesAdjacentRangesOfTheSameKind) {
  FirmwareMap m;
  // Boot services code/data and conventional are all usable afterwards.
  m.add(MemoryType::boot_services_data, 2 * MiB, MiB)
      .add(MemoryType::conventional, 0, MiB)
      .add(MemoryType::boot_services_code, 1 * MiB, MiB)
      .add(MemoryType::loader_data, 3 * MiB, MiB)
      .add(MemoryType::loader_code, 4 * MiB, MiB)
      .add(MemoryType::conventional, 5 * MiB, MiB)
      // A gap: not adjacent, not merged.
      .add(MemoryType::conventional, 7 * MiB, MiB)
      // Adjacent but a different kind.
      .add(MemoryType::runtime_services_data, 8 * MiB, MiB);
  const auto r = normalise(m);
  EXPECT_EQ(r.ranges, (Ranges{{0, 3 * MiB, MemKind::usable},
                              {3 * MiB, 2 * MiB, MemKind::loader},
                              {5 * MiB, MiB, MemKind::usable},
                              {7 * MiB, MiB, MemKind::usable},
                              {8 * MiB, MiB, MemKind::runtime_data}}));
  EXPECT_EQ(r.summary.usable_bytes, 5 * MiB);
  EXPECT_EQ(r.summary.top_of_ram, 9 * MiB);
  EXPECT_EQ(r.summary.overlaps, 0u);
}

TEST(Memmap, CountsOverlappingPairs) {
  FirmwareMap m;
  m.add(MemoryType::conventional, 0, 4 * MiB)
      .add(MemoryType::reserved, 1 * MiB, MiB)      // inside the first
      .add(MemoryType::acpi_reclaim, 3 * MiB, 2 * MiB)  // straddles its end
      .add(MemoryType::conventional, 8 * MiB, MiB)
      .add(MemoryType::conventional, 8 * MiB, MiB);  // exact duplicate
  const auto r = normalise(m);
  EXPECT_EQ(r.summary.overlaps, 3u);
  // Same-kind overlaps merge; different kinds stay separate for the caller
  // to judge.
  EXPECT_EQ(r.ranges, (Ranges{{0, 4 * MiB, MemKind::usable},
                              {1 * MiB, MiB, MemKind::reserved},
                              {3 * MiB, 2 * MiB, MemKind::acpi_reclaim},
                              {8 * MiB, MiB, MemKind::usable}}));
  EXPECT_EQ(r.summary.usable_bytes, 5 * MiB);
}

TEST(Memmap, TouchingRangesDoNotOverlap) {
  FirmwareMap m;
  m.add(MemoryType::conventional, 0, MiB).add(MemoryType::reserved, MiB, MiB);
  EXPECT_EQ(normalise(m).summary.overlaps, 0u);
}

TEST(Memmap, OutTooSmallDropsTheHighestAndCounts) {
  FirmwareMap m;
  m.add(MemoryType::conventional, 6 * GiB, GiB)
      .add(MemoryType::reserved, 1 * MiB, MiB)
      .add(MemoryType::conventional, 0, MiB)
      .add(MemoryType::acpi_nvs, 3 * MiB, MiB)
      .add(MemoryType::conventional, 4 * GiB, 2 * GiB);  // merges with 6 GiB
  const auto r = normalise(m, 2);
  EXPECT_EQ(r.summary.count, 2u);
  EXPECT_EQ(r.summary.dropped, 2u);
  EXPECT_EQ(r.ranges,
            (Ranges{{0, MiB, MemKind::usable}, {1 * MiB, MiB, MemKind::reserved}}));
  // The summary still covers what did not fit.
  EXPECT_EQ(r.summary.top_of_ram, 7 * GiB);
  EXPECT_EQ(r.summary.usable_bytes, MiB + 3 * GiB);

  const auto none = normalise(m, 0);
  EXPECT_EQ(none.summary.count, 0u);
  EXPECT_EQ(none.summary.dropped, 4u);
}

TEST(Memmap, TopOfRamIgnoresNonRam) {
  FirmwareMap m;
  m.add(MemoryType::conventional, 0, 2 * GiB)
      .add(MemoryType::mmio, 0xfec00000, 4 * kPage)
      .add(MemoryType::reserved, 0xfd00000000, GiB)
      .add(MemoryType::runtime_services_code, 2 * GiB, 16 * kPage)
      .add(MemoryType::unaccepted, 8 * GiB, GiB);
  const auto r = normalise(m);
  EXPECT_EQ(r.summary.top_of_ram, 9 * GiB);
  EXPECT_EQ(r.summary.usable_bytes, 2 * GiB) << "unaccepted memory is not usable yet";
}

TEST(Memmap, ZeroPageDescriptorsAreIgnored) {
  FirmwareMap m;
  m.add(MemoryType::conventional, 0, MiB)
      .add(MemoryType::reserved, MiB / 2, 0)
      .add(MemoryType::conventional, MiB, MiB);
  const auto r = normalise(m);
  EXPECT_EQ(r.ranges, (Ranges{{0, 2 * MiB, MemKind::usable}}));
  EXPECT_EQ(r.summary.overlaps, 0u);
}

TEST(Memmap, EqualBasesKeepFirmwareOrder) {
  FirmwareMap m;
  m.add(MemoryType::reserved, MiB, MiB).add(MemoryType::conventional, MiB, MiB);
  const auto r = normalise(m);
  EXPECT_EQ(r.ranges, (Ranges{{MiB, MiB, MemKind::reserved}, {MiB, MiB, MemKind::usable}}));
  EXPECT_EQ(r.summary.overlaps, 1u);
}

TEST(Memmap, SizeSaturatesAtTheTopOfTheAddressSpace) {
  FirmwareMap m;
  m.add(MemoryType::reserved, 0xfffffffffff00000, kPage);
  std::vector<unsigned char> bytes(static_cast<const unsigned char*>(m.data()),
                                   static_cast<const unsigned char*>(m.data()) + m.size());
  const uint64_t absurd_pages = 1ull << 60;
  std::memcpy(bytes.data() + offsetof(efi::MemoryDescriptor, number_of_pages), &absurd_pages,
              sizeof absurd_pages);
  MemRange out[2];
  const auto s = efi::normalise_memory_map(bytes.data(), bytes.size(), 48, out, 2);
  ASSERT_EQ(s.count, 1u);
  EXPECT_EQ(out[0].base.value, 0xfffffffffff00000u);
  EXPECT_EQ(out[0].end().value, ~uint64_t{0});
}

TEST(Memmap, BadStrideOrTrailingBytes) {
  FirmwareMap m(48);
  m.add(MemoryType::conventional, 0, MiB).add(MemoryType::conventional, 4 * MiB, MiB);
  MemRange out[4];
  // A stride below the descriptor size is refused outright.
  auto s = efi::normalise_memory_map(m.data(), m.size(), 32, out, 4);
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.usable_bytes, 0u);
  // A partial trailing descriptor is not read.
  s = efi::normalise_memory_map(m.data(), m.size() - 8, 48, out, 4);
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.usable_bytes, MiB);
  s = efi::normalise_memory_map(nullptr, 0, 48, out, 4);
  EXPECT_EQ(s.count, 0u);
}

TEST(Memmap, KindNames) {
  EXPECT_STREQ(boot::mem_kind_str(MemKind::usable), "usable");
  EXPECT_STREQ(boot::mem_kind_str(MemKind::runtime_code), "runtime-code");
  EXPECT_STREQ(boot::mem_kind_str(MemKind::unaccepted), "unaccepted");
  EXPECT_STREQ(boot::mem_kind_str(static_cast<MemKind>(200)), "unknown");
}

}  // namespace
