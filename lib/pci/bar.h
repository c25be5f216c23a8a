// PCI base address registers: sizing, decoding and mapping (PCI Local Bus
// 3.0 §6.2.5.1 "Address Maps"), and finding a function by class code
// (§6.2.1, appendix D).
//
// Sizing writes all ones to a BAR and reads back which address bits stick;
// memory and I/O decoding are off in the Command register meanwhile, so
// the device never answers at the all-ones address, and the BAR and the
// Command register are put back afterwards. decode_bar() is the pure half,
// host-tested. map_bar() turns memory decoding on and makes the range
// reachable through the live page table, identity-mapped and uncached
// (the boot tables map only what the memory map and ACPI describe, and a
// firmware may place 64-bit BARs above everything they cover).
#pragma once

#include <cstdint>

#include "pci/pci.h"

namespace pci {

namespace cfg {
constexpr uint16_t kBar0 = 0x10;
constexpr unsigned kBarCount = 6;  // type-0 header
constexpr uint16_t kCommandIo = 1u << 0;
constexpr uint16_t kCommandMemory = 1u << 1;
constexpr uint16_t kCommandBusMaster = 1u << 2;
}  // namespace cfg

// BAR register bits (§6.2.5.1, figures 6-5 and 6-6).
namespace bar_bits {
constexpr uint32_t kIo = 1u << 0;
constexpr uint32_t kMemTypeMask = 3u << 1;
constexpr uint32_t kMemType64 = 2u << 1;
constexpr uint32_t kPrefetchable = 1u << 3;
constexpr uint32_t kMemAddrMask = ~0xfu;
constexpr uint32_t kIoAddrMask = ~0x3u;
}  // namespace bar_bits

struct Bar {
  uint64_t base = 0;
  uint64_t size = 0;  // 0: the BAR is not implemented
  bool io = false;
  bool is64 = false;  // takes this register and the next
  bool prefetchable = false;
};

// From the register values as found (lo, and hi for the upper half of a
// 64-bit BAR, else 0) and as read back after writing all ones (mask_lo,
// mask_hi; for a 64-bit BAR the upper half was written with ones too).
// An I/O BAR's upper 16 bits may read back as zero (§6.2.5.1).
constexpr Bar decode_bar(uint32_t lo, uint32_t hi, uint32_t mask_lo, uint32_t mask_hi) {
  Bar b;
  if (lo & bar_bits::kIo) {
    b.io = true;
    b.base = lo & bar_bits::kIoAddrMask;
    uint32_t m = mask_lo & bar_bits::kIoAddrMask;
    if (m == 0) return Bar{};
    if (!(m & 0xffff0000u)) m |= 0xffff0000u;
    b.size = uint32_t(~m + 1);
    return b;
  }
  b.is64 = (lo & bar_bits::kMemTypeMask) == bar_bits::kMemType64;
  b.prefetchable = lo & bar_bits::kPrefetchable;
  uint64_t base = lo & bar_bits::kMemAddrMask;
  uint64_t m = mask_lo & bar_bits::kMemAddrMask;
  if (b.is64) {
    base |= uint64_t(hi) << 32;
    m |= uint64_t(mask_hi) << 32;
  } else {
    m |= 0xffffffff00000000ull;
  }
  if ((m & 0xffffffffull) == 0 && (!b.is64 || mask_hi == 0)) return Bar{};
  b.base = base;
  b.size = ~m + 1;
  return b;
}

// BAR `index` (0-5) of a type-0 function, sized. A 64-bit BAR at index i
// also occupies i + 1.
Bar read_bar(Bdf f, unsigned index);

// The first function of segment 0 whose class code is base:sub:prog_if.
bool find_class(uint8_t base, uint8_t sub, uint8_t prog_if, Bdf* out);

// Turns on memory decoding and maps [b.base, b.base + b.size) at the same
// virtual address, uncached, where it is not mapped yet. Returns the
// pointer, or nullptr for an I/O or absent BAR or when mapping failed.
volatile void* map_bar(Bdf f, const Bar& b);

}  // namespace pci
