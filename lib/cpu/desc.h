// Our GDT, TSS and IDT (boot phase 5), replacing the firmware's.
//
// GDT layout (selectors):
//   0x08 kernel code (64-bit)     0x10 kernel data
//   0x18 user code (32-bit)       0x20 user data      0x28 user code (64-bit)
//   0x30-0x48    four spare slots tests may fill (set_test_descriptor)
//   0x50 + 16*n  TSS of CPU n (a 16-byte system descriptor)
// The user selectors are in the order SYSRET expects (AMD APM vol.2 §6.1.1).
// All 256 IDT vectors point at lib/cpu/isr.S stubs. #DF, NMI and #MC run on
// their own IST stacks so that a broken RSP still produces a report.
#pragma once

#include <cstdint>

namespace desc {

constexpr uint16_t kKernelCs = 0x08;
constexpr uint16_t kKernelDs = 0x10;
constexpr uint16_t kUserCs32 = 0x18 | 3;
constexpr uint16_t kUserDs = 0x20 | 3;
constexpr uint16_t kUserCs = 0x28 | 3;
constexpr uint16_t kTestSlotBase = 0x30;
constexpr unsigned kTestSlots = 4;
constexpr uint16_t kTssBase = 0x50;
constexpr unsigned kMaxCpus = 256;
constexpr uint16_t tss_selector(unsigned cpu) { return kTssBase + 16 * cpu; }

// IST slots (1-based, as in the IDT gate).
constexpr unsigned kIstDoubleFault = 1;
constexpr unsigned kIstNmi = 2;
constexpr unsigned kIstMachineCheck = 3;
constexpr unsigned kIstStackSize = 16384;
// Slots the framework leaves free for tests, and the highest slot (the TSS
// has seven, Intel SDM vol.3 §7.7, Figure 7-11).
constexpr unsigned kIstFirstFree = 4;
constexpr unsigned kIstLast = 7;

struct [[gnu::packed]] Tss {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3;
  uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

struct [[gnu::packed]] DescriptorPointer {
  uint16_t limit;
  uint64_t base;
};

// Loads the GDT and reloads every segment register; loads the TSS of `cpu`,
// whose IST stacks and RSP0 are given. FS and GS get the null selector,
// which clears their bases on Intel CPUs: per-CPU data (lib/smp/percpu.h)
// must be installed again afterwards.
void load_gdt_and_tss(unsigned cpu, Tss* tss);
// Fills and loads the IDT (shared by all CPUs).
void load_idt();
// Loads the already-filled IDT on the calling CPU (APs at bring-up).
void load_idt_this_cpu();
// Sets the DPL of a gate (3 lets CPL3 code raise it with INT n).
void set_gate_dpl(unsigned vector, unsigned dpl);
// Sets the IST slot of a gate (0 = none).
void set_gate_ist(unsigned vector, unsigned ist);
// Marks a gate present or not (a not-present gate raises #NP when used).
void set_gate_present(unsigned vector, bool present);
// The gate's current IST slot, DPL and present bit (to put them back).
unsigned gate_ist(unsigned vector);
unsigned gate_dpl(unsigned vector);
bool gate_present(unsigned vector);

// Writes spare GDT slot `slot` (< kTestSlots); returns its selector.
uint16_t set_test_descriptor(unsigned slot, uint64_t descriptor);
// What spare slot `slot` holds now.
uint64_t test_descriptor(unsigned slot);
// Raw descriptor values for tests (Intel SDM vol.3 §3.4.5).
constexpr uint64_t kDescPresent = 1ull << 47;
constexpr uint64_t kDescDpl3 = 3ull << 45;
constexpr uint64_t kDescFlatData = 0x00cf93000000ffffull;  // present, writable, 4 GiB
constexpr uint64_t kDescCode64 = 0x00af9b000000ffffull;    // present, readable, 64-bit (L)

// An LDT descriptor for IA-32e mode: a 16-byte system descriptor, type 2
// (Intel SDM vol.3 §3.5 table 3-2, §7.2.3 figure 7-4; AMD APM vol.2
// §4.8.3). It takes two consecutive spare slots: `low` in the first,
// `high` (base 63:32) in the second.
constexpr uint64_t kDescTypeLdt = 0x2ull << 40;
constexpr uint64_t ldt_descriptor_low(uint64_t base, uint32_t limit) {
  return (limit & 0xffffull) | (base & 0xffffffull) << 16 | kDescTypeLdt | kDescPresent |
         uint64_t(limit >> 16 & 0xf) << 48 | (base >> 24 & 0xff) << 56;
}
constexpr uint64_t ldt_descriptor_high(uint64_t base) { return base >> 32; }

// Selector fields (SDM vol.3 §3.4.2): RPL in bits 1:0, TI in bit 2. The
// error code of a fault that names a segment (SDM vol.3 §6.13) carries the
// index and TI, with EXT and IDT in bits 0 and 1 where RPL was.
constexpr uint16_t kSelectorRplMask = 3;
constexpr uint16_t kSelectorTi = 1u << 2;
constexpr uint32_t selector_error_code(uint16_t selector) {
  return selector & ~uint32_t(kSelectorRplMask);
}

// The BSP's TSS, with its IST stacks, set up by boot.
Tss* bsp_tss();

}  // namespace desc
