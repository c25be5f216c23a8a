#include "pci/msi.h"

namespace pci {
namespace {

uint16_t control(const Msi& m) { return read16(m.function, static_cast<uint16_t>(m.cap + 2)); }

// The control word is the upper half of the capability's first dword;
// the lower half (ID and next pointer) is read-only.
void set_control(const Msi& m, uint16_t value) {
  const uint32_t d = read32(m.function, m.cap);
  write32(m.function, m.cap, (d & 0xffff) | uint32_t(value) << 16);
}

void write16(Bdf f, uint16_t off, uint16_t value) {
  const uint16_t base = off & ~3u;
  const unsigned shift = (off & 2) * 8;
  const uint32_t d = read32(f, base);
  write32(f, base, (d & ~(0xffffu << shift)) | uint32_t(value) << shift);
}

}  // namespace

uint8_t find_capability(Bdf f, uint8_t id) {
  if (!(read16(f, cfg::kStatus) & kStatusCapList)) return 0;
  uint8_t p = read8(f, kCapPointer) & 0xfc;
  for (int i = 0; i < 48 && p >= 0x40; ++i) {
    if (read8(f, p) == id) return p;
    p = read8(f, static_cast<uint16_t>(p + 1)) & 0xfc;
  }
  return 0;
}

bool find_msi(Bdf f, Msi* out) {
  const uint8_t cap = find_capability(f, kCapIdMsi);
  if (!cap) return false;
  out->function = f;
  out->cap = cap;
  out->layout = msi_layout(read16(f, static_cast<uint16_t>(cap + 2)));
  return true;
}

bool program(const Msi& m, MsiMessage msg) {
  if (!m.layout.is64 && (msg.address >> 32)) return false;
  set_control(m, control(m) & ~(msi_control::kEnable | msi_control::kMmeMask));
  write32(m.function, static_cast<uint16_t>(m.cap + m.layout.address_lo),
          static_cast<uint32_t>(msg.address));
  if (m.layout.is64)
    write32(m.function, static_cast<uint16_t>(m.cap + m.layout.address_hi),
            static_cast<uint32_t>(msg.address >> 32));
  write16(m.function, static_cast<uint16_t>(m.cap + m.layout.data),
          static_cast<uint16_t>(msg.data));
  return true;
}

void enable(const Msi& m, bool on) {
  const uint16_t c = control(m) & ~msi_control::kMmeMask;
  set_control(m, on ? (c | msi_control::kEnable) : (c & ~msi_control::kEnable));
}

bool enabled(const Msi& m) { return control(m) & msi_control::kEnable; }

MsiMessage programmed(const Msi& m) {
  MsiMessage msg{};
  msg.address = read32(m.function, static_cast<uint16_t>(m.cap + m.layout.address_lo));
  if (m.layout.is64)
    msg.address |= uint64_t(read32(m.function, static_cast<uint16_t>(m.cap + m.layout.address_hi)))
                   << 32;
  msg.data = read16(m.function, static_cast<uint16_t>(m.cap + m.layout.data));
  return msg;
}

}  // namespace pci
