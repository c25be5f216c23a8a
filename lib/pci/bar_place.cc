#include "pci/bar_place.h"

namespace pci {

bool place_bar(Bdf f, unsigned index, Bar* bar, uint64_t floor, uint64_t ceiling) {
  if (index >= cfg::kBarCount || bar->size == 0 || bar->io || bar->is64 || bar->base != 0)
    return false;
  uint64_t lowest = floor;
  for_each_function([&](Bdf g) {
    if ((read8(g, cfg::kHeaderType) & 0x7f) != 0) return;  // type-0 headers only
    const bool self = g.bus == f.bus && g.device == f.device && g.function == f.function;
    for (unsigned i = 0; i < cfg::kBarCount; ++i) {
      if (self && i == index) continue;
      const Bar other = read_bar(g, i);
      if (other.is64) ++i;
      if (other.io || other.size == 0 || other.base < floor || other.base >= ceiling) continue;
      if (other.base + other.size > lowest) lowest = other.base + other.size;
    }
  });
  const uint64_t at = (lowest + bar->size - 1) & ~(bar->size - 1);
  if (at + bar->size > ceiling) return false;
  const uint16_t off = static_cast<uint16_t>(cfg::kBar0 + 4 * index);
  write32(f, off, static_cast<uint32_t>(at) | (read32(f, off) & ~bar_bits::kMemAddrMask));
  bar->base = at;
  return true;
}

}  // namespace pci
