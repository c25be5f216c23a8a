// ACPI discovery and parsers; the contract is in acpi.h.
#include "acpi/acpi.h"

namespace acpi {
namespace {

// Tables larger than this are treated as corrupt: no table the framework
// reads comes near it, and it bounds what a bad length can make us map.
constexpr uint32_t kMaxTableLength = 16u << 20;

bool sig_is(const char* a, const char* b) {
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

template <typename T>
T read(const void* p) {
  T v;
  __builtin_memcpy(&v, p, sizeof(T));
  return v;
}

// Copies the table into a zeroed T; bytes past its length stay zero.
template <typename T>
T read_prefix(const SdtHeader* t) {
  T v;
  __builtin_memset(&v, 0, sizeof(T));
  const uint32_t len = read<SdtHeader>(t).length;
  __builtin_memcpy(&v, t, len < sizeof(T) ? len : sizeof(T));
  return v;
}

PhysAddr where_of(const void* p) { return PhysAddr(reinterpret_cast<uintptr_t>(p)); }

}  // namespace

const char* problem_str(ProblemKind k) {
  switch (k) {
    case ProblemKind::unreachable: return "not accessible";
    case ProblemKind::bad_signature: return "bad signature";
    case ProblemKind::bad_checksum: return "bad checksum";
    case ProblemKind::bad_ext_checksum: return "bad extended checksum";
    case ProblemKind::bad_length: return "bad length";
    case ProblemKind::bad_entry: return "malformed entry";
    case ProblemKind::list_full: return "too many entries, some dropped";
  }
  return "unknown problem";
}

void Problems::add(ProblemKind kind, const char* sig, PhysAddr where, uint32_t detail) {
  if (count == kMax) {
    ++dropped;
    return;
  }
  Problem& p = items[count++];
  p.kind = kind;
  for (int i = 0; i < 4; ++i) p.signature[i] = sig[i];
  p.where = where;
  p.detail = detail;
}

uint8_t checksum(const void* data, size_t len) {
  const uint8_t* b = static_cast<const uint8_t*>(data);
  uint8_t sum = 0;
  for (size_t i = 0; i < len; ++i) sum = static_cast<uint8_t>(sum + b[i]);
  return sum;
}

// Maps the table at `pa` and checks its length and checksum. Problems go to
// `problems` when it is not null.
const SdtHeader* Tables::valid_table(PhysAddr pa, Problems* problems) const {
  const void* h = access_.map(access_.ctx, pa, sizeof(SdtHeader));
  if (!h) {
    if (problems) problems->add(ProblemKind::unreachable, "????", pa, 0);
    return nullptr;
  }
  const SdtHeader hdr = read<SdtHeader>(h);
  if (hdr.length < sizeof(SdtHeader) || hdr.length > kMaxTableLength) {
    if (problems) problems->add(ProblemKind::bad_length, hdr.signature, pa, hdr.length);
    return nullptr;
  }
  const void* t = access_.map(access_.ctx, pa, hdr.length);
  if (!t) {
    if (problems) problems->add(ProblemKind::unreachable, hdr.signature, pa, hdr.length);
    return nullptr;
  }
  if (checksum(t, hdr.length) != 0) {
    if (problems) problems->add(ProblemKind::bad_checksum, hdr.signature, pa, hdr.length);
    return nullptr;
  }
  return static_cast<const SdtHeader*>(t);
}

bool Tables::init(const Access& access, PhysAddr rsdp_pa, Problems* problems) {
  access_ = access;
  entries_ = 0;
  root_data_ = nullptr;
  const void* r = access.map(access.ctx, rsdp_pa, kRsdpV1Size);
  if (!r) {
    problems->add(ProblemKind::unreachable, "RSD ", rsdp_pa, 0);
    return false;
  }
  Rsdp rsdp;
  __builtin_memset(&rsdp, 0, sizeof(rsdp));
  __builtin_memcpy(&rsdp, r, kRsdpV1Size);
  constexpr char kSig[8] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};
  for (int i = 0; i < 8; ++i) {
    if (rsdp.signature[i] != kSig[i]) {
      problems->add(ProblemKind::bad_signature, "RSD ", rsdp_pa, 0);
      return false;
    }
  }
  if (checksum(r, kRsdpV1Size) != 0) {
    problems->add(ProblemKind::bad_checksum, "RSD ", rsdp_pa, kRsdpV1Size);
    return false;
  }
  revision_ = rsdp.revision;

  // §5.2.5.3: revision 2+ adds the length, the XSDT and a checksum over all.
  bool xsdt_ok = false;
  if (rsdp.revision >= 2) {
    const uint32_t len = read<uint32_t>(static_cast<const uint8_t*>(r) + 20);
    const void* full = len >= sizeof(Rsdp) && len <= 4096 ? access.map(access.ctx, rsdp_pa, len)
                                                          : nullptr;
    if (!full) {
      problems->add(ProblemKind::bad_length, "RSD ", rsdp_pa, len);
    } else if (checksum(full, len) != 0) {
      problems->add(ProblemKind::bad_ext_checksum, "RSD ", rsdp_pa, len);
    } else {
      __builtin_memcpy(&rsdp, full, sizeof(Rsdp));
      xsdt_ok = rsdp.xsdt_address != 0;
    }
  }

  const SdtHeader* root = nullptr;
  if (xsdt_ok) {
    root = valid_table(PhysAddr(rsdp.xsdt_address), problems);
    if (root && !sig_is(root->signature, "XSDT")) {
      problems->add(ProblemKind::bad_signature, root->signature, PhysAddr(rsdp.xsdt_address), 0);
      root = nullptr;
    }
    xsdt_ = root != nullptr;
  }
  if (!root && rsdp.rsdt_address != 0) {
    root = valid_table(PhysAddr(rsdp.rsdt_address), problems);
    if (root && !sig_is(root->signature, "RSDT")) {
      problems->add(ProblemKind::bad_signature, root->signature, PhysAddr(rsdp.rsdt_address), 0);
      root = nullptr;
    }
    xsdt_ = false;
  }
  if (!root) return false;
  root_ = PhysAddr(xsdt_ ? rsdp.xsdt_address : rsdp.rsdt_address);
  root_data_ = reinterpret_cast<const uint8_t*>(root);
  const size_t stride = xsdt_ ? 8 : 4;
  const uint32_t len = read<SdtHeader>(root).length;
  if ((len - sizeof(SdtHeader)) % stride)
    problems->add(ProblemKind::bad_length, root->signature, root_, len);
  entries_ = (len - sizeof(SdtHeader)) / stride;
  for (size_t i = 0; i < entries_; ++i) valid_table(entry(i), problems);
  return true;
}

PhysAddr Tables::entry(size_t i) const {
  if (i >= entries_) return PhysAddr();
  const uint8_t* p = root_data_ + sizeof(SdtHeader);
  return xsdt_ ? PhysAddr(read<uint64_t>(p + 8 * i)) : PhysAddr(read<uint32_t>(p + 4 * i));
}

const SdtHeader* Tables::find(const char sig[4], size_t instance) const {
  for (size_t i = 0; i < entries_; ++i) {
    const PhysAddr pa = entry(i);
    const void* h = access_.map(access_.ctx, pa, sizeof(SdtHeader));
    if (!h || !sig_is(static_cast<const SdtHeader*>(h)->signature, sig)) continue;
    const SdtHeader* t = valid_table(pa, nullptr);
    if (!t) continue;
    if (instance-- == 0) return t;
  }
  return nullptr;
}

// ---- MADT (§5.2.12) ----

namespace {

void add_cpu(MadtInfo* out, const Cpu& cpu, const SdtHeader* madt, Problems* problems) {
  for (size_t i = 0; i < out->cpu_count; ++i) {
    if (out->cpus[i].apic_id == cpu.apic_id) return;
  }
  if (out->cpu_count == MadtInfo::kMaxCpus) {
    problems->add(ProblemKind::list_full, madt->signature, where_of(madt), cpu.apic_id);
    return;
  }
  out->cpus[out->cpu_count++] = cpu;
}

}  // namespace

bool parse_madt(const SdtHeader* t, MadtInfo* out, Problems* problems) {
  __builtin_memset(out, 0, sizeof(*out));
  const uint32_t len = read<SdtHeader>(t).length;
  if (len < sizeof(Madt)) {
    problems->add(ProblemKind::bad_length, t->signature, where_of(t), len);
    return false;
  }
  const Madt m = read<Madt>(t);
  out->lapic_address = m.lapic_address;
  out->pcat_compat = m.flags & 1;
  const uint8_t* base = reinterpret_cast<const uint8_t*>(t);
  for (uint32_t off = sizeof(Madt); off < len;) {
    if (len - off < sizeof(MadtEntry)) {
      problems->add(ProblemKind::bad_entry, t->signature, where_of(t), off);
      break;
    }
    const MadtEntry e = read<MadtEntry>(base + off);
    if (e.length < sizeof(MadtEntry) || e.length > len - off) {
      problems->add(ProblemKind::bad_entry, t->signature, where_of(t), off);
      break;
    }
    const uint8_t* p = base + off;
    auto fits = [&](size_t need) {
      if (e.length >= need) return true;
      problems->add(ProblemKind::bad_entry, t->signature, where_of(t), off);
      return false;
    };
    switch (static_cast<MadtType>(e.type)) {
      case MadtType::local_apic:
        if (fits(sizeof(MadtLocalApic))) {
          const auto l = read<MadtLocalApic>(p);
          const bool en = l.flags & lapic_flags::kEnabled;
          const bool oc = l.flags & lapic_flags::kOnlineCapable;
          if (en || oc)
            add_cpu(out, Cpu{l.apic_id, l.processor_uid, en, !en && oc, false}, t, problems);
          else
            ++out->cpus_unusable;
        }
        break;
      case MadtType::local_x2apic:
        if (fits(sizeof(MadtLocalX2Apic))) {
          const auto x = read<MadtLocalX2Apic>(p);
          const bool en = x.flags & lapic_flags::kEnabled;
          const bool oc = x.flags & lapic_flags::kOnlineCapable;
          if (en || oc)
            add_cpu(out, Cpu{x.x2apic_id, x.processor_uid, en, !en && oc, true}, t, problems);
          else
            ++out->cpus_unusable;
        }
        break;
      case MadtType::io_apic:
        if (fits(sizeof(MadtIoApic))) {
          const auto io = read<MadtIoApic>(p);
          if (out->ioapic_count == MadtInfo::kMaxIoApics)
            problems->add(ProblemKind::list_full, t->signature, where_of(t), off);
          else
            out->ioapics[out->ioapic_count++] = IoApic{io.id, io.address, io.gsi_base};
        }
        break;
      case MadtType::interrupt_override:
        if (fits(sizeof(MadtInterruptOverride))) {
          const auto o = read<MadtInterruptOverride>(p);
          if (out->override_count == MadtInfo::kMaxOverrides)
            problems->add(ProblemKind::list_full, t->signature, where_of(t), off);
          else
            out->overrides[out->override_count++] = IrqOverride{o.bus, o.source, o.gsi, o.flags};
        }
        break;
      case MadtType::lapic_address_override:
        if (fits(sizeof(MadtLapicAddressOverride)))
          out->lapic_address = read<MadtLapicAddressOverride>(p).address;
        break;
      default:
        break;  // types the framework does not use
    }
    off += e.length;
  }
  return true;
}

IsaRoute isa_route(const MadtInfo* madt, uint8_t irq) {
  IsaRoute r{irq, false, false, false};
  if (!madt) return r;
  for (size_t i = 0; i < madt->override_count; ++i) {
    const IrqOverride& o = madt->overrides[i];
    if (o.bus != 0 || o.source != irq) continue;
    r.gsi = o.gsi;
    r.overridden = true;
    r.active_low = (o.flags & mps_inti::kPolarityMask) == mps_inti::kPolarityLow;
    r.level = (o.flags & mps_inti::kTriggerMask) == mps_inti::kTriggerLevel;
    break;
  }
  return r;
}

// ---- FADT (§5.2.9) ----

bool parse_fadt(const SdtHeader* t, FadtInfo* out, Problems* problems) {
  __builtin_memset(out, 0, sizeof(*out));
  const uint32_t len = read<SdtHeader>(t).length;
  // ACPI 1.0's FADT ends right after `flags`.
  if (len < __builtin_offsetof(Fadt, reset_reg)) {
    problems->add(ProblemKind::bad_length, t->signature, where_of(t), len);
    return false;
  }
  const Fadt f = read_prefix<Fadt>(t);
  out->flags = f.flags;
  out->sci_int = f.sci_int;
  out->iapc_boot_arch = f.iapc_boot_arch;
  out->dsdt = f.x_dsdt ? f.x_dsdt : f.dsdt;

  // X_PM_TMR_BLK wins when set (§5.2.9), but only as a block the timer
  // code can read: system memory or I/O, at least 24 bits wide when a
  // width is given. Some firmware fills in an address with a space or
  // width that makes no sense; the legacy block serves then.
  PmTimer& tm = out->pm_timer;
  const Gas& x = f.x_pm_tmr_blk;
  const bool x_space = x.space_id == kSystemIo || x.space_id == kSystemMemory;
  const bool x_usable = x.address != 0 && x_space && (x.bit_width == 0 || x.bit_width >= 24);
  if (x_usable) {
    tm.present = true;
    tm.io = x.space_id == kSystemIo;
    tm.address = x.address;
  } else if (f.pm_tmr_blk != 0 && f.pm_tmr_len == 4) {
    tm.present = true;
    tm.io = true;  // the legacy block is always a port (§5.2.9)
    tm.address = f.pm_tmr_blk;
  }
  tm.is_32bit = f.flags & fadt_flags::kTmrValExt;

  out->reset_supported = (f.flags & fadt_flags::kResetRegSup) && f.reset_reg.address != 0;
  out->reset_reg = f.reset_reg;
  out->reset_value = f.reset_value;
  return true;
}

// ---- HPET ----

bool parse_hpet(const SdtHeader* t, HpetInfo* out, Problems* problems) {
  __builtin_memset(out, 0, sizeof(*out));
  const uint32_t len = read<SdtHeader>(t).length;
  if (len < sizeof(Hpet)) {
    problems->add(ProblemKind::bad_length, t->signature, where_of(t), len);
    return false;
  }
  const Hpet h = read<Hpet>(t);
  // The event timer block is memory-mapped (HPET 1.0a §3.2.4).
  out->address = h.base_address.space_id == kSystemMemory ? h.base_address.address : 0;
  out->number = h.hpet_number;
  out->min_tick = h.min_tick;
  return true;
}

// ---- MCFG ----

bool parse_mcfg(const SdtHeader* t, McfgInfo* out, Problems* problems) {
  __builtin_memset(out, 0, sizeof(*out));
  const uint32_t len = read<SdtHeader>(t).length;
  if (len < sizeof(Mcfg) || (len - sizeof(Mcfg)) % sizeof(McfgAllocation)) {
    problems->add(ProblemKind::bad_length, t->signature, where_of(t), len);
    if (len < sizeof(Mcfg)) return false;
  }
  const uint8_t* p = reinterpret_cast<const uint8_t*>(t) + sizeof(Mcfg);
  const size_t n = (len - sizeof(Mcfg)) / sizeof(McfgAllocation);
  for (size_t i = 0; i < n; ++i) {
    if (out->count == McfgInfo::kMax) {
      problems->add(ProblemKind::list_full, t->signature, where_of(t), static_cast<uint32_t>(n));
      break;
    }
    out->regions[out->count++] = read<McfgAllocation>(p + i * sizeof(McfgAllocation));
  }
  return true;
}

// ---- SPCR ----

namespace {

uint32_t spcr_baud_rate(uint8_t code) {
  switch (code) {
    case spcr_baud::k9600: return 9600;
    case spcr_baud::k19200: return 19200;
    case spcr_baud::k57600: return 57600;
    case spcr_baud::k115200: return 115200;
    default: return 0;
  }
}

// ACPI 6.5 §5.2.3.2, Table 5.1: access size 1-4 is 1 << (n - 1) bytes.
uint8_t gas_access_bytes(const Gas& g) {
  if (g.access_size >= 1 && g.access_size <= 3) return static_cast<uint8_t>(1u << (g.access_size - 1));
  if (g.access_size == 0 && (g.bit_width == 16 || g.bit_width == 32))
    return static_cast<uint8_t>(g.bit_width / 8);
  return 1;
}

}  // namespace

bool parse_spcr(const SdtHeader* t, SerialConsole* out, Problems* problems) {
  __builtin_memset(out, 0, sizeof(*out));
  const uint32_t len = read<SdtHeader>(t).length;
  if (len < kSpcrMinLength) {
    problems->add(ProblemKind::bad_length, t->signature, where_of(t), len);
    return false;
  }
  const Spcr s = read_prefix<Spcr>(t);
  const uint8_t rev = s.header.revision;
  out->interface_type = s.interface_type;
  out->address = s.base_address.address;
  out->mmio = s.base_address.space_id == kSystemMemory;
  out->baud = rev >= 4 && s.precise_baud_rate ? s.precise_baud_rate : spcr_baud_rate(s.baud_rate);
  out->clock_hz = rev >= 3 && s.uart_clock_frequency ? s.uart_clock_frequency : kUartDefaultClockHz;
  out->reg_width = out->mmio ? gas_access_bytes(s.base_address) : 1;
  out->reg_stride = out->reg_width;
  const bool is_16550 = s.interface_type == spcr_interface::k16550 ||
                        s.interface_type == spcr_interface::k16550Subset ||
                        s.interface_type == spcr_interface::k16550Gas;
  const bool space_ok =
      s.base_address.space_id == kSystemMemory || s.base_address.space_id == kSystemIo;
  out->usable = is_16550 && space_ok && out->address != 0;
  return true;
}

}  // namespace acpi
