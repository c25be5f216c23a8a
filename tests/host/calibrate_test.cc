// Clock arithmetic of lib/timer/calibrate.h.
#include "timer/calibrate.h"

#include <gtest/gtest.h>

namespace {

TEST(Calibrate, CounterDeltaWraps) {
  EXPECT_EQ(timer::counter_delta(10, 25, 24), 15u);
  EXPECT_EQ(timer::counter_delta(0xfffff0, 0x10, 24), 0x20u);
  EXPECT_EQ(timer::counter_delta(0xfffffff0u, 0x10, 32), 0x20u);
  EXPECT_EQ(timer::counter_delta(~0ull - 1, 3, 64), 5u);
  EXPECT_EQ(timer::counter_delta(5, 5, 24), 0u);
}

TEST(Calibrate, MulDivNeedsNoOverflowRoom) {
  EXPECT_EQ(timer::mul_div(6, 7, 2), 21u);
  // 2^40 * 2^40 / 2^50: the product does not fit in 64 bits.
  EXPECT_EQ(timer::mul_div(1ull << 40, 1ull << 40, 1ull << 50), 1ull << 30);
  EXPECT_EQ(timer::mul_div(3'000'000'000ull * 60, 1'000'000'000, 3'000'000'000ull),
            60'000'000'000ull);
  EXPECT_EQ(timer::mul_div(1, 1, 0), 0u);
  EXPECT_EQ(timer::mul_div(~0ull, ~0ull, 1), ~0ull);  // saturates
}

TEST(Calibrate, FrequencyFromReference) {
  // 10 ms of the PM timer (35795.45 ticks) while a 2 GHz TSC ran 20e6 ticks.
  const uint64_t hz = timer::frequency_from(20'000'000, 35795, 3'579'545);
  EXPECT_NEAR(static_cast<double>(hz), 2e9, 2e9 * 1e-4);
}

TEST(Calibrate, ScaleConvertsTicksToNs) {
  for (uint64_t hz : {1'000'000ull, 3'579'545ull, 1'000'000'000ull, 2'095'834'181ull,
                      5'000'000'000ull}) {
    const timer::Scale s = timer::make_scale(hz, 1'000'000'000);
    ASSERT_NE(s.mult, 0u) << hz;
    // One second of ticks is one second of ns, to a few parts per billion.
    EXPECT_NEAR(static_cast<double>(s.apply(hz)), 1e9, 10) << hz;
    // An hour does not overflow.
    EXPECT_NEAR(static_cast<double>(s.apply(hz * 3600)), 3.6e12, 3.6e12 * 1e-8) << hz;
  }
  EXPECT_EQ(timer::make_scale(0, 1'000'000'000).mult, 0u);
}

TEST(Calibrate, ScaleInverse) {
  const timer::Scale s = timer::make_scale(1'000'000'000, 2'000'000'000);
  EXPECT_EQ(s.apply(1000), 2000u);
}

TEST(Calibrate, MedianIgnoresOutliers) {
  uint64_t v[] = {100, 2, 101, 99, 5000};
  EXPECT_EQ(timer::median(v, 5), 100u);
  uint64_t one[] = {7};
  EXPECT_EQ(timer::median(one, 1), 7u);
  EXPECT_EQ(timer::median(nullptr, 0), 0u);
}

TEST(Calibrate, WithinPercent) {
  EXPECT_TRUE(timer::within_percent(125, 100, 25));
  EXPECT_TRUE(timer::within_percent(75, 100, 25));
  EXPECT_FALSE(timer::within_percent(126, 100, 25));
  EXPECT_FALSE(timer::within_percent(74, 100, 25));
  EXPECT_TRUE(timer::within_percent(3'579'545, 3'579'545, 0));
}

}  // namespace
