// The local APIC in xAPIC (MMIO) and x2APIC (MSR) mode (Intel SDM vol.3
// ch.11 "Advanced Programmable Interrupt Controller"; AMD APM vol.2 §16).
//
// Contract:
//  - Every function acts on the local APIC of the calling CPU, in the mode
//    that CPU's APIC is in right now (read from IA32_APIC_BASE), so tests
//    may switch modes and keep using the same calls.
//  - Registers are named by their xAPIC MMIO offset; in x2APIC mode the MSR
//    is 0x800 + offset / 16 (SDM §11.12.1.2).
//  - init_this_cpu() is what platform bring-up does on every CPU: enable,
//    enter the system's mode, spurious vector kSpuriousVector, TPR 0, LINT0,
//    error and timer LVTs masked, LINT1 NMI on the BSP (masked on APs), ESR
//    cleared.
//  - Vectors kSpuriousVector and kWakeVector belong to the framework;
//    tests use the others.
#pragma once

#include <cstdint>

namespace apic {

constexpr uint8_t kSpuriousVector = 0xff;
constexpr uint8_t kWakeVector = 0xfe;  // lib/smp wakes idle CPUs with it

// IA32_APIC_BASE (SDM §11.4.4, §11.12.1).
namespace base_msr {
constexpr uint64_t kBsp = 1ull << 8;
constexpr uint64_t kExtd = 1ull << 10;    // x2APIC mode
constexpr uint64_t kEnable = 1ull << 11;  // xAPIC global enable
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;
}  // namespace base_msr

enum class Reg : uint32_t {
  id = 0x020,
  version = 0x030,
  tpr = 0x080,
  ppr = 0x0a0,
  eoi = 0x0b0,
  ldr = 0x0d0,
  dfr = 0x0e0,  // xAPIC only
  svr = 0x0f0,
  isr0 = 0x100,  // 8 registers, 16 bytes apart
  tmr0 = 0x180,
  irr0 = 0x200,
  esr = 0x280,
  lvt_cmci = 0x2f0,
  icr_low = 0x300,
  icr_high = 0x310,  // xAPIC only; x2APIC ICR is one 64-bit MSR
  lvt_timer = 0x320,
  lvt_thermal = 0x330,
  lvt_pmc = 0x340,
  lvt_lint0 = 0x350,
  lvt_lint1 = 0x360,
  lvt_error = 0x370,
  timer_initial = 0x380,
  timer_current = 0x390,
  timer_divide = 0x3e0,
  self_ipi = 0x3f0,  // x2APIC only
};

// Spurious-interrupt vector register (SDM §11.9).
namespace svr {
constexpr uint32_t kSoftwareEnable = 1u << 8;
constexpr uint32_t kFocusDisable = 1u << 9;
constexpr uint32_t kEoiBroadcastSuppress = 1u << 12;
}  // namespace svr

// Local vector table entries (SDM §11.5.1, Figure 11-8).
namespace lvt {
constexpr uint32_t kVectorMask = 0xff;
constexpr uint32_t kDeliveryNmi = 4u << 8;
constexpr uint32_t kDeliveryExtInt = 7u << 8;
constexpr uint32_t kPending = 1u << 12;
constexpr uint32_t kMasked = 1u << 16;
constexpr uint32_t kTimerOneShot = 0u << 17;
constexpr uint32_t kTimerPeriodic = 1u << 17;
constexpr uint32_t kTimerTscDeadline = 2u << 17;
constexpr uint32_t kTimerModeMask = 3u << 17;
}  // namespace lvt

// Interrupt command register (SDM §11.6.1, Figure 11-12).
namespace icr {
constexpr uint64_t kFixed = 0u << 8;
constexpr uint64_t kLowestPriority = 1u << 8;
constexpr uint64_t kSmi = 2u << 8;
constexpr uint64_t kNmi = 4u << 8;
constexpr uint64_t kInit = 5u << 8;
constexpr uint64_t kStartup = 6u << 8;
constexpr uint64_t kLogical = 1u << 11;
constexpr uint64_t kDeliveryPending = 1u << 12;  // xAPIC only
constexpr uint64_t kAssert = 1u << 14;
constexpr uint64_t kLevelTriggered = 1u << 15;
constexpr uint64_t kShorthandSelf = 1u << 18;
constexpr uint64_t kShorthandAll = 2u << 18;
constexpr uint64_t kShorthandAllButSelf = 3u << 18;
constexpr unsigned kXapicDestShift = 56;
constexpr unsigned kX2apicDestShift = 32;
}  // namespace icr

// Divide configuration register values (SDM §11.5.4, Figure 11-10).
enum class Divide : uint32_t {
  by1 = 0xb, by2 = 0x0, by4 = 0x1, by8 = 0x2, by16 = 0x3, by32 = 0x8, by64 = 0x9, by128 = 0xa,
};

enum class Mode : uint8_t { disabled, xapic, x2apic, invalid };
const char* mode_str(Mode m);

// The x2APIC registers' MSR range; outside x2APIC mode any access to it
// raises #GP (SDM §11.12.1.2).
constexpr uint32_t kMsrX2apicFirst = 0x800, kMsrX2apicLast = 0x8ff;
// The x2APIC MSR of the register at xAPIC offset `off`.
constexpr uint32_t x2apic_msr(uint32_t off) { return kMsrX2apicFirst + off / 16; }

// IA32_TSC_DEADLINE (SDM §11.5.4.1).
constexpr uint32_t kMsrTscDeadline = 0x6e0;

bool x2apic_supported();         // CPUID.1:ECX[21]
bool tsc_deadline_supported();   // CPUID.1:ECX[24]

Mode mode();
// Moves this CPU's APIC to `m` along the transitions the SDM allows
// (§11.12.5, Figure 11-27): x2APIC -> xAPIC goes through disabled. Leaving
// disabled resets the APIC's state, so the caller re-runs enable().
// Returns false when the CPU lacks x2APIC or the MSR write faulted.
bool set_mode(Mode m);
// Software-enables the APIC with the spurious vector (SVR).
void enable(uint8_t spurious = kSpuriousVector);
// init_this_cpu: see the contract above. `want_x2apic` is the system mode.
void init_this_cpu(bool want_x2apic);
// The mode platform bring-up chose for every CPU.
bool system_x2apic();
void set_system_x2apic(bool on);

uint32_t read(Reg r);
void write(Reg r, uint32_t v);
uint64_t xapic_base();

// The APIC ID: bits 31:24 of the ID register in xAPIC mode, all 32 bits in
// x2APIC mode (SDM §11.4.6, §11.12.5.1).
uint32_t id();
uint8_t version();
unsigned max_lvt();  // highest LVT index (version register bits 23:16)
void eoi();

// ISR/IRR/TMR bit of a vector.
bool in_service(uint8_t vector);
bool requested(uint8_t vector);
bool level_triggered(uint8_t vector);

// Sends an IPI: `dest` is an APIC ID (ignored with a shorthand), `cmd` the
// icr:: bits and vector. In xAPIC mode it waits for the previous IPI to
// leave (delivery status idle) first, for at most kIcrMaxPolls reads of the
// ICR; false when it never left, and then nothing is sent.
constexpr uint32_t kIcrMaxPolls = 1u << 20;
bool send_ipi(uint32_t dest, uint64_t cmd);
bool send_fixed(uint32_t dest, uint8_t vector);
bool send_nmi(uint32_t dest);
bool send_init(uint32_t dest);
bool send_startup(uint32_t dest, uint8_t page);  // SIPI vector: page number
bool send_self(uint8_t vector);                  // x2APIC SELF IPI or shorthand
bool send_all_but_self(uint8_t vector);
// True when an xAPIC IPI is still pending delivery (always false in x2APIC).
bool ipi_pending();

// The timer. Counts are in bus-clock ticks divided by `div`.
void timer_oneshot(uint8_t vector, uint32_t count, Divide div = Divide::by1);
void timer_periodic(uint8_t vector, uint32_t count, Divide div = Divide::by1);
// Arms the TSC-deadline timer for absolute TSC value `deadline`; 0 disarms.
void timer_tsc_deadline(uint8_t vector, uint64_t deadline);
void timer_stop();
uint32_t timer_current();

}  // namespace apic
