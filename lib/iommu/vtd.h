// Intel VT-d (Intel Virtualization Technology for Directed I/O,
// Architecture Specification rev. 3.4): the register file of a remapping
// unit, and the in-memory structures software builds for it, with named
// fields. Portable: nothing here touches the machine, so the encoders and
// the reference walk are host-tested; lib/iommu/unit.h drives a real unit.
//
// Only the legacy (non-scalable) translation mode is modelled: root and
// context entries of §9.1 and §9.3, second-level paging entries of §9.8,
// interrupt remapping table entries of §9.10, and the 128-bit invalidation
// descriptors of §6.5.2.
//
// Second-level paging entries agree with the x86 ones where it matters
// (§9.8): bit 0 is Read (the x86 P position), bit 1 Write (R/W), bits 51:12
// the frame, bit 7 the page size. So SecondLevel builds them with
// paging::PageTable. Non-leaf entries of that builder also set bit 2 (x86
// U/S), which VT-d reads as Execute permission: it only matters for
// execute requests, which this framework never makes a device issue.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/addr.h"
#include "cpu/pagetable.h"
#include "pci/msi.h"

namespace vtd {

// §10.4: register offsets in the unit's register page.
namespace reg {
constexpr uint32_t kVer = 0x00;
constexpr uint32_t kCap = 0x08;
constexpr uint32_t kEcap = 0x10;
constexpr uint32_t kGcmd = 0x18;
constexpr uint32_t kGsts = 0x1c;
constexpr uint32_t kRtaddr = 0x20;
constexpr uint32_t kCcmd = 0x28;
constexpr uint32_t kFsts = 0x34;
constexpr uint32_t kFectl = 0x38;
constexpr uint32_t kIqh = 0x80;
constexpr uint32_t kIqt = 0x88;
constexpr uint32_t kIqa = 0x90;
constexpr uint32_t kIcs = 0x9c;
constexpr uint32_t kIrta = 0xb8;
// IVA and IOTLB sit at ECAP.IRO * 16 (§10.4.8), the fault recording
// registers at CAP.FRO * 16 (§10.4.14).
constexpr uint32_t kIvaFromIro = 0x0;
constexpr uint32_t kIotlbFromIro = 0x8;
}  // namespace reg

// §10.4.4 Global Command / §10.4.5 Global Status: the same bit positions.
namespace gcmd {
constexpr uint32_t kTe = 1u << 31;     // translation enable
constexpr uint32_t kSrtp = 1u << 30;   // set root table pointer (one-shot)
constexpr uint32_t kSfl = 1u << 29;    // set fault log (one-shot)
constexpr uint32_t kEafl = 1u << 28;   // advanced fault logging
constexpr uint32_t kWbf = 1u << 27;    // write buffer flush (one-shot)
constexpr uint32_t kQie = 1u << 26;    // queued invalidation enable
constexpr uint32_t kIre = 1u << 25;    // interrupt remapping enable
constexpr uint32_t kSirtp = 1u << 24;  // set interrupt remap table pointer (one-shot)
constexpr uint32_t kCfi = 1u << 23;    // compatibility format interrupts allowed
// §10.4.4: GSTS & 0x96ffffff keeps the persistent states (TE, EAFL, QIE,
// IRE, CFI) and drops the one-shot status bits, which must not be echoed.
constexpr uint32_t kPersistent = 0x96ffffffu;
}  // namespace gcmd

// The value to write to GCMD to change the persistent states in `set` and
// `clear` (or to issue the one-shot commands in `set`), given GSTS now.
constexpr uint32_t gcmd_value(uint32_t gsts, uint32_t set, uint32_t clear = 0) {
  return ((gsts & gcmd::kPersistent) | set) & ~clear;
}

// §10.4.2 Capability register.
struct Capability {
  uint8_t domains_log2;       // ND: 2^(4 + 2*ND) domain IDs
  bool required_write_buffer_flush;  // RWBF
  bool caching_mode;          // CM: not-present entries may be cached
  uint8_t sagaw;              // bit n: (30 + 9n)-bit AGAW, (n + 2)-level tables
  uint8_t mgaw;               // maximum guest address width, in bits
  uint32_t fault_offset;      // FRO * 16: byte offset of the fault records
  uint32_t fault_records;     // NFR + 1
  bool page_selective;        // PSI
  uint8_t large_pages;        // SLLPS: bit 0 2 MiB, bit 1 1 GiB
  uint8_t max_address_mask;   // MAMV
  bool supports_levels(int levels) const {
    return levels >= 2 && levels <= 6 && (sagaw >> (levels - 2) & 1);
  }
  uint32_t domain_count() const { return 1u << (4 + 2 * domains_log2); }
};
Capability decode_cap(uint64_t cap);

// §10.4.3 Extended capability register.
struct ExtCapability {
  bool coherent;              // C: page walks snoop the CPU caches
  bool queued_invalidation;   // QI
  bool device_tlb;            // DT
  bool interrupt_remapping;   // IR
  bool extended_interrupt;    // EIM: x2APIC (32-bit) destinations
  bool pass_through;          // PT
  bool snoop_control;         // SC
  uint32_t iotlb_offset;      // IRO * 16
  bool scalable_mode;         // SMTS
};
ExtCapability decode_ecap(uint64_t ecap);

// §10.4.6 Root table address: bits 11:10 select the translation table mode.
constexpr uint64_t kRtaddrModeMask = 3ull << 10;  // 0: legacy root/context
constexpr uint64_t rtaddr_legacy(PhysAddr root) { return root.value & ~0xfffull; }

// §10.4.7 Context command.
namespace ccmd {
constexpr uint64_t kIcc = 1ull << 63;  // invalidate, cleared when done
constexpr unsigned kCirgShift = 61;    // requested granularity
constexpr unsigned kCaigShift = 59;    // actual granularity, 0: not done
constexpr uint64_t kGlobal = 1ull << kCirgShift;
}  // namespace ccmd
// §10.4.8.1 IOTLB invalidate register.
namespace iotlb {
constexpr uint64_t kIvt = 1ull << 63;
constexpr unsigned kIirgShift = 60;
constexpr unsigned kIaigShift = 57;
constexpr uint64_t kGlobal = 1ull << kIirgShift;
constexpr uint64_t kDrainReads = 1ull << 49;
constexpr uint64_t kDrainWrites = 1ull << 48;
}  // namespace iotlb

// §10.4.9 Fault status.
namespace fsts {
constexpr uint32_t kPfo = 1u << 0;  // primary fault overflow
constexpr uint32_t kPpf = 1u << 1;  // primary pending fault (RO: OR of the F bits)
constexpr uint32_t kIqe = 1u << 4;  // invalidation queue error
constexpr uint32_t kIce = 1u << 5;  // invalidation completion error
constexpr uint32_t kIte = 1u << 6;  // invalidation time-out error
constexpr unsigned kFriShift = 8;   // fault record index
}  // namespace fsts
// §10.4.10 Fault event control.
constexpr uint32_t kFectlIm = 1u << 31;  // interrupt mask
// §10.4 ICS_REG, invalidation completion status.
constexpr uint32_t kIcsIwc = 1u << 0;

// §10.4.14 Fault recording register (128 bits; the high qword carries F).
struct FaultRecord {
  bool fault;      // F: the record is valid; write 1 to clear
  bool is_read;    // T: 1 read, 0 write (legacy encoding)
  uint8_t reason;  // FR, Appendix A
  uint16_t source_id;
  uint64_t address;  // FI: the faulting page (bits 63:12)
};
FaultRecord decode_fault(uint64_t lo, uint64_t hi);
constexpr uint64_t kFaultRecordF = 1ull << 63;  // in the high qword

// Appendix A, the reasons this framework provokes or names.
namespace fault {
constexpr uint8_t kRootNotPresent = 0x1;
constexpr uint8_t kContextNotPresent = 0x2;
constexpr uint8_t kContextInvalid = 0x3;
constexpr uint8_t kBeyondAgaw = 0x4;
constexpr uint8_t kWrite = 0x5;      // no write permission
constexpr uint8_t kRead = 0x6;       // no read permission
constexpr uint8_t kPagingEntry = 0x7;
constexpr uint8_t kIrReserved = 0x20;
constexpr uint8_t kIrIndex = 0x21;
constexpr uint8_t kIrNotPresent = 0x22;
}  // namespace fault
const char* fault_reason_str(uint8_t reason);

// Requester ID (§3.4.1): bus, device and function as PCI forms it.
constexpr uint16_t source_id(uint8_t bus, uint8_t device, uint8_t function) {
  return static_cast<uint16_t>(bus << 8 | (device & 0x1f) << 3 | (function & 7));
}

// §9.1 Root entry (128 bits): one per bus; the high qword is reserved.
struct RootEntry {
  bool present = false;
  PhysAddr context_table;
  uint64_t lo() const { return (present ? 1ull : 0) | (context_table.value & ~0xfffull); }
  static RootEntry decode(uint64_t lo);
};

enum class TranslationType : uint8_t {
  untranslated = 0,   // second-level translation of untranslated requests
  device_tlb = 1,     // also translation requests (needs ECAP.DT)
  pass_through = 2,   // needs ECAP.PT
};

// §9.3 Context entry (128 bits): one per device/function.
struct ContextEntry {
  bool present = false;
  bool fault_processing_disable = false;
  TranslationType type = TranslationType::untranslated;
  PhysAddr second_level;  // SLPTPTR
  uint8_t address_width = 0;  // AW: 1 = 39-bit (3 levels), 2 = 48-bit, 3 = 57-bit
  uint16_t domain_id = 0;
  uint64_t lo() const;
  uint64_t hi() const;
  static ContextEntry decode(uint64_t lo, uint64_t hi);
};
constexpr uint8_t aw_for_levels(int levels) { return static_cast<uint8_t>(levels - 2); }

// §9.8 Second-level paging entry bits.
namespace sl {
constexpr uint64_t kRead = 1ull << 0;
constexpr uint64_t kWrite = 1ull << 1;
constexpr uint64_t kExecute = 1ull << 2;
constexpr uint64_t kPageSize = 1ull << 7;
constexpr uint64_t kSnoop = 1ull << 11;
constexpr uint64_t kFrameMask = 0x000ffffffffff000ull;
}  // namespace sl

// Second-level page tables for one domain, built with paging::PageTable.
// A 4-level table is the builder's own; for 3 levels (39-bit AGAW, the
// only one some units offer) the builder's root gets one fixed entry 0
// and the table behind it is the VT-d root, so IOVAs stay below 512 GiB.
class SecondLevel {
 public:
  static bool create(const paging::PageMemory& mem, int levels, SecondLevel* out);
  // Maps [iova, iova+size) with 4 KiB pages: read always, write if asked.
  paging::MapStatus map(uint64_t iova, PhysAddr pa, uint64_t size, bool write);
  paging::MapStatus unmap(uint64_t iova, uint64_t size);
  // What the context entry points to (SLPTPTR) and its AW field.
  PhysAddr pointer() const { return pointer_; }
  int levels() const { return levels_; }
  uint64_t iova_limit() const { return 1ull << (12 + 9 * levels_); }

 private:
  paging::PageTable table_{paging::PageMemory{}, PhysAddr(), 4};
  PhysAddr pointer_;
  int levels_ = 0;
};

// The walk of §3.7 over second-level tables, for host tests and for
// checking what a unit should do: the frame an IOVA reaches, or the fault
// reason a read or write would record.
struct Walk {
  bool ok;
  uint8_t reason;  // when !ok: fault::kRead, kWrite, kBeyondAgaw
  PhysAddr pa;
};
Walk walk(const paging::PageMemory& mem, PhysAddr slptptr, int levels, uint64_t iova,
          bool write);

// §9.10 Interrupt remapping table entry (128 bits), remapped format.
struct Irte {
  bool present = false;
  bool fault_processing_disable = false;
  bool logical = false;           // DM: destination mode
  bool redirection_hint = false;  // RH
  bool level = false;             // TM: trigger mode
  uint8_t delivery_mode = 0;      // DLM: 0 fixed, 1 lowest priority, ...
  uint8_t vector = 0;
  uint32_t destination = 0;       // an APIC ID (xAPIC: 8 bits, x2APIC: 32)
  uint16_t source_id = 0;
  uint8_t source_qualifier = 0;   // SQ
  uint8_t source_validation = 0;  // SVT: 0 none, 1 by SID and SQ, 2 by bus range
  uint64_t lo(bool x2apic) const;
  uint64_t hi() const;
  static Irte decode(uint64_t lo, uint64_t hi, bool x2apic);
};

// §10.4 IRTA_REG: the table of 2^(S+1) entries (S in bits 3:0), EIME bit 11.
constexpr uint64_t kIrtaEime = 1ull << 11;
// The IRTA value for `entries` (a power of two from 2 to 65536).
uint64_t irta_value(PhysAddr table, uint32_t entries, bool x2apic);

// §5.1.5.2 Remappable MSI: address 0xFEE in 31:20, handle[14:0] in 19:5,
// interrupt format (1) in bit 4, SHV in bit 3, handle[15] in bit 2; data
// holds the subhandle when SHV is set.
pci::MsiMessage remappable_msi(uint16_t handle);

// §6.5.2 Invalidation descriptors (128-bit queue entries).
struct Descriptor {
  uint64_t lo = 0, hi = 0;
};
namespace desc {
constexpr uint64_t kContextCache = 0x1;
constexpr uint64_t kIotlb = 0x2;
constexpr uint64_t kIec = 0x4;
constexpr uint64_t kWait = 0x5;
}  // namespace desc
Descriptor context_cache_global();
Descriptor iotlb_global(bool drain = true);
Descriptor iotlb_domain(uint16_t domain_id, bool drain = true);
Descriptor iec_global();
Descriptor iec_index(uint16_t index);
// Writes `data` to the dword at `status` once every earlier descriptor is
// done (SW), with the fence (FN) so later ones wait for it.
Descriptor wait_status(PhysAddr status, uint32_t data);

// §10.4 IQA_REG: base, QS (2^QS pages of 256 descriptors), DW 0 (128-bit).
uint64_t iqa_value(PhysAddr queue, unsigned pages_log2);
constexpr uint32_t descriptors_per_page = 4096 / 16;
// IQT/IQH hold the descriptor index in bits 18:4 (128-bit descriptors).
constexpr uint64_t queue_offset(uint32_t index) { return uint64_t(index) << 4; }
constexpr uint32_t queue_index(uint64_t reg) { return static_cast<uint32_t>((reg >> 4) & 0x7fff); }

}  // namespace vtd
