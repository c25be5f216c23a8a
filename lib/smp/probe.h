/*
 * The reset-state probe (lib/smp/probe.S): a position-independent real-mode
 * blob that a test copies to smp::start_page() and starts an offline AP on
 * with a SIPI. Its first instructions store what the AP holds on the first
 * instruction of the SIPI vector (real mode, CS = vector << 8, IP = 0:
 * Intel SDM vol.3 §9.4.4.1, Table 9-1; AMD APM vol.2 Table 14-1): the
 * general registers, the segment selectors, EFLAGS, CR0/2/3/4, DR0-3/6/7,
 * GDTR, IDTR, the x87 control word and the TSC, then the MSRs the caller
 * lists. It then enters 32-bit protected mode (paging off) to read the
 * physical addresses the caller lists (the xAPIC registers), bumps
 * `entries`, spins `spin` times bumping `heartbeat`, and halts with
 * interrupts off until the next INIT.
 *
 * The caller lists only MSRs and addresses that exist: a fault in the probe
 * goes through whatever the real-mode IVT holds. Shared with assembly,
 * hence plain defines.
 */
#ifndef SMP_PROBE_H
#define SMP_PROBE_H

#define PROBE_MAX_READS 16

/* Parameters, filled by the caller (PR_*). */
#define PR_GDT_LIMIT 0  /* u16: lgdt operand, limit */
#define PR_GDT_BASE 2   /* u32: lgdt operand, absolute base */
#define PR_PM_OFFSET 6  /* u32: far pointer to the 32-bit code */
#define PR_PM_SEL 10    /* u16 */
#define PR_SPIN 12      /* u32: heartbeat iterations before halting */
#define PR_NMSR 16      /* u32 */
#define PR_NMMIO 20     /* u32 */
#define PR_MSR 24       /* u32[PROBE_MAX_READS] */
#define PR_MMIO 88      /* u32[PROBE_MAX_READS]: physical addresses below 4 GiB */
#define PR_SIZE 152

/* What the AP stored (PS_*). */
#define PS_ENTRIES 0
#define PS_HEARTBEAT 4
#define PS_EAX 8
#define PS_EBX 12
#define PS_ECX 16
#define PS_EDX 20
#define PS_ESI 24
#define PS_EDI 28
#define PS_EBP 32
#define PS_ESP 36
#define PS_EFLAGS 40
#define PS_CR0 44
#define PS_CR2 48
#define PS_CR3 52
#define PS_CR4 56
#define PS_DR0 60
#define PS_DR1 64
#define PS_DR2 68
#define PS_DR3 72
#define PS_DR6 76
#define PS_DR7 80
#define PS_CS 84
#define PS_DS 86
#define PS_ES 88
#define PS_FS 90
#define PS_GS 92
#define PS_SS 94
#define PS_GDTR 96   /* u16 limit, u32 base */
#define PS_IDTR 102  /* u16 limit, u32 base */
#define PS_FPU_CW 108
#define PS_TSC 112
#define PS_MSR 120   /* u64[PROBE_MAX_READS] */
#define PS_MMIO 248  /* u32[PROBE_MAX_READS] */
#define PS_SIZE 312

#define PR_SEL_CODE32 0x08
#define PR_SEL_DATA32 0x10

#ifndef __ASSEMBLY__
#include <cstddef>
#include <cstdint>

#include "apic/apic.h"
#include "cpu/processor.h"
#include "cpu/regs.h"

namespace smp {

// What INIT leaves in the registers the probe records, as the AP sees it
// on the SIPI vector's first instruction (Intel SDM vol.3 Table 9-1;
// AMD APM vol.2 Table 14-1), and the local APIC's reset values, which INIT
// restores except for the APIC ID (SDM vol.3 §11.4.7.1, §11.4.7.3).
namespace after_init {
constexpr uint32_t kEflags = rflags::kFixed1;  // only the bit that reads as 1
// CR0: ET set, CD and NW as they were (Table 9-1 note 2), the rest clear;
// power-up sets CD and NW too.
constexpr uint32_t kCr0Kept = cpu::cr0::CD | cpu::cr0::NW;
constexpr uint32_t kCr0Set = cpu::cr0::ET;
constexpr uint32_t kCr0PowerUp = kCr0Set | kCr0Kept;
constexpr uint32_t kDr6 = 0xffff0ff0;
constexpr uint32_t kDr7 = 0x400;
constexpr uint16_t kTableLimit = 0xffff;  // GDTR, IDTR; base 0
constexpr uint32_t kApicSvr = 0xff;       // software-disabled, vector FFH
constexpr uint32_t kApicLvt = apic::lvt::kMasked;
}  // namespace after_init

struct [[gnu::packed]] ProbeParams {
  uint16_t gdt_limit;
  uint32_t gdt_base;
  uint32_t pm_offset;
  uint16_t pm_sel;
  uint32_t spin;
  uint32_t nmsr;
  uint32_t nmmio;
  uint32_t msr[PROBE_MAX_READS];
  uint32_t mmio[PROBE_MAX_READS];
};
static_assert(offsetof(ProbeParams, gdt_base) == PR_GDT_BASE);
static_assert(offsetof(ProbeParams, pm_offset) == PR_PM_OFFSET);
static_assert(offsetof(ProbeParams, pm_sel) == PR_PM_SEL);
static_assert(offsetof(ProbeParams, spin) == PR_SPIN);
static_assert(offsetof(ProbeParams, nmsr) == PR_NMSR);
static_assert(offsetof(ProbeParams, nmmio) == PR_NMMIO);
static_assert(offsetof(ProbeParams, msr) == PR_MSR);
static_assert(offsetof(ProbeParams, mmio) == PR_MMIO);
static_assert(sizeof(ProbeParams) == PR_SIZE);

struct [[gnu::packed]] TablePointer16 {
  uint16_t limit;
  uint32_t base;
};

struct [[gnu::packed]] ProbeState {
  uint32_t entries, heartbeat;  // read these with __atomic loads
  uint32_t eax, ebx, ecx, edx, esi, edi, ebp, esp;
  uint32_t eflags;
  uint32_t cr0, cr2, cr3, cr4;
  uint32_t dr0, dr1, dr2, dr3, dr6, dr7;
  uint16_t cs, ds, es, fs, gs, ss;
  TablePointer16 gdtr, idtr;
  uint16_t fpu_cw;
  uint16_t pad;
  uint64_t tsc;
  uint64_t msr[PROBE_MAX_READS];
  uint32_t mmio[PROBE_MAX_READS];
};
static_assert(offsetof(ProbeState, heartbeat) == PS_HEARTBEAT);
static_assert(offsetof(ProbeState, eax) == PS_EAX);
static_assert(offsetof(ProbeState, esp) == PS_ESP);
static_assert(offsetof(ProbeState, eflags) == PS_EFLAGS);
static_assert(offsetof(ProbeState, cr0) == PS_CR0);
static_assert(offsetof(ProbeState, cr4) == PS_CR4);
static_assert(offsetof(ProbeState, dr0) == PS_DR0);
static_assert(offsetof(ProbeState, dr6) == PS_DR6);
static_assert(offsetof(ProbeState, dr7) == PS_DR7);
static_assert(offsetof(ProbeState, cs) == PS_CS);
static_assert(offsetof(ProbeState, ss) == PS_SS);
static_assert(offsetof(ProbeState, gdtr) == PS_GDTR);
static_assert(offsetof(ProbeState, idtr) == PS_IDTR);
static_assert(offsetof(ProbeState, fpu_cw) == PS_FPU_CW);
static_assert(offsetof(ProbeState, tsc) == PS_TSC);
static_assert(offsetof(ProbeState, msr) == PS_MSR);
static_assert(offsetof(ProbeState, mmio) == PS_MMIO);
static_assert(sizeof(ProbeState) == PS_SIZE);

struct Probe {
  ProbeParams* params;
  ProbeState* state;
};

// Copies the probe to `page` (4 KiB aligned, below 1 MiB, identity-mapped
// and writable: smp::start_page() while a CPU is offline), fills the
// parameters that depend on where it lies and clears the rest: no reads,
// spin 0. The caller adds its reads, then clears or poisons the state.
Probe install_probe(uint64_t page);

}  // namespace smp

extern "C" const char smp_probe_start[], smp_probe_pm[], smp_probe_gdt[], smp_probe_gdt_end[],
    smp_probe_params[], smp_probe_state[], smp_probe_end[];
#endif

#endif
