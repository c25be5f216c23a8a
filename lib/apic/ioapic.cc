#include "apic/ioapic.h"

#include "cpu/processor.h"

namespace ioapic {
namespace {

// Register select and window (datasheet §3.1): IOREGSEL at +0, IOWIN at
// +0x10, both 32-bit accesses.
constexpr uint32_t kRegSelect = 0x00;
constexpr uint32_t kWindow = 0x10;

// Redirection entry bits (datasheet §3.2.4).
constexpr unsigned kDeliveryShift = 8;
constexpr uint64_t kLogical = 1ull << 11;
constexpr uint64_t kPending = 1ull << 12;
constexpr uint64_t kActiveLow = 1ull << 13;
constexpr uint64_t kRemoteIrr = 1ull << 14;
constexpr uint64_t kLevel = 1ull << 15;
constexpr uint64_t kMasked = 1ull << 16;
constexpr unsigned kDestShift = 56;

// 8259A data ports (OCW1 = interrupt mask).
constexpr uint16_t kPic1Data = 0x21;
constexpr uint16_t kPic2Data = 0xa1;

constexpr unsigned kMaxChips = acpi::MadtInfo::kMaxIoApics;
constinit Chip chips[kMaxChips] = {};
constinit unsigned nchips = 0;
constinit const acpi::MadtInfo* madt_ = nullptr;

}  // namespace

uint64_t Redirection::encode() const {
  uint64_t v = vector | uint64_t(delivery & 7) << kDeliveryShift | uint64_t(dest) << kDestShift;
  if (logical) v |= kLogical;
  if (active_low) v |= kActiveLow;
  if (level) v |= kLevel;
  if (masked) v |= kMasked;
  return v;
}

Redirection Redirection::decode(uint64_t raw) {
  Redirection r;
  r.vector = static_cast<uint8_t>(raw);
  r.delivery = (raw >> kDeliveryShift) & 7;
  r.logical = raw & kLogical;
  r.pending = raw & kPending;
  r.active_low = raw & kActiveLow;
  r.remote_irr = raw & kRemoteIrr;
  r.level = raw & kLevel;
  r.masked = raw & kMasked;
  r.dest = static_cast<uint8_t>(raw >> kDestShift);
  return r;
}

uint32_t read(const Chip& c, uint32_t reg) {
  *reinterpret_cast<volatile uint32_t*>(c.address + kRegSelect) = reg;
  return *reinterpret_cast<volatile uint32_t*>(c.address + kWindow);
}

void write(const Chip& c, uint32_t reg, uint32_t value) {
  *reinterpret_cast<volatile uint32_t*>(c.address + kRegSelect) = reg;
  *reinterpret_cast<volatile uint32_t*>(c.address + kWindow) = value;
}

void mask_legacy_pic() {
  cpu::outb(kPic1Data, 0xff);
  cpu::outb(kPic2Data, 0xff);
}

void init(const acpi::MadtInfo* madt) {
  madt_ = madt;
  nchips = 0;
  mask_legacy_pic();
  if (!madt) return;
  for (size_t i = 0; i < madt->ioapic_count && nchips < kMaxChips; ++i) {
    const acpi::IoApic& a = madt->ioapics[i];
    Chip c{a.id, a.address, a.gsi_base, 0, 0};
    const uint32_t ver = read(c, reg::kVersion);
    // An absent chip reads all ones.
    if (ver == 0xffffffffu) continue;
    c.version = static_cast<uint8_t>(ver);
    c.entries = ((ver >> 16) & 0xff) + 1;
    chips[nchips++] = c;
    for (unsigned n = 0; n < c.entries; ++n) {
      write(c, reg::redirection_low(n), static_cast<uint32_t>(kMasked));
      write(c, reg::redirection_high(n), 0);
    }
  }
}

unsigned count() { return nchips; }
const Chip* chip(unsigned i) { return i < nchips ? &chips[i] : nullptr; }

const Chip* chip_for_gsi(uint32_t gsi, unsigned* pin) {
  for (unsigned i = 0; i < nchips; ++i) {
    const Chip& c = chips[i];
    if (gsi >= c.gsi_base && gsi < c.gsi_base + c.entries) {
      *pin = gsi - c.gsi_base;
      return &c;
    }
  }
  return nullptr;
}

bool set_redirection(uint32_t gsi, const Redirection& r) {
  unsigned pin;
  const Chip* c = chip_for_gsi(gsi, &pin);
  if (!c) return false;
  const uint64_t v = r.encode();
  // Mask while the halves disagree, so no interrupt is sent to a
  // half-written destination; the low half, with the final mask bit, last.
  write(*c, reg::redirection_low(pin), static_cast<uint32_t>(kMasked));
  write(*c, reg::redirection_high(pin), static_cast<uint32_t>(v >> 32));
  write(*c, reg::redirection_low(pin), static_cast<uint32_t>(v));
  return true;
}

bool get_redirection(uint32_t gsi, Redirection* out) {
  unsigned pin;
  const Chip* c = chip_for_gsi(gsi, &pin);
  if (!c) return false;
  const uint64_t v = read(*c, reg::redirection_low(pin)) |
                     uint64_t(read(*c, reg::redirection_high(pin))) << 32;
  *out = Redirection::decode(v);
  return true;
}

bool mask(uint32_t gsi, bool masked) {
  unsigned pin;
  const Chip* c = chip_for_gsi(gsi, &pin);
  if (!c) return false;
  uint32_t lo = read(*c, reg::redirection_low(pin));
  lo = masked ? (lo | static_cast<uint32_t>(kMasked)) : (lo & ~static_cast<uint32_t>(kMasked));
  write(*c, reg::redirection_low(pin), lo);
  return true;
}

IsaRoute isa_irq(uint8_t irq) { return acpi::isa_route(madt_, irq); }

}  // namespace ioapic
