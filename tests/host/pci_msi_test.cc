// Host tests of the pure parts of lib/pci/msi.h: the MSI capability
// layout (PCI Local Bus 3.0 §6.8.1) and the compatibility MSI format
// (Intel SDM vol.3 §11.11).
#include "pci/msi.h"

#include <gtest/gtest.h>

namespace {

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
