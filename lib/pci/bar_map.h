// PCI base address registers: sizing, the command register bits that
// enable decoding and bus mastering, and mapping a memory BAR into the
// live page table (guest only; decode_bar is pure and host-tested).
//
// Sizing follows PCI Local Bus 3.0 §6.2.5.1: with decoding of the
// function disabled, write all ones, read back, restore. The low bits
// that read back 0 give the size; bit 0 tells I/O from memory, bits 2:1
// of a memory BAR say whether the next BAR holds the upper 32 bits.
//
// Contract: probe_bar() leaves the BAR and the command register as it
// found them; it never sizes a BAR while the function decodes memory or
// I/O, so a sized BAR cannot claim the address space for a moment.
#pragma once

#include <cstdint>

#include "pci/pci.h"

namespace pci {

constexpr uint16_t kBar0 = 0x10;
constexpr unsigned kBarCount = 6;

// §6.2.2 command register.
namespace command {
constexpr uint16_t kIoSpace = 1u << 0;
constexpr uint16_t kMemorySpace = 1u << 1;
constexpr uint16_t kBusMaster = 1u << 2;
constexpr uint16_t kIntxDisable = 1u << 10;
}  // namespace command

namespace bar_bits {
constexpr uint32_t kIo = 1u << 0;
constexpr uint32_t kTypeMask = 3u << 1;
constexpr uint32_t kType64 = 2u << 1;
constexpr uint32_t kPrefetchable = 1u << 3;
constexpr uint32_t kMemMask = ~0xfu;
constexpr uint32_t kIoMask = ~0x3u;
}  // namespace bar_bits

struct Bar {
  bool present = false;  // the BAR decodes something (size > 0)
  bool io = false;
  bool is64 = false;     // uses the next BAR for bits 63:32
  bool prefetchable = false;
  uint64_t base = 0;
  uint64_t size = 0;
};

// From the BAR's value and what it read back after all ones were written
// (and the same for the upper half of a 64-bit BAR; ignored otherwise).
constexpr Bar decode_bar(uint32_t value, uint32_t sized, uint32_t value_hi = 0,
                         uint32_t sized_hi = 0) {
  Bar b;
  if (value & bar_bits::kIo) {
    b.io = true;
    const uint32_t mask = sized & bar_bits::kIoMask & 0xffff;
    b.base = value & bar_bits::kIoMask;
    b.size = mask ? (~mask & 0xffff) + 1 : 0;
  } else {
    b.is64 = (value & bar_bits::kTypeMask) == bar_bits::kType64;
    b.prefetchable = value & bar_bits::kPrefetchable;
    uint64_t mask = sized & bar_bits::kMemMask;
    b.base = value & bar_bits::kMemMask;
    if (b.is64) {
      mask |= uint64_t(sized_hi) << 32;
      b.base |= uint64_t(value_hi) << 32;
    } else {
      mask |= 0xffffffff00000000ull;
    }
    mask &= ~0xfull;
    b.size = (sized & bar_bits::kMemMask) || (b.is64 && sized_hi) ? ~mask + 1 : 0;
  }
  b.present = b.size != 0;
  return b;
}

uint16_t read_command(Bdf f);
// Writes the command register and leaves the status register alone (its
// error bits are write-one-to-clear).
void write_command(Bdf f, uint16_t value);

// Sizes BAR `index` (0-5) of a type-0 header.
Bar probe_bar(Bdf f, unsigned index);

// Gives an unassigned 32-bit memory BAR an address: the lowest one
// aligned to its size that lies at or above `floor`, above every memory
// BAR of segment 0 that is already assigned there, and ends at or below
// `ceiling`. The caller picks floor and ceiling from what it knows of the
// platform's address map (above the MCFG windows, below the I/O APIC on a
// PC). Decoding stays as the caller left it. False when nothing fits.
bool place_bar(Bdf f, unsigned index, Bar* bar, uint64_t floor, uint64_t ceiling);

// Makes a memory BAR reachable at its physical address: the boot map
// already covers the 4 GiB below 4 GiB; a BAR above it is mapped
// uncached. False for an I/O or empty BAR, or when mapping fails.
bool map_bar(const Bar& bar);

}  // namespace pci
