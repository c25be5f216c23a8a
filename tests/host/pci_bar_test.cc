// decode_bar and the NVMe CMB fields: the pure halves of BAR sizing and
// CMB discovery.
#include <gtest/gtest.h>

#include "pci/bar.h"
#include "pci/nvme.h"

using pci::decode_bar;

TEST(DecodeBar, Memory32) {
  pci::Bar b = decode_bar(0xfebf1000, 0, 0xfffff000, 0);
  EXPECT_FALSE(b.io);
  EXPECT_FALSE(b.is64);
  EXPECT_EQ(b.base, 0xfebf1000u);
  EXPECT_EQ(b.size, 0x1000u);
}

TEST(DecodeBar, Memory64Prefetchable) {
  // 1 MiB, 64-bit prefetchable, above 4 GiB.
  pci::Bar b = decode_bar(0x0000000c, 0x8, 0xfff0000c, 0xffffffff);
  EXPECT_TRUE(b.is64);
  EXPECT_TRUE(b.prefetchable);
  EXPECT_EQ(b.base, 0x800000000ull);
  EXPECT_EQ(b.size, 1ull << 20);
}

TEST(DecodeBar, Memory64Huge) {
  pci::Bar b = decode_bar(0x0000000c, 0x10, 0x0000000c, 0xfffffff0);
  EXPECT_EQ(b.base, 0x1000000000ull);
  EXPECT_EQ(b.size, 1ull << 36);
}

TEST(DecodeBar, Io) {
  pci::Bar b = decode_bar(0xc041, 0, 0xffffffe1, 0);
  EXPECT_TRUE(b.io);
  EXPECT_EQ(b.base, 0xc040u);
  EXPECT_EQ(b.size, 0x20u);
  // Upper 16 bits hardwired to zero.
  b = decode_bar(0xc041, 0, 0x0000ffe1, 0);
  EXPECT_EQ(b.size, 0x20u);
}

TEST(DecodeBar, Unimplemented) {
  EXPECT_EQ(decode_bar(0, 0, 0, 0).size, 0u);
  EXPECT_EQ(decode_bar(0x4, 0, 0x4, 0).size, 0u);
}

TEST(NvmeCmb, SizeAndOffset) {
  // SZU = 2 (1 MiB units), SZ = 1; BIR 2, OFST 0.
  const uint32_t cmbsz = (1u << 12) | (2u << 8) | 0x1f;
  EXPECT_EQ(pci::nvme::cmb_size(cmbsz), 1ull << 20);
  EXPECT_EQ(pci::nvme::cmbloc_bir(2), 2u);
  EXPECT_EQ(pci::nvme::cmb_offset((3u << 12) | 2, cmbsz), 3ull << 20);
  // SZU = 0: 4 KiB units.
  EXPECT_EQ(pci::nvme::cmb_size((16u << 12) | 0x1f), 64ull << 10);
}
