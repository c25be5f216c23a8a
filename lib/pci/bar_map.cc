#include "pci/bar_map.h"

#include "cpu/paging.h"

namespace pci {

uint16_t read_command(Bdf f) { return read16(f, cfg::kCommand); }

void write_command(Bdf f, uint16_t value) {
  // Command and status share a dword; zeros leave the RW1C status bits be.
  write32(f, cfg::kCommand, value);
}

Bar probe_bar(Bdf f, unsigned index) {
  if (index >= kBarCount) return Bar{};
  const uint16_t off = static_cast<uint16_t>(kBar0 + 4 * index);
  const uint16_t cmd = read_command(f);
  write_command(f, cmd & ~(command::kIoSpace | command::kMemorySpace));
  const uint32_t lo = read32(f, off);
  write32(f, off, ~0u);
  const uint32_t lo_sized = read32(f, off);
  write32(f, off, lo);
  uint32_t hi = 0, hi_sized = 0;
  const bool is64 = !(lo & bar_bits::kIo) && (lo & bar_bits::kTypeMask) == bar_bits::kType64;
  if (is64 && index + 1 < kBarCount) {
    const uint16_t off_hi = static_cast<uint16_t>(off + 4);
    hi = read32(f, off_hi);
    write32(f, off_hi, ~0u);
    hi_sized = read32(f, off_hi);
    write32(f, off_hi, hi);
  }
  write_command(f, cmd);
  return decode_bar(lo, lo_sized, hi, hi_sized);
}

bool place_bar(Bdf f, unsigned index, Bar* bar, uint64_t floor, uint64_t ceiling) {
  if (index >= kBarCount || !bar->present || bar->io || bar->is64) return false;
  uint64_t lowest = floor;
  for_each_function([&](Bdf g) {
    if ((read8(g, cfg::kHeaderType) & 0x7f) != 0) return;
    for (unsigned i = 0; i < kBarCount; ++i) {
      if (g.bus == f.bus && g.device == f.device && g.function == f.function && i == index)
        continue;
      const uint32_t v = read32(g, static_cast<uint16_t>(kBar0 + 4 * i));
      if (v & bar_bits::kIo) continue;
      const bool is64 = (v & bar_bits::kTypeMask) == bar_bits::kType64;
      const uint64_t base = v & bar_bits::kMemMask;
      if (is64) ++i;
      if (base == 0 || base < floor || base >= ceiling) continue;
      // probe_bar sizes it with decoding off for a moment, which an idle
      // function does not notice.
      const Bar other = probe_bar(g, is64 ? i - 1 : i);
      const uint64_t end = base + (other.size ? other.size : kPageSize);
      if (end > lowest) lowest = end;
    }
  });
  const uint64_t at = (lowest + bar->size - 1) & ~(bar->size - 1);
  if (at + bar->size > ceiling) return false;
  write32(f, static_cast<uint16_t>(kBar0 + 4 * index),
          static_cast<uint32_t>(at) | (read32(f, static_cast<uint16_t>(kBar0 + 4 * index)) & 0xf));
  bar->base = at;
  return true;
}

bool map_bar(const Bar& bar) {
  if (!bar.present || bar.io) return false;
  if (bar.base + bar.size <= (4ull << 30)) return true;
  const VirtAddr va(bar.base & ~(kPageSize - 1));
  const uint64_t size = ((bar.base + bar.size + kPageSize - 1) & ~(kPageSize - 1)) - va.value;
  paging::Translation t;
  if (paging::lookup(va, &t) && paging::lookup(va + (size - kPageSize), &t)) return true;
  return paging::map(va, PhysAddr(va.value), size, paging::Attr::mmio()) == paging::MapStatus::ok;
}

}  // namespace pci
