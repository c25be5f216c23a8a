// Host tests of ACPI discovery and parsing over synthesized tables.
#include "acpi/acpi.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace acpi;

namespace {

// A small physical memory at kBase in which tests lay out tables.
class FakeMemory {
 public:
  static constexpr uint64_t kBase = 0xe0000;
  FakeMemory() : bytes_(0x20000, 0) {}

  Access access() { return Access{this, &FakeMemory::map}; }

  PhysAddr put(const std::vector<uint8_t>& data, uint64_t align = 16) {
    next_ = (next_ + align - 1) & ~(align - 1);
    const PhysAddr pa(kBase + next_);
    std::memcpy(&bytes_[next_], data.data(), data.size());
    next_ += data.size();
    return pa;
  }
  // At the very end, so that a read past `data` is out of bounds.
  PhysAddr put_last(const std::vector<uint8_t>& data) {
    const size_t off = bytes_.size() - data.size();
    std::memcpy(&bytes_[off], data.data(), data.size());
    return PhysAddr(kBase + off);
  }
  uint8_t* at(PhysAddr pa) { return &bytes_[pa.value - kBase]; }

 private:
  static const void* map(void* ctx, PhysAddr pa, uint64_t len) {
    auto* m = static_cast<FakeMemory*>(ctx);
    if (pa.value < kBase || pa.value - kBase > m->bytes_.size() ||
        len > m->bytes_.size() - (pa.value - kBase))
      return nullptr;
    return &m->bytes_[pa.value - kBase];
  }
  std::vector<uint8_t> bytes_;
  uint64_t next_ = 0;
};

template <typename T>
void append(std::vector<uint8_t>& v, const T& x) {
  const auto* p = reinterpret_cast<const uint8_t*>(&x);
  v.insert(v.end(), p, p + sizeof(T));
}

void fix_checksum(std::vector<uint8_t>& t, size_t at = 9) {
  t[at] = 0;
  t[at] = static_cast<uint8_t>(-checksum(t.data(), t.size()));
}

// A table: header with `sig`, then `body`; length and checksum filled in.
std::vector<uint8_t> table(const char* sig, const std::vector<uint8_t>& body, uint8_t rev = 1) {
  SdtHeader h{};
  std::memcpy(h.signature, sig, 4);
  h.length = static_cast<uint32_t>(sizeof(h) + body.size());
  h.revision = rev;
  std::memcpy(h.oem_id, "TESTOE", 6);
  std::vector<uint8_t> t;
  append(t, h);
  t.insert(t.end(), body.begin(), body.end());
  fix_checksum(t);
  return t;
}

std::vector<uint8_t> rsdp(uint8_t revision, uint32_t rsdt, uint64_t xsdt) {
  Rsdp r{};
  std::memcpy(r.signature, "RSD PTR ", 8);
  std::memcpy(r.oem_id, "TESTOE", 6);
  r.revision = revision;
  r.rsdt_address = rsdt;
  r.length = sizeof(Rsdp);
  r.xsdt_address = xsdt;
  std::vector<uint8_t> v;
  append(v, r);
  v[8] = static_cast<uint8_t>(-checksum(v.data(), kRsdpV1Size));
  v[32] = 0;
  v[32] = static_cast<uint8_t>(-checksum(v.data(), sizeof(Rsdp)));
  if (revision < 2) v.resize(kRsdpV1Size);
  return v;
}

std::vector<uint8_t> root(const char* sig, const std::vector<PhysAddr>& tables) {
  std::vector<uint8_t> body;
  for (PhysAddr pa : tables) {
    if (sig[0] == 'X')
      append(body, pa.value);
    else
      append(body, static_cast<uint32_t>(pa.value));
  }
  return table(sig, body);
}

std::vector<uint8_t> hpet_table(uint64_t base) {
  std::vector<uint8_t> body;
  append(body, uint32_t{0x8086a201});
  append(body, Gas{kSystemMemory, 64, 0, 0, base});
  append(body, uint8_t{0});
  append(body, uint16_t{0x80});
  append(body, uint8_t{0});
  return table("HPET", body);
}

struct Platform {
  FakeMemory mem;
  PhysAddr hpet, mcfg, rsdt, xsdt, rsdp_v1, rsdp_v2;

  Platform() {
    hpet = mem.put(hpet_table(0xfed00000));
    std::vector<uint8_t> body(8, 0);
    append(body, McfgAllocation{0xb0000000, 0, 0, 0xff, 0});
    mcfg = mem.put(table("MCFG", body));
    rsdt = mem.put(root("RSDT", {hpet}));
    xsdt = mem.put(root("XSDT", {hpet, mcfg}), 4);  // entries unaligned
    rsdp_v1 = mem.put(rsdp(0, static_cast<uint32_t>(rsdt.value), 0));
    rsdp_v2 = mem.put(rsdp(2, static_cast<uint32_t>(rsdt.value), xsdt.value));
  }
};

TEST(Acpi, RsdpV2UsesXsdt) {
  Platform p;
  Problems problems;
  Tables t;
  ASSERT_TRUE(t.init(p.mem.access(), p.rsdp_v2, &problems));
  EXPECT_EQ(problems.count, 0u);
  EXPECT_TRUE(t.uses_xsdt());
  EXPECT_EQ(t.revision(), 2);
  EXPECT_EQ(t.count(), 2u);
  EXPECT_EQ(t.entry(1), p.mcfg);
  const SdtHeader* h = t.find("HPET");
  ASSERT_NE(h, nullptr);
  HpetInfo info;
  ASSERT_TRUE(parse_hpet(h, &info, &problems));
  EXPECT_EQ(info.address, 0xfed00000u);
  EXPECT_EQ(info.min_tick, 0x80);
  EXPECT_EQ(t.find("HPET", 1), nullptr);
  EXPECT_EQ(t.find("APIC"), nullptr);

  McfgInfo mcfg;
  ASSERT_TRUE(parse_mcfg(t.find("MCFG"), &mcfg, &problems));
  ASSERT_EQ(mcfg.count, 1u);
  EXPECT_EQ(mcfg.regions[0].base + 0u, 0xb0000000u);
  EXPECT_EQ(mcfg.regions[0].segment + 0u, 0);
  EXPECT_EQ(mcfg.regions[0].start_bus + 0u, 0);
  EXPECT_EQ(mcfg.regions[0].end_bus + 0u, 0xff);
  EXPECT_EQ(problems.count, 0u);
}

TEST(Acpi, RsdpV1UsesRsdt) {
  Platform p;
  Problems problems;
  Tables t;
  ASSERT_TRUE(t.init(p.mem.access(), p.rsdp_v1, &problems));
  EXPECT_FALSE(t.uses_xsdt());
  EXPECT_EQ(t.count(), 1u);
  EXPECT_NE(t.find("HPET"), nullptr);
  EXPECT_EQ(problems.count, 0u);
}

TEST(Acpi, BadRsdpChecksumsReported) {
  Platform p;
  Problems problems;
  Tables t;
  p.mem.at(p.rsdp_v1)[8] ^= 1;
  EXPECT_FALSE(t.init(p.mem.access(), p.rsdp_v1, &problems));
  ASSERT_EQ(problems.count, 1u);
  EXPECT_EQ(problems.items[0].kind, ProblemKind::bad_checksum);

  // A bad extended checksum: reported, and the RSDT is used instead.
  problems = Problems{};
  p.mem.at(p.rsdp_v2)[33] ^= 1;  // reserved byte, covered only by the extended checksum
  ASSERT_TRUE(t.init(p.mem.access(), p.rsdp_v2, &problems));
  EXPECT_FALSE(t.uses_xsdt());
  ASSERT_EQ(problems.count, 1u);
  EXPECT_EQ(problems.items[0].kind, ProblemKind::bad_ext_checksum);

  problems = Problems{};
  p.mem.at(p.rsdp_v2)[0] = 'X';
  EXPECT_FALSE(t.init(p.mem.access(), p.rsdp_v2, &problems));
  EXPECT_EQ(problems.items[0].kind, ProblemKind::bad_signature);
  EXPECT_FALSE(t.init(p.mem.access(), PhysAddr(0x1000), &problems));
  EXPECT_EQ(problems.items[1].kind, ProblemKind::unreachable);
}

TEST(Acpi, BadXsdtFallsBackToRsdt) {
  Platform p;
  Problems problems;
  Tables t;
  p.mem.at(p.xsdt)[40] ^= 0x10;
  ASSERT_TRUE(t.init(p.mem.access(), p.rsdp_v2, &problems));
  EXPECT_FALSE(t.uses_xsdt());
  ASSERT_EQ(problems.count, 1u);
  EXPECT_EQ(problems.items[0].kind, ProblemKind::bad_checksum);
  EXPECT_EQ(std::string(problems.items[0].signature, 4), "XSDT");
  EXPECT_EQ(problems.items[0].where, p.xsdt);
}

TEST(Acpi, CorruptTablesSkippedAndReportedOnce) {
  Platform p;
  p.mem.at(p.hpet)[50] ^= 0xff;
  Problems problems;
  Tables t;
  ASSERT_TRUE(t.init(p.mem.access(), p.rsdp_v2, &problems));
  ASSERT_EQ(problems.count, 1u);
  EXPECT_EQ(problems.items[0].kind, ProblemKind::bad_checksum);
  EXPECT_EQ(std::string(problems.items[0].signature, 4), "HPET");
  EXPECT_EQ(problems.items[0].where, p.hpet);
  EXPECT_STREQ(problem_str(problems.items[0].kind), "bad checksum");
  EXPECT_EQ(t.find("HPET"), nullptr);
  EXPECT_NE(t.find("MCFG"), nullptr);
  EXPECT_EQ(problems.count, 1u);
}

TEST(Acpi, TruncatedAndOversizedLengthsRejected) {
  Platform p;
  // A length smaller than a header, and one running off the end of memory.
  std::vector<uint8_t> tiny = hpet_table(0);
  reinterpret_cast<SdtHeader*>(tiny.data())->length = 20;
  fix_checksum(tiny);
  const PhysAddr tiny_pa = p.mem.put(tiny);
  std::vector<uint8_t> huge = hpet_table(0);
  reinterpret_cast<SdtHeader*>(huge.data())->length = 0x100000;
  const PhysAddr huge_pa = p.mem.put(huge);
  const PhysAddr x = p.mem.put(root("XSDT", {tiny_pa, huge_pa, p.mcfg}));
  const PhysAddr r = p.mem.put(rsdp(2, 0, x.value));
  Problems problems;
  Tables t;
  ASSERT_TRUE(t.init(p.mem.access(), r, &problems));
  ASSERT_EQ(problems.count, 2u);
  EXPECT_EQ(problems.items[0].kind, ProblemKind::bad_length);
  EXPECT_EQ(problems.items[0].detail, 20u);
  EXPECT_EQ(problems.items[1].kind, ProblemKind::unreachable);
  EXPECT_EQ(t.find("HPET"), nullptr);

  // A checksummed HPET too short for its fields is refused by the parser.
  std::vector<uint8_t> short_hpet = table("HPET", std::vector<uint8_t>(10, 0));
  HpetInfo info;
  problems = Problems{};
  EXPECT_FALSE(parse_hpet(reinterpret_cast<const SdtHeader*>(short_hpet.data()), &info, &problems));
  EXPECT_EQ(problems.items[0].kind, ProblemKind::bad_length);
}

std::vector<uint8_t> madt_body(const std::vector<std::vector<uint8_t>>& entries,
                               uint32_t flags = 1) {
  std::vector<uint8_t> body;
  append(body, uint32_t{0xfee00000});
  append(body, flags);
  for (const auto& e : entries) body.insert(body.end(), e.begin(), e.end());
  return body;
}

template <typename T>
std::vector<uint8_t> entry(const T& x) {
  std::vector<uint8_t> v;
  append(v, x);
  return v;
}

TEST(Acpi, MadtCpusIoApicsOverrides) {
  using namespace lapic_flags;
  const auto lapic = [](uint8_t uid, uint8_t id, uint32_t flags) {
    return entry(MadtLocalApic{{0, 8}, uid, id, flags});
  };
  const auto x2 = [](uint32_t id, uint32_t uid, uint32_t flags) {
    return entry(MadtLocalX2Apic{{9, 16}, 0, id, flags, uid});
  };
  std::vector<uint8_t> t = table(
      "APIC", madt_body({
                  lapic(0, 0, kEnabled),
                  lapic(1, 2, kEnabled),
                  lapic(2, 4, kOnlineCapable),
                  lapic(3, 6, 0),  // unusable
                  entry(MadtIoApic{{1, 12}, 8, 0, 0xfec00000, 0}),
                  entry(MadtInterruptOverride{{2, 10}, 0, 0, 2, 0}),
                  entry(MadtInterruptOverride{{2, 10}, 0, 9, 9, 0xd}),
                  std::vector<uint8_t>{0x7f, 4, 0, 0},  // unknown type: skipped
                  x2(2, 1, kEnabled),                   // duplicate of apic id 2
                  x2(300, 7, kEnabled),
                  entry(MadtLapicAddressOverride{{5, 12}, 0, 0x1'fee0'0000}),
              }));
  Problems problems;
  MadtInfo info;
  ASSERT_TRUE(parse_madt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
  EXPECT_EQ(problems.count, 0u);
  EXPECT_EQ(info.lapic_address, 0x1'fee0'0000u);
  EXPECT_TRUE(info.pcat_compat);
  ASSERT_EQ(info.cpu_count, 4u);
  EXPECT_EQ(info.cpus_unusable, 1u);
  EXPECT_EQ(info.cpus[0].apic_id, 0u);
  EXPECT_TRUE(info.cpus[0].enabled);
  EXPECT_EQ(info.cpus[1].apic_id, 2u);
  EXPECT_EQ(info.cpus[1].uid, 1u);
  EXPECT_FALSE(info.cpus[1].x2apic);
  EXPECT_EQ(info.cpus[2].apic_id, 4u);
  EXPECT_FALSE(info.cpus[2].enabled);
  EXPECT_TRUE(info.cpus[2].online_capable);
  EXPECT_EQ(info.cpus[3].apic_id, 300u);
  EXPECT_TRUE(info.cpus[3].x2apic);
  EXPECT_EQ(info.cpus[3].uid, 7u);
  ASSERT_EQ(info.ioapic_count, 1u);
  EXPECT_EQ(info.ioapics[0].address, 0xfec00000u);
  EXPECT_EQ(info.ioapics[0].id, 8);
  ASSERT_EQ(info.override_count, 2u);
  EXPECT_EQ(info.overrides[0].source, 0);
  EXPECT_EQ(info.overrides[0].gsi, 2u);
  EXPECT_EQ(info.overrides[1].flags, 0xd);
}

TEST(Acpi, MadtMalformedEntriesStopTheWalk) {
  // An entry claiming length 0 would loop forever; one running past the end
  // would read out of bounds; a short local APIC entry is skipped.
  std::vector<uint8_t> t = table(
      "APIC", madt_body({entry(MadtLocalApic{{0, 8}, 0, 0, 1}), std::vector<uint8_t>{0, 4, 1, 1},
                         std::vector<uint8_t>{1, 0}}));
  Problems problems;
  MadtInfo info;
  ASSERT_TRUE(parse_madt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
  EXPECT_EQ(info.cpu_count, 1u);
  ASSERT_EQ(problems.count, 2u);
  EXPECT_EQ(problems.items[0].kind, ProblemKind::bad_entry);
  EXPECT_EQ(problems.items[0].detail, 44u + 8);
  EXPECT_EQ(problems.items[1].kind, ProblemKind::bad_entry);

  std::vector<uint8_t> t2 = table("APIC", madt_body({std::vector<uint8_t>{9, 200, 0, 0}}));
  problems = Problems{};
  ASSERT_TRUE(parse_madt(reinterpret_cast<const SdtHeader*>(t2.data()), &info, &problems));
  EXPECT_EQ(info.cpu_count, 0u);
  EXPECT_EQ(problems.count, 1u);
}

std::vector<uint8_t> fadt(const Fadt& f, size_t length) {
  std::vector<uint8_t> v;
  append(v, f);
  v.resize(length);
  reinterpret_cast<SdtHeader*>(v.data())->length = static_cast<uint32_t>(length);
  std::memcpy(v.data(), "FACP", 4);
  fix_checksum(v);
  return v;
}

TEST(Acpi, FadtPmTimerAndReset) {
  Fadt f{};
  f.sci_int = 9;
  f.pm_tmr_blk = 0x608;
  f.pm_tmr_len = 4;
  f.flags = fadt_flags::kTmrValExt | fadt_flags::kResetRegSup;
  f.reset_reg = Gas{kSystemIo, 8, 0, 0, 0xcf9};
  f.reset_value = 0x6;
  f.dsdt = 0x1000;
  Problems problems;
  FadtInfo info;

  // Full table with the X_ block unset: the legacy port is used.
  std::vector<uint8_t> t = fadt(f, sizeof(Fadt));
  ASSERT_TRUE(parse_fadt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
  EXPECT_TRUE(info.pm_timer.present);
  EXPECT_TRUE(info.pm_timer.io);
  EXPECT_EQ(info.pm_timer.address, 0x608u);
  EXPECT_TRUE(info.pm_timer.is_32bit);
  EXPECT_TRUE(info.reset_supported);
  EXPECT_EQ(info.reset_reg.address + 0u, 0xcf9u);
  EXPECT_EQ(info.reset_reg.space_id + 0u, kSystemIo);
  EXPECT_EQ(info.reset_value, 6);
  EXPECT_EQ(info.sci_int, 9);
  EXPECT_EQ(info.dsdt, 0x1000u);

  // X_PM_TMR_BLK wins, and can be memory-mapped; 24-bit timer.
  f.x_pm_tmr_blk = Gas{kSystemMemory, 32, 0, 3, 0xfed000f0};
  f.x_dsdt = 0x2000;
  f.flags = 0;
  t = fadt(f, sizeof(Fadt));
  ASSERT_TRUE(parse_fadt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
  EXPECT_FALSE(info.pm_timer.io);
  EXPECT_EQ(info.pm_timer.address, 0xfed000f0u);
  EXPECT_FALSE(info.pm_timer.is_32bit);
  EXPECT_FALSE(info.reset_supported);
  EXPECT_EQ(info.dsdt, 0x2000u);

  // An ACPI 1.0-sized FADT: X_ fields are past its end and ignored.
  f.flags = fadt_flags::kResetRegSup;
  t = fadt(f, 116);
  ASSERT_TRUE(parse_fadt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
  EXPECT_EQ(info.pm_timer.address, 0x608u);
  EXPECT_TRUE(info.pm_timer.io);
  EXPECT_FALSE(info.reset_supported);
  EXPECT_EQ(info.dsdt, 0x1000u);
  EXPECT_EQ(problems.count, 0u);

  // No timer at all: a legacy block with the wrong length is not used.
  f.x_pm_tmr_blk = Gas{};
  f.pm_tmr_len = 2;
  t = fadt(f, sizeof(Fadt));
  ASSERT_TRUE(parse_fadt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
  EXPECT_FALSE(info.pm_timer.present);

  t = fadt(f, 100);
  EXPECT_FALSE(parse_fadt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
  EXPECT_EQ(problems.items[0].kind, ProblemKind::bad_length);
}

TEST(Acpi, McfgLengthNotMultipleOfEntry) {
  std::vector<uint8_t> body(8, 0);
  append(body, McfgAllocation{0xe0000000, 1, 0, 0x7f, 0});
  body.push_back(0);
  std::vector<uint8_t> t = table("MCFG", body);
  Problems problems;
  McfgInfo info;
  ASSERT_TRUE(parse_mcfg(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
  EXPECT_EQ(info.count, 1u);
  EXPECT_EQ(info.regions[0].segment + 0u, 1);
  EXPECT_EQ(problems.count, 1u);
}

// ---- Tables as other firmware publishes them ----

// A minimal MADT: one enabled CPU and one I/O APIC, no interrupt source
// overrides (firmware for machines without a legacy PIT-on-IRQ2 wiring, and
// many hypervisors, give none).
std::vector<uint8_t> madt_without_overrides() {
  return table("APIC", madt_body({entry(MadtLocalApic{{0, 8}, 0, 0, lapic_flags::kEnabled}),
                                  entry(MadtIoApic{{1, 12}, 1, 0, 0xfec00000, 0})},
                                 0));
}

// An ACPI 1.0 FADT: the PM timer only in PM_TMR_BLK, 24 bits.
std::vector<uint8_t> fadt_v1(uint32_t pm_port) {
  Fadt f{};
  f.pm_tmr_blk = pm_port;
  f.pm_tmr_len = 4;
  f.sci_int = 9;
  std::vector<uint8_t> v;
  append(v, f);
  v.resize(116);
  SdtHeader* h = reinterpret_cast<SdtHeader*>(v.data());
  std::memcpy(h->signature, "FACP", 4);
  h->length = 116;
  h->revision = 1;
  fix_checksum(v);
  return v;
}

// ACPI 1.0 firmware: a 20-byte revision-0 RSDP (at the very end of memory,
// so reading the 2.0 fields would go out of bounds) and an RSDT listing
// only a FADT and a MADT: no XSDT, no HPET, MCFG or SPCR.
TEST(Acpi, Revision0RsdpWithOnlyAnRsdt) {
  FakeMemory mem;
  const PhysAddr facp = mem.put(fadt_v1(0x408));
  const PhysAddr apic = mem.put(madt_without_overrides());
  const PhysAddr rsdt = mem.put(root("RSDT", {facp, apic}));
  const std::vector<uint8_t> r = rsdp(0, static_cast<uint32_t>(rsdt.value), 0);
  ASSERT_EQ(r.size(), kRsdpV1Size);
  const PhysAddr rsdp_pa = mem.put_last(r);
  Problems problems;
  Tables t;
  ASSERT_TRUE(t.init(mem.access(), rsdp_pa, &problems));
  EXPECT_EQ(problems.count, 0u);
  EXPECT_FALSE(t.uses_xsdt());
  EXPECT_EQ(t.revision(), 0);
  EXPECT_EQ(t.count(), 2u);
  for (const char* absent : {"HPET", "MCFG", "SPCR", "XSDT"})
    EXPECT_EQ(t.find(absent), nullptr) << absent;

  FadtInfo fadt;
  ASSERT_TRUE(parse_fadt(t.find("FACP"), &fadt, &problems));
  EXPECT_TRUE(fadt.pm_timer.present);
  EXPECT_TRUE(fadt.pm_timer.io);
  EXPECT_EQ(fadt.pm_timer.address, 0x408u);
  EXPECT_FALSE(fadt.pm_timer.is_32bit);
  EXPECT_FALSE(fadt.reset_supported);

  MadtInfo madt;
  ASSERT_TRUE(parse_madt(t.find("APIC"), &madt, &problems));
  EXPECT_EQ(madt.cpu_count, 1u);
  EXPECT_EQ(madt.override_count, 0u);
  EXPECT_FALSE(madt.pcat_compat);
  EXPECT_EQ(problems.count, 0u);
}

// A 2.0 RSDP whose XSDT address is 0 (seen on firmware that fills in the
// 2.0 layout but builds only an RSDT): the RSDT serves, with no problem.
TEST(Acpi, Revision2RsdpWithoutXsdt) {
  FakeMemory mem;
  const PhysAddr facp = mem.put(fadt_v1(0x408));
  const PhysAddr rsdt = mem.put(root("RSDT", {facp}));
  const PhysAddr rsdp_pa = mem.put(rsdp(2, static_cast<uint32_t>(rsdt.value), 0));
  Problems problems;
  Tables t;
  ASSERT_TRUE(t.init(mem.access(), rsdp_pa, &problems));
  EXPECT_EQ(problems.count, 0u);
  EXPECT_FALSE(t.uses_xsdt());
  EXPECT_NE(t.find("FACP"), nullptr);
}

// The FADT's length by revision: 1 (ACPI 1.0) ends after the flags; 2 adds
// the reset register; 3 and 4 (ACPI 2.0, 3.0) the X_ blocks; 5 the sleep
// registers; 6 the hypervisor vendor id.
struct FadtShape {
  uint8_t revision;
  uint32_t length;
};
constexpr FadtShape kFadtShapes[] = {{1, 116}, {2, 129}, {3, 244}, {4, 244}, {5, 268}, {6, 276}};

std::vector<uint8_t> fadt_rev(Fadt f, const FadtShape& shape) {
  f.header.revision = shape.revision;
  std::vector<uint8_t> t = fadt(f, shape.length);
  reinterpret_cast<SdtHeader*>(t.data())->revision = shape.revision;
  fix_checksum(t);
  return t;
}

TEST(Acpi, FadtEveryRevisionWithXFieldsZeroUsesPmTmrBlk) {
  Fadt f{};
  f.pm_tmr_blk = 0xb008;
  f.pm_tmr_len = 4;
  f.flags = fadt_flags::kTmrValExt;
  for (const FadtShape& shape : kFadtShapes) {
    const std::vector<uint8_t> t = fadt_rev(f, shape);
    Problems problems;
    FadtInfo info;
    ASSERT_TRUE(parse_fadt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems))
        << "revision " << int(shape.revision);
    EXPECT_TRUE(info.pm_timer.present) << int(shape.revision);
    EXPECT_TRUE(info.pm_timer.io) << int(shape.revision);
    EXPECT_EQ(info.pm_timer.address, 0xb008u) << int(shape.revision);
    EXPECT_TRUE(info.pm_timer.is_32bit) << int(shape.revision);
    EXPECT_EQ(problems.count, 0u);
  }
}

TEST(Acpi, FadtXPmTmrBlkPastTheTableEndIsIgnored) {
  // The X_ block is filled in but lies beyond the table's length: a short
  // table (revision 1 or 2) has no such field, whatever the bytes after it.
  Fadt f{};
  f.pm_tmr_blk = 0xb008;
  f.pm_tmr_len = 4;
  f.x_pm_tmr_blk = Gas{kSystemIo, 32, 0, 3, 0x608};
  for (const FadtShape& shape : kFadtShapes) {
    const std::vector<uint8_t> t = fadt_rev(f, shape);
    Problems problems;
    FadtInfo info;
    ASSERT_TRUE(parse_fadt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
    const bool has_x = shape.length > __builtin_offsetof(Fadt, x_pm_tmr_blk) + sizeof(Gas) - 1;
    EXPECT_EQ(info.pm_timer.address, has_x ? 0x608u : 0xb008u) << int(shape.revision);
  }
}

TEST(Acpi, FadtUnusableXPmTmrBlkFallsBackToLegacy) {
  Fadt f{};
  f.pm_tmr_blk = 0xb008;
  f.pm_tmr_len = 4;
  const Gas unusable[] = {
      Gas{kPciConfig, 32, 0, 3, 0x608},  // not a space the timer code reads
      Gas{0x7f, 32, 0, 3, 0x608},        // functional fixed hardware
      Gas{kSystemIo, 8, 0, 1, 0x608},    // 8 bits cannot hold the counter
  };
  for (const Gas& g : unusable) {
    f.x_pm_tmr_blk = g;
    const std::vector<uint8_t> t = fadt(f, sizeof(Fadt));
    Problems problems;
    FadtInfo info;
    ASSERT_TRUE(parse_fadt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
    EXPECT_TRUE(info.pm_timer.present);
    EXPECT_TRUE(info.pm_timer.io);
    EXPECT_EQ(info.pm_timer.address, 0xb008u) << int(g.space_id) << "/" << int(g.bit_width);
  }
  // No legacy block either: no timer, rather than one at a bogus address.
  f.pm_tmr_blk = 0;
  f.x_pm_tmr_blk = unusable[0];
  const std::vector<uint8_t> t = fadt(f, sizeof(Fadt));
  Problems problems;
  FadtInfo info;
  ASSERT_TRUE(parse_fadt(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
  EXPECT_FALSE(info.pm_timer.present);
}

TEST(Acpi, MadtWithoutOverridesRoutesIsaIrqsIdentically) {
  const std::vector<uint8_t> t = madt_without_overrides();
  Problems problems;
  MadtInfo madt;
  ASSERT_TRUE(parse_madt(reinterpret_cast<const SdtHeader*>(t.data()), &madt, &problems));
  ASSERT_EQ(madt.override_count, 0u);
  ASSERT_EQ(madt.ioapic_count, 1u);
  for (uint8_t irq : {0, 1, 8, 9, 15}) {
    const IsaRoute r = isa_route(&madt, irq);
    EXPECT_EQ(r.gsi, irq);
    EXPECT_FALSE(r.overridden);
    EXPECT_FALSE(r.active_low);
    EXPECT_FALSE(r.level);
  }
  // No MADT at all: the same.
  EXPECT_EQ(isa_route(nullptr, 4).gsi, 4u);

  // With QEMU's overrides: IRQ 0 on GSI 2, IRQ 9 level and active high.
  const std::vector<uint8_t> q = table(
      "APIC", madt_body({entry(MadtInterruptOverride{{2, 10}, 0, 0, 2, 0}),
                         entry(MadtInterruptOverride{{2, 10}, 0, 9, 9, 0xd})}));
  ASSERT_TRUE(parse_madt(reinterpret_cast<const SdtHeader*>(q.data()), &madt, &problems));
  EXPECT_EQ(isa_route(&madt, 0).gsi, 2u);
  EXPECT_TRUE(isa_route(&madt, 0).overridden);
  EXPECT_TRUE(isa_route(&madt, 9).level);
  EXPECT_FALSE(isa_route(&madt, 9).active_low);
  EXPECT_FALSE(isa_route(&madt, 1).overridden);
}

TEST(Acpi, HpetBlockOutsideMemorySpaceIsNotUsed) {
  std::vector<uint8_t> body;
  append(body, uint32_t{0x8086a201});
  append(body, Gas{kSystemIo, 64, 0, 0, 0xfed00000});
  append(body, uint8_t{0});
  append(body, uint16_t{0x80});
  append(body, uint8_t{0});
  const std::vector<uint8_t> t = table("HPET", body);
  Problems problems;
  HpetInfo info;
  ASSERT_TRUE(parse_hpet(reinterpret_cast<const SdtHeader*>(t.data()), &info, &problems));
  EXPECT_EQ(info.address, 0u);
}

TEST(Acpi, ProblemListBounded) {
  Problems problems;
  for (int i = 0; i < 40; ++i) problems.add(ProblemKind::bad_checksum, "TEST", PhysAddr(), 0);
  EXPECT_EQ(problems.count, Problems::kMax);
  EXPECT_EQ(problems.dropped, 8u);
}

}  // namespace
