#include "cpu/desc.h"

#include "cpu/backtrace.h"
#include "cpu/exceptions.h"

namespace desc {
namespace {

// Segment descriptor bits (Intel SDM vol.3 §3.4.5, AMD APM vol.2 §4.8).
constexpr uint64_t kAccessed = 1ull << 40;
constexpr uint64_t kWritableOrReadable = 1ull << 41;
constexpr uint64_t kExecutable = 1ull << 43;
constexpr uint64_t kCodeOrData = 1ull << 44;
constexpr uint64_t kDpl3 = 3ull << 45;
constexpr uint64_t kPresent = 1ull << 47;
constexpr uint64_t kLongMode = 1ull << 53;
constexpr uint64_t kDefault32 = 1ull << 54;
constexpr uint64_t kGranularity4K = 1ull << 55;
constexpr uint64_t kLimitMax = 0xffffull | 0xfull << 48;

constexpr uint64_t kCode64 = kPresent | kCodeOrData | kExecutable | kWritableOrReadable |
                             kAccessed | kLongMode | kGranularity4K | kLimitMax;
constexpr uint64_t kData = kPresent | kCodeOrData | kWritableOrReadable | kAccessed |
                           kDefault32 | kGranularity4K | kLimitMax;
constexpr uint64_t kCode32 = kPresent | kCodeOrData | kExecutable | kWritableOrReadable |
                             kAccessed | kDefault32 | kGranularity4K | kLimitMax;
constexpr uint64_t kTssAvailable64 = 0x9ull << 40;

constexpr unsigned kGdtEntries = kTssBase / 8 + 2 * kMaxCpus;

alignas(16) constinit uint64_t gdt[kGdtEntries] = {
    0,
    kCode64,
    kData,
    kCode32 | kDpl3,
    kData | kDpl3,
    kCode64 | kDpl3,
};

struct [[gnu::packed]] Gate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type_attr;
  uint16_t offset_mid;
  uint32_t offset_high;
  uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

// Present, 64-bit interrupt gate (type 0xE): IF is cleared on entry, so a
// handler is never interrupted before it chooses to be.
constexpr uint8_t kInterruptGate = 0x8e;

alignas(16) constinit Gate idt[256] = {};

alignas(16) constinit Tss bsp_tss_storage = {};
alignas(16) constinit uint8_t bsp_ist_stacks[3][kIstStackSize] = {};
alignas(16) constinit uint8_t bsp_ring0_stack[kIstStackSize] = {};

}  // namespace

extern "C" char isr_stubs[];

Tss* bsp_tss() {
  Tss* t = &bsp_tss_storage;
  if (t->iomap_base == 0) {
    t->ist[kIstDoubleFault - 1] = reinterpret_cast<uint64_t>(bsp_ist_stacks[0] + kIstStackSize);
    t->ist[kIstNmi - 1] = reinterpret_cast<uint64_t>(bsp_ist_stacks[1] + kIstStackSize);
    t->ist[kIstMachineCheck - 1] = reinterpret_cast<uint64_t>(bsp_ist_stacks[2] + kIstStackSize);
    t->rsp[0] = reinterpret_cast<uint64_t>(bsp_ring0_stack + kIstStackSize);
    // No I/O permission bitmap: the base points past the TSS limit.
    t->iomap_base = sizeof(Tss);
    for (auto& s : bsp_ist_stacks) register_stack(s, s + kIstStackSize);
    register_stack(bsp_ring0_stack, bsp_ring0_stack + kIstStackSize);
  }
  return t;
}

void load_gdt_and_tss(unsigned cpu, Tss* tss) {
  const uint64_t base = reinterpret_cast<uint64_t>(tss);
  const uint64_t limit = sizeof(Tss) - 1;
  unsigned slot = tss_selector(cpu) / 8;
  gdt[slot] = (limit & 0xffff) | (base & 0xffffff) << 16 | kTssAvailable64 | kPresent |
              ((base >> 24) & 0xff) << 56;
  gdt[slot + 1] = base >> 32;

  DescriptorPointer p{sizeof(gdt) - 1, reinterpret_cast<uint64_t>(gdt)};
  asm volatile(
      "lgdt %[p]\n"
      "mov %[ds], %%ds\n"
      "mov %[ds], %%es\n"
      "mov %[ds], %%ss\n"
      "xor %%eax, %%eax\n"
      "mov %%eax, %%fs\n"
      "mov %%eax, %%gs\n"
      // A far return is the way to reload CS in 64-bit mode.
      "lea 1f(%%rip), %%rax\n"
      "pushq %[cs]\n"
      "pushq %%rax\n"
      "lretq\n"
      "1:\n"
      "ltr %[tr]\n"
      :
      : [p] "m"(p), [ds] "r"(uint32_t(kKernelDs)), [cs] "i"(kKernelCs),
        [tr] "r"(uint16_t(tss_selector(cpu)))
      : "rax", "memory");
}

void set_gate_dpl(unsigned vector, unsigned dpl) {
  idt[vector].type_attr = static_cast<uint8_t>((idt[vector].type_attr & ~0x60) | (dpl & 3) << 5);
}

void set_gate_ist(unsigned vector, unsigned ist) { idt[vector].ist = ist & 7; }

void set_gate_present(unsigned vector, bool present) {
  if (present)
    idt[vector].type_attr |= 0x80;
  else
    idt[vector].type_attr &= 0x7f;
}

unsigned gate_ist(unsigned vector) { return idt[vector & 0xff].ist & 7; }
unsigned gate_dpl(unsigned vector) { return (idt[vector & 0xff].type_attr >> 5) & 3; }
bool gate_present(unsigned vector) { return idt[vector & 0xff].type_attr & 0x80; }

uint64_t test_descriptor(unsigned slot) { return gdt[kTestSlotBase / 8 + (slot % kTestSlots)]; }

uint16_t set_test_descriptor(unsigned slot, uint64_t descriptor) {
  unsigned index = kTestSlotBase / 8 + (slot % kTestSlots);
  gdt[index] = descriptor;
  return static_cast<uint16_t>(index * 8);
}

void load_idt() {
  for (unsigned v = 0; v < 256; ++v) {
    uint64_t a = reinterpret_cast<uint64_t>(isr_stubs + 16 * v);
    idt[v] = Gate{static_cast<uint16_t>(a), kKernelCs, 0, kInterruptGate,
                  static_cast<uint16_t>(a >> 16), static_cast<uint32_t>(a >> 32), 0};
  }
  set_gate_ist(static_cast<unsigned>(Vec::DF), kIstDoubleFault);
  set_gate_ist(static_cast<unsigned>(Vec::NMI), kIstNmi);
  set_gate_ist(static_cast<unsigned>(Vec::MC), kIstMachineCheck);
  // INT3 and INTO from user mode are breakpoints tests may want to take.
  set_gate_dpl(static_cast<unsigned>(Vec::BP), 3);
  set_gate_dpl(static_cast<unsigned>(Vec::OF), 3);
  load_idt_this_cpu();
}

void load_idt_this_cpu() {
  DescriptorPointer p{sizeof(idt) - 1, reinterpret_cast<uint64_t>(idt)};
  asm volatile("lidt %0" ::"m"(p) : "memory");
}

}  // namespace desc
