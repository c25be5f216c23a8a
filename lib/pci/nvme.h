// NVM Express controller registers that locate the Controller Memory
// Buffer (NVMe Base Specification 1.4, §3.1 "Register Definition"):
// CAP.CMBS says the controller has one, CMBMSC.CRE makes CMBLOC and
// CMBSZ report it (§3.1.23; a 1.3-style controller reports them
// unconditionally), CMBLOC names the BAR and the offset in it, CMBSZ its
// size. The CMB is plain memory on the device's side: what the host
// writes there reads back (§8.7 "Controller Memory Buffer").
#pragma once

#include <cstdint>

namespace pci::nvme {

// Class code 01h:08h:02h, NVM Express I/O controller (PCI Code and ID
// Assignment 1.11, §1.2).
constexpr uint8_t kClassStorage = 0x01, kSubclassNvm = 0x08, kProgIfNvme = 0x02;

// Offsets in BAR0.
constexpr uint32_t kCap = 0x00;     // 64-bit
constexpr uint32_t kCmbloc = 0x38;  // 32-bit
constexpr uint32_t kCmbsz = 0x3c;   // 32-bit
constexpr uint32_t kCmbmsc = 0x50;  // 64-bit

constexpr uint64_t kCapCmbs = 1ull << 57;
constexpr uint64_t kCmbmscCre = 1ull << 0;

constexpr unsigned cmbloc_bir(uint32_t cmbloc) { return cmbloc & 7; }
// CMBLOC.OFST is in units of CMBSZ.SZU.
constexpr uint64_t cmb_unit(uint32_t cmbsz) { return 4096ull << (4 * ((cmbsz >> 8) & 0xf)); }
constexpr uint64_t cmb_size(uint32_t cmbsz) { return uint64_t(cmbsz >> 12) * cmb_unit(cmbsz); }
constexpr uint64_t cmb_offset(uint32_t cmbloc, uint32_t cmbsz) {
  return uint64_t(cmbloc >> 12) * cmb_unit(cmbsz);
}

}  // namespace pci::nvme
