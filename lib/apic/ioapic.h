// I/O APICs from the MADT (82093AA I/O APIC datasheet §3; ACPI 6.5
// §5.2.12.3 and §5.2.12.5 for the interrupt source overrides).
//
// Contract:
//  - init() takes every I/O APIC the MADT lists, reads its version and
//    number of redirection entries, masks every entry, and masks the legacy
//    8259 PICs so that only the APICs deliver interrupts.
//  - Interrupts are named by global system interrupt (GSI); isa_irq()
//    translates an ISA IRQ through the MADT's overrides, giving its GSI and
//    the polarity/trigger that the override (or the ISA default: active
//    high, edge) imposes.
#pragma once

#include <cstdint>

#include "acpi/acpi.h"

namespace ioapic {

// Indirect registers (datasheet §3.2).
namespace reg {
constexpr uint32_t kId = 0x00;
constexpr uint32_t kVersion = 0x01;
constexpr uint32_t kArbitration = 0x02;
constexpr uint32_t redirection_low(unsigned n) { return 0x10 + 2 * n; }
constexpr uint32_t redirection_high(unsigned n) { return 0x11 + 2 * n; }
}  // namespace reg

// A redirection table entry (datasheet §3.2.4), as named fields.
struct Redirection {
  uint8_t vector = 0;
  uint8_t delivery = 0;  // 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT
  bool logical = false;
  bool pending = false;      // delivery status (read-only)
  bool active_low = false;
  bool remote_irr = false;   // level-triggered: accepted, no EOI yet (read-only)
  bool level = false;
  bool masked = true;
  uint8_t dest = 0;          // APIC ID (physical) or logical set

  uint64_t encode() const;
  static Redirection decode(uint64_t raw);
};

struct Chip {
  uint8_t id;
  uint64_t address;
  uint32_t gsi_base;
  uint8_t version;
  unsigned entries;  // max redirection entry + 1
};

void init(const acpi::MadtInfo* madt);
unsigned count();
const Chip* chip(unsigned i);
// The chip serving `gsi`, with the entry index in *pin; nullptr if none.
const Chip* chip_for_gsi(uint32_t gsi, unsigned* pin);

uint32_t read(const Chip& c, uint32_t reg);
void write(const Chip& c, uint32_t reg, uint32_t value);

// False when no I/O APIC serves `gsi`.
bool set_redirection(uint32_t gsi, const Redirection& r);
bool get_redirection(uint32_t gsi, Redirection* out);
bool mask(uint32_t gsi, bool masked);

// ISA IRQ -> GSI with polarity and trigger mode, from the MADT's overrides
// (acpi::isa_route).
using IsaRoute = acpi::IsaRoute;
IsaRoute isa_irq(uint8_t irq);

// Masks both 8259 PICs (OCW1 to each data port).
void mask_legacy_pic();

}  // namespace ioapic
