// The ACPI DMA Remapping Reporting table (Intel VT-d specification rev.
// 4.1 chapter 8): where the remapping units are and which devices each
// one covers. Portable; the guest reaches the table through
// acpi::tables()->find("DMAR").
//
// Contract: like the parsers of acpi/acpi.h, every read is bounded by the
// table's length; a structure whose length breaks the walk ends it and is
// recorded as acpi::ProblemKind::bad_entry; a full output list drops the
// rest and records list_full.
#pragma once

#include <cstddef>
#include <cstdint>

#include "acpi/acpi.h"

namespace iommu {

// §8.1 DMAR flags.
namespace dmar_flags {
constexpr uint8_t kIntrRemap = 1u << 0;
constexpr uint8_t kX2apicOptOut = 1u << 1;
constexpr uint8_t kDmaCtrlPlatformOptIn = 1u << 2;
}  // namespace dmar_flags

// §8.2 remapping structure types.
enum class DmarType : uint16_t { drhd = 0, rmrr = 1, atsr = 2, rhsa = 3, andd = 4, satc = 5 };

// §8.3.1 device scope entry types.
enum class ScopeType : uint8_t {
  pci_endpoint = 1,
  pci_subhierarchy = 2,
  ioapic = 3,
  hpet = 4,
  acpi_namespace = 5,
};

struct DeviceScope {
  ScopeType type;
  uint8_t enumeration_id;  // the I/O APIC or HPET number
  uint8_t start_bus;
  uint8_t path_len;        // (device, function) pairs in path
  uint8_t path[4][2];      // the first four hops
};

// §8.3 DMA Remapping Hardware Unit Definition.
struct Drhd {
  static constexpr size_t kMaxScopes = 16;
  bool include_pci_all;  // flags bit 0: every device of the segment not
                         // claimed by another unit's scope
  uint8_t size_log2;     // the register set spans 2^size 4 KiB pages
  uint16_t segment;
  uint64_t register_base;
  DeviceScope scopes[kMaxScopes];
  size_t scope_count;
};

struct DmarInfo {
  static constexpr size_t kMaxUnits = 8;
  uint8_t host_address_width;  // HAW: the platform's DMA width is HAW + 1 bits
  uint8_t flags;
  Drhd units[kMaxUnits];
  size_t unit_count;
  size_t rmrr_count;  // reserved memory regions (§8.4), counted only
};

// §8.1: the fixed part before the remapping structures.
constexpr size_t kDmarHeaderSize = 48;

// False when `dmar` is too short to be a DMAR.
bool parse_dmar(const acpi::SdtHeader* dmar, DmarInfo* out, acpi::Problems* problems);

// The unit that translates requests of bus:device.function on `segment`
// (§8.3: an explicit endpoint scope wins over INCLUDE_PCI_ALL), or
// nullptr. Only single-hop paths (devices on the start bus) are matched.
const Drhd* unit_for(const DmarInfo& info, uint16_t segment, uint8_t bus, uint8_t device,
                     uint8_t function);

}  // namespace iommu
