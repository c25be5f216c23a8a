#include "platform/detect.h"

#include <gtest/gtest.h>

namespace {

using platform::classify;

TEST(Detect, ClassifyFromCpuidAndSevStatus) {
  const uint32_t all = platform::kMemEncSev | platform::kMemEncSevEs | platform::kMemEncSevSnp;
  EXPECT_EQ(classify(0, 0, false), Platform::plain);
  EXPECT_EQ(classify(all, 0, false), Platform::plain);
  EXPECT_EQ(classify(all, platform::kSevStatusSev, false), Platform::sev);
  EXPECT_EQ(classify(all, platform::kSevStatusSev | platform::kSevStatusSevEs, false),
            Platform::sev_es);
  EXPECT_EQ(classify(all, 7, false), Platform::sev_snp);
  // A status bit CPUID does not back is not believed.
  EXPECT_EQ(classify(platform::kMemEncSev, 7, false), Platform::sev);
  EXPECT_EQ(classify(0, 7, false), Platform::plain);
  EXPECT_EQ(classify(0, 0, true), Platform::tdx);
}

TEST(Detect, TdxSignature) {
  EXPECT_TRUE(platform::is_tdx_signature(0x65746e49, 0x20202020, 0x5844546c));
  EXPECT_FALSE(platform::is_tdx_signature(0x65746e49, 0x5844546c, 0x20202020));
}

TEST(Detect, Masks) {
  BootInfo bi{};
  bi.detected.platform = Platform::sev_snp;
  bi.detected.sev_cbit = 51;
  EXPECT_EQ(platform::private_mask(bi), 1ull << 51);
  EXPECT_EQ(platform::shared_mask(bi), 0u);
  bi.detected.platform = Platform::tdx;
  bi.detected.tdx_shared_mask = 1ull << 47;
  EXPECT_EQ(platform::private_mask(bi), 0u);
  EXPECT_EQ(platform::shared_mask(bi), 1ull << 47);
}

}  // namespace
