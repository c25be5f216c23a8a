// Host tests of the pure parts of lib/pci/bar_map.h and lib/pci/msi.h:
// BAR decoding (PCI Local Bus 3.0 §6.2.5.1), the MSI capability layout
// (§6.8.1) and the compatibility MSI format (Intel SDM vol.3 §11.11).
#include <gtest/gtest.h>

#include "pci/bar_map.h"
#include "pci/msi.h"

namespace {

TEST(PciBar, Memory32) {
  const pci::Bar b = pci::decode_bar(0xc0000000, 0xfff00000);
  EXPECT_TRUE(b.present);
  EXPECT_FALSE(b.io || b.is64 || b.prefetchable);
  EXPECT_EQ(b.base, 0xc0000000u);
  EXPECT_EQ(b.size, 0x100000u);
}

TEST(PciBar, Memory64Prefetchable) {
  const pci::Bar b = pci::decode_bar(0x0000000c, 0xffffc00c, 0x1, 0xffffffff);
  EXPECT_TRUE(b.present && b.is64 && b.prefetchable);
  EXPECT_EQ(b.base, 0x100000000u);
  EXPECT_EQ(b.size, 0x4000u);
  // A 64-bit BAR larger than 4 GiB: the low half reads back all zeros.
  const pci::Bar big = pci::decode_bar(0x4, 0x4, 0x0, 0xfffffffe);
  EXPECT_TRUE(big.present);
  EXPECT_EQ(big.size, 0x200000000u);
}

TEST(PciBar, IoAndEmpty) {
  const pci::Bar io = pci::decode_bar(0xc001, 0xffffffe1);
  EXPECT_TRUE(io.present && io.io);
  EXPECT_EQ(io.base, 0xc000u);
  EXPECT_EQ(io.size, 0x20u);
  EXPECT_FALSE(pci::decode_bar(0, 0).present);
  EXPECT_FALSE(pci::decode_bar(0x1, 0x1).present);
}

TEST(PciMsi, Layouts) {
  const pci::MsiLayout l32 = pci::msi_layout(0x0000);
  EXPECT_FALSE(l32.is64 || l32.maskable);
  EXPECT_EQ(l32.address_lo, 4);
  EXPECT_EQ(l32.address_hi, 0);
  EXPECT_EQ(l32.data, 8);
  EXPECT_EQ(l32.mask, 0);
  const pci::MsiLayout l64 = pci::msi_layout(pci::msi_control::k64Bit);
  EXPECT_EQ(l64.address_hi, 8);
  EXPECT_EQ(l64.data, 0xc);
  const pci::MsiLayout m64 =
      pci::msi_layout(pci::msi_control::k64Bit | pci::msi_control::kPerVectorMask);
  EXPECT_EQ(m64.mask, 0x10);
  const pci::MsiLayout m32 = pci::msi_layout(pci::msi_control::kPerVectorMask);
  EXPECT_EQ(m32.mask, 0xc);
}

TEST(PciMsi, CompatibilityMessage) {
  const pci::MsiMessage m = pci::msi_compat(3, 0x41);
  EXPECT_EQ(m.address, 0xfee03000u);
  EXPECT_EQ(m.data, 0x41u);
}

}  // namespace
