// The mode-switch trampoline's portable part (lib/cpu/modeswitch_layout.h):
// real-mode far pointers, IVT entries, segment descriptors, the GDT the
// trampoline runs with, and the far jump that ends a snippet.
#include "cpu/modeswitch_layout.h"

#include <gtest/gtest.h>

#include <cstring>

namespace modeswitch {
namespace {

TEST(FarPtr16, LinearIsSegmentTimesSixteenPlusOffset) {
  EXPECT_EQ(linear({0x0000, 0x0000}), 0x00000u);
  EXPECT_EQ(linear({0x0010, 0x1234}), 0x12350u);
  EXPECT_EQ(linear({0xffff, 0xffff}), 0x10ffefu);  // beyond 1 MiB without A20 wrap
  // Aliases: the same byte through different segments.
  EXPECT_EQ(linear({0x0100, 0x0fff}), linear({0x0110, 0x0ffe}));
}

TEST(FarPtr16, ToFarNormalises) {
  FarPtr16 p{};
  ASSERT_TRUE(to_far(0x12345, &p));
  EXPECT_EQ(p, (FarPtr16{0x5, 0x1234}));
  ASSERT_TRUE(to_far(0x9f000, &p));
  EXPECT_EQ(p, (FarPtr16{0x0, 0x9f00}));
  ASSERT_TRUE(to_far(0x10ffef, &p));
  EXPECT_EQ(p, (FarPtr16{0xffff, 0xffff}));
  EXPECT_EQ(linear(p), 0x10ffefu);
  EXPECT_FALSE(to_far(0x10fff0, &p));
  for (uint32_t lin = 0; lin < 0x110000; lin += 0x1111) {
    if (!to_far(lin, &p)) continue;
    EXPECT_EQ(linear(p), lin);
  }
}

TEST(Ivt, EntryIsOffsetLowSegmentHigh) {
  EXPECT_EQ(ivt_entry({0x1234, 0xabcd}), 0xabcd1234u);
  EXPECT_EQ(from_ivt_entry(0xabcd1234u), (FarPtr16{0x1234, 0xabcd}));
}

TEST(Descriptor, KnownEncodings) {
  // The flat descriptors every x86 boot path uses.
  EXPECT_EQ(segment_descriptor(0, 0xfffff, seg::kCode, seg::kG | seg::kDB), 0x00cf9a000000ffffull);
  EXPECT_EQ(segment_descriptor(0, 0xfffff, seg::kData, seg::kG | seg::kDB), 0x00cf92000000ffffull);
  EXPECT_EQ(segment_descriptor(0, 0xfffff, seg::kCode, seg::kG | seg::kL), 0x00af9a000000ffffull);
  const uint64_t d = segment_descriptor(0x12345678, 0xabcde, seg::kData, 0);
  EXPECT_EQ(descriptor_base(d), 0x12345678u);
  EXPECT_EQ(descriptor_limit(d), 0xabcdeu);
  EXPECT_EQ((d >> 40) & 0xff, seg::kData);
  EXPECT_EQ((d >> 52) & 0xf, 0u);
}

TEST(Descriptor, TrampolineGdt) {
  uint64_t gdt[8] = {};
  fill_gdt(gdt, 0x8f000);
  EXPECT_EQ(gdt[0], 0u);
  // 16-bit segments: based at the blob, byte-granular 64 KiB, D/B clear.
  for (unsigned sel : {MS_SEL_CODE16, MS_SEL_DATA16}) {
    EXPECT_EQ(descriptor_base(gdt[sel / 8]), 0x8f000u) << sel;
    EXPECT_EQ(descriptor_limit(gdt[sel / 8]), 0xffffu) << sel;
    EXPECT_EQ((gdt[sel / 8] >> 52) & 0xf, 0u) << sel;
  }
  // 64-bit code has L set and D clear (D must be 0 when L is 1).
  EXPECT_EQ((gdt[MS_SEL_CODE64 / 8] >> 53) & 3, 1u);
  EXPECT_EQ((gdt[MS_SEL_CODE32 / 8] >> 53) & 3, 2u);
  EXPECT_EQ(descriptor_base(gdt[MS_SEL_DATA / 8]), 0u);
}

TEST(Layout, FitsBelowOneMegabyte) {
  // Every 16-bit offset from the snippet segment stays in our pages.
  EXPECT_EQ(MS_SNIPPET % 16, 0);
  EXPECT_EQ(MS_SNIPPET + 0xffff, MS_LOW_PAGES * 4096 - 1);
  EXPECT_LE(MS_BLOB_MAX, MS_PARAMS);
  EXPECT_EQ(sizeof(Params), size_t(MS_P_SIZE));
  EXPECT_EQ(sizeof(RealRegs), size_t(MS_R_SIZE));
}

TEST(ExitJump, EncodesJmpPtr16) {
  uint8_t b[kExitJumpSize];
  encode_exit_jump(b, {0x0123, 0x8f00});
  const uint8_t want[] = {0xea, 0x23, 0x01, 0x00, 0x8f};
  EXPECT_EQ(std::memcmp(b, want, sizeof(want)), 0);
}

}  // namespace
}  // namespace modeswitch
