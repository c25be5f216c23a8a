#include "pci/pci.h"

#include "cpu/processor.h"

namespace pci {
namespace {

constexpr uint16_t kConfigAddress = 0xcf8;
constexpr uint16_t kConfigData = 0xcfc;
constexpr uint32_t kConfigEnable = 1u << 31;

constinit Mechanism mech = Mechanism::none;
constinit const acpi::McfgInfo* mcfg_ = nullptr;

bool ports_reach(Bdf f, uint16_t offset) { return f.segment == 0 && offset < 256; }

uint32_t port_address(Bdf f, uint16_t offset) {
  return kConfigEnable | uint32_t(f.bus) << 16 | uint32_t(f.device & 0x1f) << 11 |
         uint32_t(f.function & 7) << 8 | (offset & 0xfc);
}

void write32_ports(Bdf f, uint16_t offset, uint32_t value) {
  if (!ports_reach(f, offset)) return;
  cpu::outl(kConfigAddress, port_address(f, offset));
  cpu::outl(kConfigData, value);
}

}  // namespace

const char* mechanism_str(Mechanism m) {
  switch (m) {
    case Mechanism::none: return "none";
    case Mechanism::ecam: return "ECAM";
    case Mechanism::ports: return "ports 0xcf8/0xcfc";
  }
  return "?";
}

uint64_t ecam_address(Bdf f, uint16_t offset) {
  if (!mcfg_ || offset >= 4096) return 0;
  for (size_t i = 0; i < mcfg_->count; ++i) {
    const acpi::McfgAllocation& a = mcfg_->regions[i];
    if (a.segment != f.segment || f.bus < a.start_bus || f.bus > a.end_bus) continue;
    // The window's base corresponds to bus 0 even when start_bus is not 0
    // (PCI Firmware 3.2 §4.1.2, Table 4-3).
    return a.base + (uint64_t(f.bus) << 20 | uint64_t(f.device & 0x1f) << 15 |
                     uint64_t(f.function & 7) << 12 | (offset & 0xffc));
  }
  return 0;
}

void init(const acpi::McfgInfo* mcfg) {
  mcfg_ = (mcfg && mcfg->count) ? mcfg : nullptr;
  // The boot page tables map the 4 GiB below 4 GiB as MMIO; a window above
  // that is unreachable until someone maps it, so the ports serve instead.
  for (size_t i = 0; mcfg_ && i < mcfg_->count; ++i) {
    const acpi::McfgAllocation& a = mcfg_->regions[i];
    if (a.base + (uint64_t(a.end_bus) + 1) * (1ull << 20) > (1ull << 32)) mcfg_ = nullptr;
  }
  if (mcfg_) {
    mech = Mechanism::ecam;
    return;
  }
  // Mechanism #1 is present when CONFIG_ADDRESS keeps what is written to it.
  const uint32_t saved = cpu::inl(kConfigAddress);
  cpu::outl(kConfigAddress, kConfigEnable);
  const bool ok = cpu::inl(kConfigAddress) == kConfigEnable;
  cpu::outl(kConfigAddress, saved);
  mech = ok ? Mechanism::ports : Mechanism::none;
}

Mechanism mechanism() { return mech; }

uint32_t read32_ports(Bdf f, uint16_t offset) {
  if (!ports_reach(f, offset)) return ~0u;
  cpu::outl(kConfigAddress, port_address(f, offset));
  return cpu::inl(kConfigData);
}

uint32_t read32(Bdf f, uint16_t offset) {
  switch (mech) {
    case Mechanism::ecam:
      if (uint64_t a = ecam_address(f, offset)) return *reinterpret_cast<volatile uint32_t*>(a);
      return ~0u;
    case Mechanism::ports: return read32_ports(f, offset);
    case Mechanism::none: return ~0u;
  }
  return ~0u;
}

uint16_t read16(Bdf f, uint16_t offset) {
  return static_cast<uint16_t>(read32(f, offset) >> (8 * (offset & 2)));
}

uint8_t read8(Bdf f, uint16_t offset) {
  return static_cast<uint8_t>(read32(f, offset) >> (8 * (offset & 3)));
}

void write32(Bdf f, uint16_t offset, uint32_t value) {
  switch (mech) {
    case Mechanism::ecam:
      if (uint64_t a = ecam_address(f, offset)) *reinterpret_cast<volatile uint32_t*>(a) = value;
      return;
    case Mechanism::ports: write32_ports(f, offset, value); return;
    case Mechanism::none: return;
  }
}

bool present(Bdf f) { return read16(f, cfg::kVendorId) != 0xffff; }

}  // namespace pci
