#include "esp/tco.h"

#include "cpu/processor.h"

namespace esp::tco {

namespace {

// PCI configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2).
uint32_t pci_read32(uint8_t dev, uint8_t fn, uint8_t reg) {
  cpu::outl(0xcf8, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc));
  return cpu::inl(0xcfc);
}

// ICH9 datasheet §13.1 (LPC configuration) and §13.9 (TCO I/O registers,
// at PMBASE + 0x60).
constexpr uint8_t kLpcDev = 0x1f;
constexpr uint8_t kPmBase = 0x40, kAcpiCntl = 0x44, kRcba = 0xf0;
constexpr uint8_t kAcpiEnable = 0x80;
constexpr uint16_t kTcoOffset = 0x60;
constexpr uint16_t kTcoRld = 0x00, kTco1Sts = 0x04, kTco2Sts = 0x06, kTco1Cnt = 0x08,
                   kTcoTmr = 0x12;
constexpr uint16_t kTco1StsTimeout = 1 << 3, kTco2StsSecondTo = 1 << 1;
constexpr uint16_t kTco1CntTmrHlt = 1 << 11;
constexpr uint32_t kGcsOffset = 0x3410, kGcsNoReboot = 1 << 5;

bool supported(uint16_t vendor, uint16_t device) {
  if (vendor != 0x8086) return false;
  // ICH9 (82801I) LPC bridges, QEMU's q35 among them (0x2918), and ICH10
  // (82801J); both keep TCO in the LPC PM space and GCS in RCBA.
  return (device >= 0x2910 && device <= 0x2919) || (device >= 0x3a14 && device <= 0x3a1a);
}

volatile uint32_t* gcs(const Info& info) {
  return reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(info.rcba) + kGcsOffset);
}

}  // namespace

uint16_t ticks_per_stage(uint32_t seconds) {
  // Each stage lasts ticks * 0.6 s; round up so that the two stages
  // together never end before `seconds`. The register holds 10 bits, and
  // the datasheet forbids values below 2.
  uint64_t ticks = (static_cast<uint64_t>(seconds) * 10 + 5) / 6;
  ticks = (ticks + 1) / 2;
  if (ticks < 2) ticks = 2;
  if (ticks > 1023) ticks = 1023;
  return static_cast<uint16_t>(ticks);
}

Info probe() {
  Info info{};
  uint32_t id = pci_read32(kLpcDev, 0, 0);
  if (!supported(id & 0xffff, id >> 16)) return info;
  uint32_t pmbase = pci_read32(kLpcDev, 0, kPmBase) & 0xff80;
  uint32_t cntl = pci_read32(kLpcDev, 0, kAcpiCntl) & 0xff;
  uint32_t rcba = pci_read32(kLpcDev, 0, kRcba);
  // Without the ACPI I/O space or the root complex window, neither the
  // timer nor NO_REBOOT can be reached; the firmware decides both.
  if (!pmbase || !(cntl & kAcpiEnable) || !(rcba & 1)) return info;
  info.present = true;
  info.device_id = static_cast<uint16_t>(id >> 16);
  info.tco_base = static_cast<uint16_t>(pmbase + kTcoOffset);
  info.rcba = rcba & 0xffffc000;
  return info;
}

bool arm(const Info& info, uint32_t seconds) {
  if (!info.present) return false;
  uint16_t b = info.tco_base;
  cpu::outw(b + kTco1Cnt, cpu::inw(b + kTco1Cnt) | kTco1CntTmrHlt);
  cpu::outw(b + kTco1Sts, kTco1StsTimeout);
  cpu::outw(b + kTco2Sts, kTco2StsSecondTo);
  cpu::outw(b + kTcoTmr, (cpu::inw(b + kTcoTmr) & ~0x3ffu) | ticks_per_stage(seconds));
  cpu::outw(b + kTcoRld, 1);
  *gcs(info) = *gcs(info) & ~kGcsNoReboot;
  cpu::outw(b + kTco1Cnt, cpu::inw(b + kTco1Cnt) & ~kTco1CntTmrHlt);
  return true;
}

void disarm(const Info& info) {
  if (!info.present) return;
  uint16_t b = info.tco_base;
  cpu::outw(b + kTco1Cnt, cpu::inw(b + kTco1Cnt) | kTco1CntTmrHlt);
  *gcs(info) = *gcs(info) | kGcsNoReboot;
}

}  // namespace esp::tco
