// The High Precision Event Timer (IA-PC HPET specification 1.0a): a main
// counter with a fixed period given in femtoseconds, and comparators that
// can raise interrupts through the I/O APIC (or, in legacy replacement
// mode, on ISA IRQ 0 and 8).
#pragma once

#include <cstdint>

namespace timer::hpet {

// Registers (HPET spec §2.3.1), offsets from the block's base.
namespace reg {
constexpr uint32_t kCapabilities = 0x000;
constexpr uint32_t kConfig = 0x010;
constexpr uint32_t kIntStatus = 0x020;
constexpr uint32_t kMainCounter = 0x0f0;
constexpr uint32_t timer_config(unsigned n) { return 0x100 + 0x20 * n; }
constexpr uint32_t timer_comparator(unsigned n) { return 0x108 + 0x20 * n; }
}  // namespace reg

// General capabilities (§2.3.4).
namespace cap {
constexpr uint64_t kCounter64 = 1ull << 13;
constexpr uint64_t kLegacyRoute = 1ull << 15;
constexpr unsigned kTimersShift = 8;   // number of timers minus one, 5 bits
constexpr unsigned kPeriodShift = 32;  // femtoseconds per tick
}  // namespace cap

// General configuration (§2.3.5).
namespace config {
constexpr uint64_t kEnable = 1ull << 0;
constexpr uint64_t kLegacyRoute = 1ull << 1;
}  // namespace config

// Timer N configuration and capabilities (§2.3.8).
namespace tconf {
constexpr uint64_t kLevel = 1ull << 1;      // Tn_INT_TYPE_CNF
constexpr uint64_t kIntEnable = 1ull << 2;  // Tn_INT_ENB_CNF
constexpr uint64_t kPeriodic = 1ull << 3;   // Tn_TYPE_CNF
constexpr uint64_t kPeriodicCap = 1ull << 4;
constexpr uint64_t kSize64Cap = 1ull << 5;
constexpr uint64_t kValueSet = 1ull << 6;
constexpr uint64_t kMode32 = 1ull << 8;
constexpr unsigned kRouteShift = 9;  // Tn_INT_ROUTE_CNF, 5 bits
constexpr uint64_t kRouteMask = 0x1full << kRouteShift;
constexpr uint64_t kFsbEnable = 1ull << 14;
constexpr unsigned kRouteCapShift = 32;  // Tn_INT_ROUTE_CAP: allowed I/O APIC inputs
}  // namespace tconf

// Takes the HPET at `address` (from the ACPI HPET table), checks that its
// period is plausible (§2.3.4: nonzero, at most 100 ns) and starts the main
// counter. False when there is none or it is unusable: address 0,
// misaligned, or above 4 GiB (the boot page tables map the device hole
// below 4 GiB only), or capabilities that read all ones.
bool init(uint64_t address);
bool present();
// Why present() is false.
const char* absent_reason();
uint64_t base();
uint64_t period_fs();
uint64_t frequency();  // Hz
unsigned timers();
bool counter_64bit();
uint64_t counter();

uint64_t read(uint32_t offset);
void write(uint32_t offset, uint64_t value);

}  // namespace timer::hpet
