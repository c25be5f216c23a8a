#include "pci/bar.h"

#include "mem/paging.h"

namespace pci {

namespace {
uint16_t bar_offset(unsigned index) { return uint16_t(cfg::kBar0 + 4 * index); }

void write_command(Bdf f, uint16_t command) {
  // Command and Status share a dword; Status bits are write-one-to-clear
  // (§6.2.3), so writing zeros there leaves them alone.
  write32(f, cfg::kCommand, command);
}
}  // namespace

Bar read_bar(Bdf f, unsigned index) {
  if (index >= cfg::kBarCount) return Bar{};
  const uint16_t off = bar_offset(index);
  const uint16_t command = read16(f, cfg::kCommand);
  write_command(f, command & ~(cfg::kCommandIo | cfg::kCommandMemory));
  const uint32_t lo = read32(f, off);
  const bool is64 = !(lo & bar_bits::kIo) &&
                    (lo & bar_bits::kMemTypeMask) == bar_bits::kMemType64 &&
                    index + 1 < cfg::kBarCount;
  const uint32_t hi = is64 ? read32(f, off + 4) : 0;
  write32(f, off, ~0u);
  const uint32_t mask_lo = read32(f, off);
  write32(f, off, lo);
  uint32_t mask_hi = 0;
  if (is64) {
    write32(f, off + 4, ~0u);
    mask_hi = read32(f, off + 4);
    write32(f, off + 4, hi);
  }
  write_command(f, command);
  return decode_bar(lo, hi, mask_lo, mask_hi);
}

bool find_class(uint8_t base, uint8_t sub, uint8_t prog_if, Bdf* out) {
  const uint32_t want = uint32_t(base) << 24 | uint32_t(sub) << 16 | uint32_t(prog_if) << 8;
  bool found = false;
  for_each_function([&](Bdf f) {
    if (!found && (read32(f, cfg::kClassRevision) & 0xffffff00u) == want) {
      *out = f;
      found = true;
    }
  });
  return found;
}

volatile void* map_bar(Bdf f, const Bar& b) {
  if (b.io || b.size == 0 || b.base == 0) return nullptr;
  const uint16_t command = read16(f, cfg::kCommand);
  if (!(command & cfg::kCommandMemory)) write_command(f, command | cfg::kCommandMemory);
  const uint64_t start = b.base & ~(kPageSize - 1);
  const uint64_t end = (b.base + b.size + kPageSize - 1) & ~(kPageSize - 1);
  for (uint64_t va = start; va < end; va += kPageSize) {
    paging::Translation t;
    if (paging::lookup(VirtAddr(va), &t)) {
      if (t.pa.value != va) return nullptr;  // something else lives there
      continue;
    }
    if (paging::map(VirtAddr(va), PhysAddr(va), kPageSize, paging::Attr::mmio()) !=
        paging::MapStatus::ok)
      return nullptr;
  }
  return reinterpret_cast<volatile void*>(b.base);
}

}  // namespace pci
