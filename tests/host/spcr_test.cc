// Host tests of the SPCR parser over synthesized tables.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "acpi/acpi.h"

using namespace acpi;

namespace {

// An SPCR of `rev` with the given fields; length and checksum filled in.
std::vector<uint8_t> spcr(uint8_t rev, uint8_t type, Gas base, uint8_t baud,
                          uint32_t clock = 0, uint32_t precise = 0, uint32_t length = sizeof(Spcr)) {
  Spcr s{};
  std::memcpy(s.header.signature, "SPCR", 4);
  s.header.length = length;
  s.header.revision = rev;
  s.interface_type = type;
  s.base_address = base;
  s.baud_rate = baud;
  s.uart_clock_frequency = clock;
  s.precise_baud_rate = precise;
  std::vector<uint8_t> v(length, 0);
  std::memcpy(v.data(), &s, length < sizeof(s) ? length : sizeof(s));
  v[9] = static_cast<uint8_t>(-checksum(v.data(), v.size()));
  return v;
}

constexpr Gas kCom2 = {kSystemIo, 8, 0, 1, 0x2f8};
const SdtHeader* hdr(const std::vector<uint8_t>& v) {
  return reinterpret_cast<const SdtHeader*>(v.data());
}

TEST(Spcr, PortIo16550) {
  const auto t = spcr(2, spcr_interface::k16550, kCom2, spcr_baud::k115200, 0, 0, kSpcrMinLength);
  SerialConsole sc;
  Problems p;
  ASSERT_TRUE(parse_spcr(hdr(t), &sc, &p));
  EXPECT_TRUE(sc.usable);
  EXPECT_FALSE(sc.mmio);
  EXPECT_EQ(sc.address, 0x2f8u);
  EXPECT_EQ(sc.reg_width, 1);
  EXPECT_EQ(sc.reg_stride, 1);
  EXPECT_EQ(sc.baud, 115200u);
  EXPECT_EQ(sc.clock_hz, kUartDefaultClockHz);
  EXPECT_EQ(p.count, 0u);
}

TEST(Spcr, BaudCodes) {
  const struct {
    uint8_t code;
    uint32_t baud;
  } cases[] = {{spcr_baud::kAsIs, 0}, {spcr_baud::k9600, 9600}, {spcr_baud::k19200, 19200},
               {spcr_baud::k57600, 57600}, {spcr_baud::k115200, 115200}, {5, 0}, {0xff, 0}};
  for (const auto& c : cases) {
    const auto t = spcr(2, spcr_interface::k16550, kCom2, c.code);
    SerialConsole sc;
    Problems p;
    ASSERT_TRUE(parse_spcr(hdr(t), &sc, &p));
    EXPECT_EQ(sc.baud, c.baud) << "code " << int(c.code);
  }
}

TEST(Spcr, Mmio32WithClockAndPreciseBaud) {
  const Gas mmio = {kSystemMemory, 32, 0, 3, 0xfe030000};
  const auto t = spcr(4, spcr_interface::k16550Gas, mmio, spcr_baud::k115200, 48000000, 1500000);
  SerialConsole sc;
  Problems p;
  ASSERT_TRUE(parse_spcr(hdr(t), &sc, &p));
  EXPECT_TRUE(sc.usable);
  EXPECT_TRUE(sc.mmio);
  EXPECT_EQ(sc.address, 0xfe030000u);
  EXPECT_EQ(sc.reg_width, 4);
  EXPECT_EQ(sc.reg_stride, 4);
  EXPECT_EQ(sc.baud, 1500000u);
  EXPECT_EQ(sc.clock_hz, 48000000u);
}

TEST(Spcr, FieldsOfLaterRevisionsAreIgnoredInEarlierOnes) {
  const Gas mmio = {kSystemMemory, 8, 0, 1, 0xfe030000};
  const auto t = spcr(2, spcr_interface::k16550, mmio, spcr_baud::k9600, 48000000, 1500000);
  SerialConsole sc;
  Problems p;
  ASSERT_TRUE(parse_spcr(hdr(t), &sc, &p));
  EXPECT_EQ(sc.baud, 9600u);
  EXPECT_EQ(sc.clock_hz, kUartDefaultClockHz);
  EXPECT_EQ(sc.reg_width, 1);
}

TEST(Spcr, MmioWidthFromBitWidthWhenAccessSizeIsUndefined) {
  const Gas mmio = {kSystemMemory, 32, 0, 0, 0xfe030000};
  const auto t = spcr(2, spcr_interface::k16550, mmio, 0);
  SerialConsole sc;
  Problems p;
  ASSERT_TRUE(parse_spcr(hdr(t), &sc, &p));
  EXPECT_EQ(sc.reg_width, 4);
  EXPECT_EQ(sc.reg_stride, 4);
}

TEST(Spcr, UnusableUarts) {
  SerialConsole sc;
  Problems p;
  constexpr uint8_t kPl011 = 0x03;
  ASSERT_TRUE(parse_spcr(hdr(spcr(2, kPl011, kCom2, 0)), &sc, &p));
  EXPECT_FALSE(sc.usable);
  EXPECT_EQ(sc.interface_type, kPl011);
  const Gas none = {kSystemIo, 8, 0, 1, 0};
  ASSERT_TRUE(parse_spcr(hdr(spcr(2, spcr_interface::k16550, none, 0)), &sc, &p));
  EXPECT_FALSE(sc.usable) << "base address 0 means redirection is disabled";
  const Gas pci = {kPciConfig, 8, 0, 1, 0x1000};
  ASSERT_TRUE(parse_spcr(hdr(spcr(2, spcr_interface::k16550, pci, 0)), &sc, &p));
  EXPECT_FALSE(sc.usable);
  EXPECT_EQ(p.count, 0u);
}

TEST(Spcr, TooShort) {
  const auto t = spcr(2, spcr_interface::k16550, kCom2, 0, 0, 0, kSpcrMinLength - 4);
  SerialConsole sc;
  Problems p;
  EXPECT_FALSE(parse_spcr(hdr(t), &sc, &p));
  ASSERT_EQ(p.count, 1u);
  EXPECT_EQ(p.items[0].kind, ProblemKind::bad_length);
  EXPECT_FALSE(sc.usable);
}

}  // namespace
