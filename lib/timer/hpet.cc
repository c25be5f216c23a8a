#include "timer/hpet.h"

namespace timer::hpet {
namespace {

// §2.3.4: COUNTER_CLK_PERIOD is nonzero and at most 100 ns.
constexpr uint64_t kMaxPeriodFs = 100'000'000;
constexpr uint64_t kFsPerSecond = 1'000'000'000'000'000ull;

constinit uint64_t base_ = 0;
constinit uint64_t period = 0;
constinit unsigned ntimers = 0;
constinit bool wide = false;
constinit const char* why_absent = "no ACPI HPET table";

}  // namespace

uint64_t read(uint32_t offset) {
  return *reinterpret_cast<const volatile uint64_t*>(base_ + offset);
}

void write(uint32_t offset, uint64_t value) {
  *reinterpret_cast<volatile uint64_t*>(base_ + offset) = value;
}

bool init(uint64_t address) {
  base_ = 0;
  if (address == 0 || (address & 7) || address >= (1ull << 32)) {
    why_absent = "the HPET table gives a zero, misaligned or unmapped address";
    return false;
  }
  base_ = address;
  const uint64_t caps = read(reg::kCapabilities);
  const uint64_t p = caps >> cap::kPeriodShift;
  if (caps == ~0ull || p == 0 || p > kMaxPeriodFs) {
    why_absent = caps == ~0ull ? "its capabilities read all ones (no HPET there)"
                               : "its period is 0 or above 100 ns";
    base_ = 0;
    return false;
  }
  why_absent = nullptr;
  period = p;
  ntimers = ((caps >> cap::kTimersShift) & 0x1f) + 1;
  wide = caps & cap::kCounter64;
  // Interrupts stay off on every comparator until a test asks for one; the
  // main counter runs from now on (§2.3.5 ENABLE_CNF).
  for (unsigned n = 0; n < ntimers; ++n)
    write(reg::timer_config(n), read(reg::timer_config(n)) & ~tconf::kIntEnable);
  write(reg::kConfig, (read(reg::kConfig) & ~config::kLegacyRoute) | config::kEnable);
  return true;
}

bool present() { return base_ != 0; }
const char* absent_reason() { return why_absent; }
uint64_t base() { return base_; }
uint64_t period_fs() { return period; }
uint64_t frequency() { return period ? kFsPerSecond / period : 0; }
unsigned timers() { return ntimers; }
bool counter_64bit() { return wide; }
uint64_t counter() { return base_ ? read(reg::kMainCounter) : 0; }

}  // namespace timer::hpet
