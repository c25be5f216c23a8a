// PCI capabilities and Message Signalled Interrupts (PCI Local Bus 3.0
// §6.7 and §6.8.1). The layout decoding and the message encoding are pure
// and host-tested; the rest reads and writes configuration space.
//
// Contract: find_capability() walks at most 48 list entries (the most a
// 256-byte header can hold), so a looped list cannot hang it. program()
// writes the message with MSI disabled and leaves it disabled; enable()
// flips the enable bit only, with one message (MME 0).
#pragma once

#include <cstdint>

#include "pci/pci.h"

namespace pci {

constexpr uint16_t kStatusCapList = 1u << 4;  // in the status register
constexpr uint16_t kCapPointer = 0x34;
constexpr uint8_t kCapIdMsi = 0x05;

// §6.8.1.3 message control.
namespace msi_control {
constexpr uint16_t kEnable = 1u << 0;
constexpr uint16_t kMmeMask = 7u << 4;
constexpr uint16_t k64Bit = 1u << 7;
constexpr uint16_t kPerVectorMask = 1u << 8;
}  // namespace msi_control

// Register offsets from the capability's start.
struct MsiLayout {
  bool is64;
  bool maskable;
  uint8_t address_lo, address_hi, data, mask;  // 0: absent
};
constexpr MsiLayout msi_layout(uint16_t control) {
  const bool is64 = control & msi_control::k64Bit;
  const bool maskable = control & msi_control::kPerVectorMask;
  MsiLayout l{is64, maskable, 0x4, 0, 0, 0};
  l.address_hi = is64 ? 0x8 : 0;
  l.data = is64 ? 0xc : 0x8;
  l.mask = maskable ? (is64 ? 0x10 : 0xc) : 0;
  return l;
}

struct MsiMessage {
  uint64_t address;
  uint32_t data;
};

// The compatibility-format message of Intel SDM vol.3 §11.11.1 and
// §11.11.2: fixed delivery, edge triggered, physical destination.
constexpr MsiMessage msi_compat(uint8_t apic_id, uint8_t vector) {
  return MsiMessage{0xfee00000ull | uint64_t(apic_id) << 12, vector};
}

// The offset of the first capability with `id`, or 0.
uint8_t find_capability(Bdf f, uint8_t id);

struct Msi {
  Bdf function;
  uint8_t cap = 0;  // 0: none
  MsiLayout layout{};
};
// False when the function has no MSI capability.
bool find_msi(Bdf f, Msi* out);
// A 32-bit capability refuses an address above 4 GiB (false).
bool program(const Msi& m, MsiMessage msg);
void enable(const Msi& m, bool on);
bool enabled(const Msi& m);
MsiMessage programmed(const Msi& m);

}  // namespace pci
