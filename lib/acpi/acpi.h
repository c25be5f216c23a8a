// ACPI table discovery and parsers for what the framework needs: MADT (the
// CPUs and I/O APICs), FADT (PM timer, reset register), HPET and MCFG.
// Structure layouts follow ACPI 6.5; section numbers cite that version.
//
// Contract:
//  - Tables are reached only through Access::map, which returns a readable
//    pointer to `len` bytes at a physical address (the identity map in the
//    guest, a buffer in host tests) or nullptr.
//  - Nothing is trusted: every table's length and checksum is verified
//    before use, and a bad table is skipped and recorded in Problems, which
//    the caller prints. Parsers bound every read by the table's length.
//  - Tables are read with memcpy-style copies, so unaligned tables are fine.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/addr.h"

namespace acpi {

#pragma pack(push, 1)

// §5.2.5.3: 20 bytes in ACPI 1.0 (revision 0), 36 from 2.0 on.
struct Rsdp {
  char signature[8];  // "RSD PTR "
  uint8_t checksum;   // over the first 20 bytes
  char oem_id[6];
  uint8_t revision;
  uint32_t rsdt_address;
  uint32_t length;
  uint64_t xsdt_address;
  uint8_t extended_checksum;  // over `length` bytes
  uint8_t reserved[3];
};
static_assert(sizeof(Rsdp) == 36);
constexpr size_t kRsdpV1Size = 20;

// §5.2.6
struct SdtHeader {
  char signature[4];
  uint32_t length;
  uint8_t revision;
  uint8_t checksum;
  char oem_id[6];
  char oem_table_id[8];
  uint32_t oem_revision;
  uint32_t creator_id;
  uint32_t creator_revision;
};
static_assert(sizeof(SdtHeader) == 36);

// §5.2.3.2 Generic Address Structure.
struct Gas {
  uint8_t space_id;  // AddressSpace below
  uint8_t bit_width;
  uint8_t bit_offset;
  uint8_t access_size;
  uint64_t address;
};
static_assert(sizeof(Gas) == 12);

enum AddressSpace : uint8_t { kSystemMemory = 0, kSystemIo = 1, kPciConfig = 2 };

// §5.2.9 FADT, revision 6.5 layout; older tables are shorter and their
// missing fields read as zero.
struct Fadt {
  SdtHeader header;
  uint32_t firmware_ctrl;
  uint32_t dsdt;
  uint8_t reserved0;
  uint8_t preferred_pm_profile;
  uint16_t sci_int;
  uint32_t smi_cmd;
  uint8_t acpi_enable;
  uint8_t acpi_disable;
  uint8_t s4bios_req;
  uint8_t pstate_cnt;
  uint32_t pm1a_evt_blk;
  uint32_t pm1b_evt_blk;
  uint32_t pm1a_cnt_blk;
  uint32_t pm1b_cnt_blk;
  uint32_t pm2_cnt_blk;
  uint32_t pm_tmr_blk;
  uint32_t gpe0_blk;
  uint32_t gpe1_blk;
  uint8_t pm1_evt_len;
  uint8_t pm1_cnt_len;
  uint8_t pm2_cnt_len;
  uint8_t pm_tmr_len;
  uint8_t gpe0_blk_len;
  uint8_t gpe1_blk_len;
  uint8_t gpe1_base;
  uint8_t cst_cnt;
  uint16_t p_lvl2_lat;
  uint16_t p_lvl3_lat;
  uint16_t flush_size;
  uint16_t flush_stride;
  uint8_t duty_offset;
  uint8_t duty_width;
  uint8_t day_alrm;
  uint8_t mon_alrm;
  uint8_t century;
  uint16_t iapc_boot_arch;
  uint8_t reserved1;
  uint32_t flags;
  Gas reset_reg;
  uint8_t reset_value;
  uint16_t arm_boot_arch;
  uint8_t minor_version;
  uint64_t x_firmware_ctrl;
  uint64_t x_dsdt;
  Gas x_pm1a_evt_blk;
  Gas x_pm1b_evt_blk;
  Gas x_pm1a_cnt_blk;
  Gas x_pm1b_cnt_blk;
  Gas x_pm2_cnt_blk;
  Gas x_pm_tmr_blk;
  Gas x_gpe0_blk;
  Gas x_gpe1_blk;
  Gas sleep_control_reg;
  Gas sleep_status_reg;
  uint64_t hypervisor_vendor_id;
};
static_assert(sizeof(Fadt) == 276);
static_assert(__builtin_offsetof(Fadt, flags) == 112);
static_assert(__builtin_offsetof(Fadt, reset_reg) == 116);
static_assert(__builtin_offsetof(Fadt, x_pm_tmr_blk) == 208);

// §5.2.9 Table 5.10, FADT fixed feature flags.
namespace fadt_flags {
constexpr uint32_t kTmrValExt = 1u << 8;    // PM timer is 32 bits, not 24
constexpr uint32_t kResetRegSup = 1u << 10;
}  // namespace fadt_flags

// §5.2.12 MADT
struct Madt {
  SdtHeader header;
  uint32_t lapic_address;
  uint32_t flags;  // bit 0: PCAT_COMPAT (dual 8259s present)
};
static_assert(sizeof(Madt) == 44);

enum class MadtType : uint8_t {
  local_apic = 0,
  io_apic = 1,
  interrupt_override = 2,
  lapic_address_override = 5,
  local_x2apic = 9,
};

struct MadtEntry {
  uint8_t type;
  uint8_t length;
};

struct MadtLocalApic {  // §5.2.12.2
  MadtEntry entry;
  uint8_t processor_uid;
  uint8_t apic_id;
  uint32_t flags;
};
static_assert(sizeof(MadtLocalApic) == 8);

// §5.2.12.2 Table 5.23, shared by the x2APIC entry.
namespace lapic_flags {
constexpr uint32_t kEnabled = 1u << 0;
constexpr uint32_t kOnlineCapable = 1u << 1;  // may be enabled at runtime
}  // namespace lapic_flags

struct MadtIoApic {  // §5.2.12.3
  MadtEntry entry;
  uint8_t id;
  uint8_t reserved;
  uint32_t address;
  uint32_t gsi_base;
};
static_assert(sizeof(MadtIoApic) == 12);

struct MadtInterruptOverride {  // §5.2.12.5
  MadtEntry entry;
  uint8_t bus;
  uint8_t source;
  uint32_t gsi;
  uint16_t flags;  // MPS INTI flags: polarity bits 1:0, trigger mode 3:2
};
static_assert(sizeof(MadtInterruptOverride) == 10);

struct MadtLapicAddressOverride {  // §5.2.12.8
  MadtEntry entry;
  uint16_t reserved;
  uint64_t address;
};
static_assert(sizeof(MadtLapicAddressOverride) == 12);

struct MadtLocalX2Apic {  // §5.2.12.12
  MadtEntry entry;
  uint16_t reserved;
  uint32_t x2apic_id;
  uint32_t flags;
  uint32_t processor_uid;
};
static_assert(sizeof(MadtLocalX2Apic) == 16);

// IA-PC HPET specification 1.0a §3.2.4
struct Hpet {
  SdtHeader header;
  uint32_t event_timer_block_id;
  Gas base_address;
  uint8_t hpet_number;
  uint16_t min_tick;
  uint8_t page_protection;
};
static_assert(sizeof(Hpet) == 56);

// PCI Firmware specification 3.2 §4.1.2
struct Mcfg {
  SdtHeader header;
  uint64_t reserved;
};
static_assert(sizeof(Mcfg) == 44);

struct McfgAllocation {
  uint64_t base;
  uint16_t segment;
  uint8_t start_bus;
  uint8_t end_bus;
  uint32_t reserved;
};
static_assert(sizeof(McfgAllocation) == 16);

// Serial Port Console Redirection Table (Microsoft, SPCR revisions 2-4).
// Revision 1 and 2 tables end at offset 80; revision 3 gives the UART clock
// in what was reserved at 76, and revision 4 adds the precise baud rate and
// the namespace string.
struct Spcr {
  SdtHeader header;
  uint8_t interface_type;  // a DBG2 serial port subtype, spcr_interface below
  uint8_t reserved0[3];
  Gas base_address;  // 0: console redirection is disabled
  uint8_t interrupt_type;
  uint8_t irq;
  uint32_t gsi;
  uint8_t baud_rate;  // spcr_baud below
  uint8_t parity;
  uint8_t stop_bits;
  uint8_t flow_control;
  uint8_t terminal_type;
  uint8_t language;
  uint16_t pci_device_id;
  uint16_t pci_vendor_id;
  uint8_t pci_bus;
  uint8_t pci_device;
  uint8_t pci_function;
  uint32_t pci_flags;
  uint8_t pci_segment;
  uint32_t uart_clock_frequency;  // Hz, revision 3+; 0: not given
  uint32_t precise_baud_rate;     // revision 4+; 0: use baud_rate
  uint16_t namespace_string_length;
  uint16_t namespace_string_offset;
};
static_assert(sizeof(Spcr) == 88);
static_assert(__builtin_offsetof(Spcr, base_address) == 40);
static_assert(__builtin_offsetof(Spcr, baud_rate) == 58);
static_assert(__builtin_offsetof(Spcr, pci_device_id) == 64);
static_assert(__builtin_offsetof(Spcr, uart_clock_frequency) == 76);
static_assert(__builtin_offsetof(Spcr, precise_baud_rate) == 80);
constexpr uint32_t kSpcrMinLength = 80;

// The 16550 members of the DBG2 serial port subtypes (Microsoft DBG2
// specification, Table 3), the ones an x86 SPCR names.
namespace spcr_interface {
constexpr uint8_t k16550 = 0x00;
constexpr uint8_t k16550Subset = 0x01;  // the DBGP revision 1 subset
constexpr uint8_t k16550Gas = 0x12;     // register width given by the GAS
}  // namespace spcr_interface

// SPCR "Configured Baud Rate" codes; 0 means the firmware's setting as is.
namespace spcr_baud {
constexpr uint8_t kAsIs = 0;
constexpr uint8_t k9600 = 3;
constexpr uint8_t k19200 = 4;
constexpr uint8_t k57600 = 6;
constexpr uint8_t k115200 = 7;
}  // namespace spcr_baud

#pragma pack(pop)

struct Access {
  void* ctx = nullptr;
  const void* (*map)(void* ctx, PhysAddr pa, uint64_t len) = nullptr;
};

enum class ProblemKind : uint8_t {
  unreachable,         // Access::map returned nullptr
  bad_signature,       // RSDP or root table signature wrong
  bad_checksum,        // RSDP (first 20 bytes) or a table
  bad_ext_checksum,    // RSDP extended checksum (ACPI 2.0+)
  bad_length,          // length too small for the structure, or beyond limits
  bad_entry,           // a MADT entry with a length that breaks the walk
  list_full,           // a parser's output array was full; entries dropped
};
const char* problem_str(ProblemKind k);

struct Problem {
  ProblemKind kind;
  char signature[4];  // of the table concerned ("RSD " for the RSDP)
  PhysAddr where;     // the table's address; for parser problems, as mapped
  uint32_t detail;    // the offending length, entry offset or count
};

struct Problems {
  static constexpr size_t kMax = 32;
  Problem items[kMax];
  size_t count = 0;
  size_t dropped = 0;  // problems beyond kMax

  void add(ProblemKind kind, const char* sig, PhysAddr where, uint32_t detail);
};

// Sums bytes modulo 256; a valid ACPI structure sums to 0 (§5.2.6).
uint8_t checksum(const void* data, size_t len);

class Tables {
 public:
  // Validates the RSDP at `rsdp` and its root table: the XSDT when the RSDP
  // is 2.0+ with a valid extended checksum and the XSDT is valid, else the
  // RSDT. Then checks every table the root lists, recording each bad one
  // once. False when no usable root table was found.
  bool init(const Access& access, PhysAddr rsdp, Problems* problems);

  bool uses_xsdt() const { return xsdt_; }
  uint8_t revision() const { return revision_; }
  size_t count() const { return entries_; }
  PhysAddr entry(size_t i) const;
  // The `instance`-th valid table with `sig`, or nullptr. The result spans
  // header->length verified bytes.
  const SdtHeader* find(const char sig[4], size_t instance = 0) const;

 private:
  const SdtHeader* valid_table(PhysAddr pa, Problems* problems) const;

  Access access_;
  PhysAddr root_;
  const uint8_t* root_data_ = nullptr;
  size_t entries_ = 0;
  bool xsdt_ = false;
  uint8_t revision_ = 0;
};

// ---- MADT ----

struct Cpu {
  uint32_t apic_id;
  uint32_t uid;
  bool enabled;         // usable now
  bool online_capable;  // present but disabled; may be brought online
  bool x2apic;          // listed by an x2APIC entry
};

struct IoApic {
  uint8_t id;
  uint32_t address;
  uint32_t gsi_base;
};

struct IrqOverride {
  uint8_t bus;
  uint8_t source;  // the ISA IRQ
  uint32_t gsi;
  uint16_t flags;
};

struct MadtInfo {
  static constexpr size_t kMaxCpus = 512;
  static constexpr size_t kMaxIoApics = 16;
  static constexpr size_t kMaxOverrides = 32;
  uint64_t lapic_address;
  bool pcat_compat;
  Cpu cpus[kMaxCpus];
  size_t cpu_count;
  size_t cpus_unusable;  // entries with neither Enabled nor Online Capable
  IoApic ioapics[kMaxIoApics];
  size_t ioapic_count;
  IrqOverride overrides[kMaxOverrides];
  size_t override_count;
};

// MPS INTI flags of an interrupt source override (ACPI 6.5 Table 5.25).
namespace mps_inti {
constexpr uint16_t kPolarityMask = 0x3;
constexpr uint16_t kPolarityLow = 0x3;
constexpr uint16_t kTriggerMask = 0xc;
constexpr uint16_t kTriggerLevel = 0xc;
}  // namespace mps_inti

// Where an ISA IRQ arrives: its GSI with polarity and trigger mode. Without
// an override (or without a MADT) ISA IRQ n is GSI n, active high, edge
// triggered (§5.2.12.5: "conforms to the bus" is high/edge for ISA).
struct IsaRoute {
  uint32_t gsi;
  bool active_low;
  bool level;
  bool overridden;  // a MADT override applies
};
IsaRoute isa_route(const MadtInfo* madt, uint8_t irq);

// Returns false if `madt` is too short to be a MADT. Entries of a known
// type that are shorter than their structure are skipped and recorded; a
// CPU listed twice (by a local APIC and an x2APIC entry) appears once.
bool parse_madt(const SdtHeader* madt, MadtInfo* out, Problems* problems);

// ---- FADT ----

struct PmTimer {
  bool present;
  bool io;  // port I/O (else memory-mapped)
  uint64_t address;
  bool is_32bit;  // TMR_VAL_EXT: counts in 32 bits, else 24
};

struct FadtInfo {
  PmTimer pm_timer;
  bool reset_supported;
  Gas reset_reg;
  uint8_t reset_value;
  uint16_t sci_int;
  uint16_t iapc_boot_arch;
  uint32_t flags;
  uint64_t dsdt;  // X_DSDT when set, else DSDT
};

// Fields beyond the table's length read as zero; X_ fields win over the
// legacy ones when non-zero (§5.2.9) and, for the PM timer, usable (system
// memory or I/O, a bit width of 0 or at least 24).
bool parse_fadt(const SdtHeader* fadt, FadtInfo* out, Problems* problems);

// ---- HPET ----

struct HpetInfo {
  uint64_t address;  // of the event timer block; 0 unless in system memory
  uint8_t number;
  uint16_t min_tick;
};
bool parse_hpet(const SdtHeader* hpet, HpetInfo* out, Problems* problems);

// ---- MCFG ----

struct McfgInfo {
  static constexpr size_t kMax = 16;
  McfgAllocation regions[kMax];
  size_t count;
};
bool parse_mcfg(const SdtHeader* mcfg, McfgInfo* out, Problems* problems);

// ---- SPCR ----

// The clock of a PC-compatible 16550, used when the table gives none.
constexpr uint32_t kUartDefaultClockHz = 1843200;

struct SerialConsole {
  bool usable;             // a 16550-compatible UART with a base address
  uint8_t interface_type;  // as the table says, usable or not
  bool mmio;               // system memory, else system I/O space
  uint64_t address;
  uint8_t reg_width;   // bytes per register access: 1, 2 or 4
  uint8_t reg_stride;  // bytes between consecutive registers
  uint32_t baud;       // 0: keep the firmware's line settings
  uint32_t clock_hz;
};

// Returns false if `spcr` is too short to be an SPCR. A table that names a
// UART other than a 16550, an address space other than memory or I/O, or
// no base address parses with usable == false. The register width comes
// from the GAS access size (or its bit width when the access size is 0)
// for memory-mapped UARTs, where registers sit one access width apart; a
// port-I/O 16550 always has byte registers one port apart. Baud codes the
// table does not define read as "as is".
bool parse_spcr(const SdtHeader* spcr, SerialConsole* out, Problems* problems);

}  // namespace acpi
