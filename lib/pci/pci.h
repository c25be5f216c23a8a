// PCI configuration space: ECAM (PCI Express Base 5.0 §7.2.2) through the
// windows the ACPI MCFG lists, else configuration mechanism #1 on ports
// 0xCF8/0xCFC (PCI Local Bus 3.0 §3.2.2.3.2), which reaches only the first
// 256 bytes of each function of segment 0.
//
// Contract: init() picks the mechanism once; ECAM only when every MCFG
// window lies below 4 GiB, where the boot page tables map MMIO. Reads of an absent function
// return all ones, as the hardware does; so do reads beyond what the
// chosen mechanism reaches (offset >= 256 without ECAM, another segment).
// Writes there are dropped. Unaligned offsets are rounded down.
#pragma once

#include <cstdint>

#include "acpi/acpi.h"

namespace pci {

struct Bdf {
  uint16_t segment = 0;
  uint8_t bus = 0, device = 0, function = 0;
};

// Standard header offsets (PCI Local Bus 3.0 §6.1).
namespace cfg {
constexpr uint16_t kVendorId = 0x00;
constexpr uint16_t kDeviceId = 0x02;
constexpr uint16_t kCommand = 0x04;
constexpr uint16_t kStatus = 0x06;
constexpr uint16_t kClassRevision = 0x08;
constexpr uint16_t kHeaderType = 0x0e;
constexpr uint8_t kHeaderMultiFunction = 0x80;
}  // namespace cfg

enum class Mechanism : uint8_t { none, ecam, ports };
const char* mechanism_str(Mechanism m);

void init(const acpi::McfgInfo* mcfg);
Mechanism mechanism();

uint32_t read32(Bdf f, uint16_t offset);
uint16_t read16(Bdf f, uint16_t offset);
uint8_t read8(Bdf f, uint16_t offset);
void write32(Bdf f, uint16_t offset, uint32_t value);

// Port mechanism #1 regardless of the choice made at init (tests compare
// the two views).
uint32_t read32_ports(Bdf f, uint16_t offset);
// The ECAM address of a register, or 0 when no MCFG window covers it.
uint64_t ecam_address(Bdf f, uint16_t offset);

bool present(Bdf f);
// Calls fn(bdf) for every present function of segment 0; returns the count.
template <typename F>
unsigned for_each_function(F&& fn) {
  unsigned n = 0;
  for (unsigned bus = 0; bus < 256; ++bus)
    for (uint8_t dev = 0; dev < 32; ++dev) {
      Bdf f{0, static_cast<uint8_t>(bus), dev, 0};
      if (!present(f)) continue;
      const bool multi = read8(f, cfg::kHeaderType) & cfg::kHeaderMultiFunction;
      for (uint8_t fn_no = 0; fn_no < (multi ? 8 : 1); ++fn_no) {
        f.function = fn_no;
        if (!present(f)) continue;
        fn(f);
        ++n;
      }
    }
  return n;
}

}  // namespace pci
