#include "iommu/vtd.h"

namespace vtd {
namespace {

constexpr uint64_t bits(uint64_t v, unsigned hi, unsigned lo) {
  return (v >> lo) & ((hi - lo == 63) ? ~0ull : ((1ull << (hi - lo + 1)) - 1));
}

}  // namespace

Capability decode_cap(uint64_t cap) {
  Capability c{};
  c.domains_log2 = static_cast<uint8_t>(bits(cap, 2, 0));
  c.required_write_buffer_flush = bits(cap, 4, 4);
  c.caching_mode = bits(cap, 7, 7);
  c.sagaw = static_cast<uint8_t>(bits(cap, 12, 8));
  c.mgaw = static_cast<uint8_t>(bits(cap, 21, 16) + 1);
  c.fault_offset = static_cast<uint32_t>(bits(cap, 33, 24) * 16);
  c.large_pages = static_cast<uint8_t>(bits(cap, 37, 34));
  c.page_selective = bits(cap, 39, 39);
  c.fault_records = static_cast<uint32_t>(bits(cap, 47, 40) + 1);
  c.max_address_mask = static_cast<uint8_t>(bits(cap, 53, 48));
  return c;
}

ExtCapability decode_ecap(uint64_t ecap) {
  ExtCapability e{};
  e.coherent = bits(ecap, 0, 0);
  e.queued_invalidation = bits(ecap, 1, 1);
  e.device_tlb = bits(ecap, 2, 2);
  e.interrupt_remapping = bits(ecap, 3, 3);
  e.extended_interrupt = bits(ecap, 4, 4);
  e.pass_through = bits(ecap, 6, 6);
  e.snoop_control = bits(ecap, 7, 7);
  e.iotlb_offset = static_cast<uint32_t>(bits(ecap, 17, 8) * 16);
  e.scalable_mode = bits(ecap, 43, 43);
  return e;
}

FaultRecord decode_fault(uint64_t lo, uint64_t hi) {
  FaultRecord r{};
  r.address = lo & ~0xfffull;
  r.source_id = static_cast<uint16_t>(bits(hi, 15, 0));
  r.reason = static_cast<uint8_t>(bits(hi, 39, 32));
  r.is_read = bits(hi, 62, 62);
  r.fault = bits(hi, 63, 63);
  return r;
}

const char* fault_reason_str(uint8_t reason) {
  switch (reason) {
    case fault::kRootNotPresent: return "root entry not present";
    case fault::kContextNotPresent: return "context entry not present";
    case fault::kContextInvalid: return "invalid context entry";
    case fault::kBeyondAgaw: return "address beyond the AGAW";
    case fault::kWrite: return "write without write permission";
    case fault::kRead: return "read without read permission";
    case fault::kPagingEntry: return "second-level entry not accessible";
    case fault::kIrReserved: return "reserved bits in the interrupt request";
    case fault::kIrIndex: return "interrupt index beyond the table";
    case fault::kIrNotPresent: return "IRTE not present";
    default: return "other";
  }
}

RootEntry RootEntry::decode(uint64_t lo) {
  RootEntry e;
  e.present = lo & 1;
  e.context_table = PhysAddr(lo & ~0xfffull);
  return e;
}

uint64_t ContextEntry::lo() const {
  return (present ? 1ull : 0) | (fault_processing_disable ? 2ull : 0) |
         (uint64_t(static_cast<uint8_t>(type)) & 3) << 2 | (second_level.value & ~0xfffull);
}

uint64_t ContextEntry::hi() const { return (address_width & 7ull) | uint64_t(domain_id) << 8; }

ContextEntry ContextEntry::decode(uint64_t lo, uint64_t hi) {
  ContextEntry e;
  e.present = lo & 1;
  e.fault_processing_disable = lo & 2;
  e.type = static_cast<TranslationType>(bits(lo, 3, 2));
  e.second_level = PhysAddr(lo & ~0xfffull);
  e.address_width = static_cast<uint8_t>(bits(hi, 2, 0));
  e.domain_id = static_cast<uint16_t>(bits(hi, 23, 8));
  return e;
}

bool SecondLevel::create(const paging::PageMemory& mem, int levels, SecondLevel* out) {
  if (levels != 3 && levels != 4) return false;
  paging::PageTable t(mem, PhysAddr(), 4);
  if (!paging::PageTable::create(mem, 4, &t)) return false;
  out->table_ = t;
  out->levels_ = levels;
  out->pointer_ = t.root();
  if (levels == 3) {
    const PhysAddr l3 = mem.alloc_table(mem.ctx);
    if (l3.value == ~0ull) return false;
    mem.table(mem.ctx, t.root())[0] = l3.value | sl::kRead | sl::kWrite | sl::kExecute;
    out->pointer_ = l3;
  }
  return true;
}

paging::MapStatus SecondLevel::map(uint64_t iova, PhysAddr pa, uint64_t size, bool write) {
  if (iova + size > iova_limit() || iova + size < iova) return paging::MapStatus::non_canonical;
  paging::Attr a{};
  a.write = write;
  a.nx = false;  // bit 63 is ignored by VT-d (§9.8); keep the entries plain
  return table_.map(VirtAddr(iova), pa, size, a, kPageSize);
}

paging::MapStatus SecondLevel::unmap(uint64_t iova, uint64_t size) {
  return table_.unmap(VirtAddr(iova), size);
}

Walk walk(const paging::PageMemory& mem, PhysAddr slptptr, int levels, uint64_t iova,
          bool write) {
  const uint8_t denied = write ? fault::kWrite : fault::kRead;
  if (levels < 2 || levels > 5 || (iova >> (12 + 9 * levels)) != 0)
    return Walk{false, fault::kBeyondAgaw, PhysAddr()};
  PhysAddr table = slptptr;
  for (int level = levels; level >= 1; --level) {
    const unsigned shift = 12 + 9 * (level - 1);
    const uint64_t e = mem.table(mem.ctx, table)[(iova >> shift) & 511];
    // §3.7: an entry with R and W both clear is not present; access is
    // the AND of R (or W) along the walk.
    if (!(e & (sl::kRead | sl::kWrite))) return Walk{false, denied, PhysAddr()};
    if (!(e & (write ? sl::kWrite : sl::kRead))) return Walk{false, denied, PhysAddr()};
    const bool leaf = level == 1 || (level <= 3 && (e & sl::kPageSize));
    if (leaf) {
      const uint64_t page = 1ull << shift;
      return Walk{true, 0, PhysAddr(((e & sl::kFrameMask) & ~(page - 1)) | (iova & (page - 1)))};
    }
    table = PhysAddr(e & sl::kFrameMask);
  }
  return Walk{false, denied, PhysAddr()};
}

uint64_t Irte::lo(bool x2apic) const {
  const uint64_t dst = x2apic ? destination : (uint64_t(destination & 0xff) << 8);
  return (present ? 1ull : 0) | (fault_processing_disable ? 1ull << 1 : 0) |
         (logical ? 1ull << 2 : 0) | (redirection_hint ? 1ull << 3 : 0) |
         (level ? 1ull << 4 : 0) | (uint64_t(delivery_mode) & 7) << 5 | uint64_t(vector) << 16 |
         dst << 32;
}

uint64_t Irte::hi() const {
  return uint64_t(source_id) | (uint64_t(source_qualifier) & 3) << 16 |
         (uint64_t(source_validation) & 3) << 18;
}

Irte Irte::decode(uint64_t lo, uint64_t hi, bool x2apic) {
  Irte e;
  e.present = bits(lo, 0, 0);
  e.fault_processing_disable = bits(lo, 1, 1);
  e.logical = bits(lo, 2, 2);
  e.redirection_hint = bits(lo, 3, 3);
  e.level = bits(lo, 4, 4);
  e.delivery_mode = static_cast<uint8_t>(bits(lo, 7, 5));
  e.vector = static_cast<uint8_t>(bits(lo, 23, 16));
  const uint32_t dst = static_cast<uint32_t>(bits(lo, 63, 32));
  e.destination = x2apic ? dst : (dst >> 8) & 0xff;
  e.source_id = static_cast<uint16_t>(bits(hi, 15, 0));
  e.source_qualifier = static_cast<uint8_t>(bits(hi, 17, 16));
  e.source_validation = static_cast<uint8_t>(bits(hi, 19, 18));
  return e;
}

uint64_t irta_value(PhysAddr table, uint32_t entries, bool x2apic) {
  unsigned s = 0;
  while (s < 15 && (2u << s) < entries) ++s;
  return (table.value & ~0xfffull) | (x2apic ? kIrtaEime : 0) | s;
}

pci::MsiMessage remappable_msi(uint16_t handle) {
  const uint64_t a = 0xfee00000ull | uint64_t(handle & 0x7fff) << 5 | 1ull << 4 |
                     uint64_t(handle >> 15 & 1) << 2;
  return pci::MsiMessage{a, 0};
}

Descriptor context_cache_global() { return Descriptor{desc::kContextCache | 1ull << 4, 0}; }

Descriptor iotlb_global(bool drain) {
  return Descriptor{desc::kIotlb | 1ull << 4 | (drain ? 3ull << 6 : 0), 0};
}

Descriptor iotlb_domain(uint16_t domain_id, bool drain) {
  return Descriptor{desc::kIotlb | 2ull << 4 | (drain ? 3ull << 6 : 0) | uint64_t(domain_id) << 16,
                    0};
}

Descriptor iec_global() { return Descriptor{desc::kIec, 0}; }

Descriptor iec_index(uint16_t index) {
  return Descriptor{desc::kIec | 1ull << 4 | uint64_t(index) << 32, 0};
}

Descriptor wait_status(PhysAddr status, uint32_t data) {
  constexpr uint64_t kSw = 1ull << 5, kFn = 1ull << 6;
  return Descriptor{desc::kWait | kSw | kFn | uint64_t(data) << 32, status.value & ~3ull};
}

uint64_t iqa_value(PhysAddr queue, unsigned pages_log2) {
  return (queue.value & ~0xfffull) | (pages_log2 & 7);
}

}  // namespace vtd
