// The normalised memory map every boot entry hands over (lib/boot/chain.h).
//
// An entry translates its own source (the UEFI memory map after
// ExitBootServices, the E820 table of a PVH start) into these kinds, then
// normalise() sorts the ranges, merges neighbours of one kind and counts
// overlaps. Later phases and tests read only this map.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/addr.h"

namespace boot {

enum class MemKind : uint8_t {
  usable,        // free RAM, ours to allocate
  loader,        // RAM in use by this image (image, stacks, reservations)
  runtime_code,  // firmware runtime code that must stay mapped executable
  runtime_data,
  acpi_reclaim,
  acpi_nvs,
  mmio,
  reserved,
  unusable,
  persistent,
  unaccepted,  // needs acceptance before use (TDX/SNP)
};

const char* mem_kind_str(MemKind k);
constexpr bool is_ram(MemKind k) {
  return k == MemKind::usable || k == MemKind::loader || k == MemKind::runtime_code ||
         k == MemKind::runtime_data || k == MemKind::acpi_reclaim || k == MemKind::acpi_nvs ||
         k == MemKind::persistent || k == MemKind::unaccepted;
}

struct MemRange {
  PhysAddr base;
  uint64_t size;
  MemKind kind;
  constexpr PhysAddr end() const { return base + size; }
};

struct MemStats {
  size_t count;        // entries written
  size_t dropped;      // entries that did not fit in `out`
  size_t overlaps;     // pairs of source entries that overlapped
  uint64_t usable_bytes;
  uint64_t top_of_ram;  // end of the highest RAM range
};

// A source of raw ranges, visited by index; normalise() reads it O(n^2)
// times without copying, so an entry needs no scratch buffer. Empty
// ranges (size 0) are ignored. `at` saturates the end at 2^64-1.
struct RangeSource {
  const void* ctx;
  size_t count;
  MemRange (*at)(const void* ctx, size_t i);
};

// Sorted by base, touching or overlapping ranges of one kind merged.
// usable_bytes and top_of_ram describe the whole normalised map, including
// ranges dropped for lack of room in `out`.
MemStats normalise(const RangeSource& src, MemRange* out, size_t max_out);

// Marks [base, base+size) as `kind` inside a normalised map, splitting the
// ranges it cuts; false when the map has no room left. Used by an entry
// to record its own reservations (image, page-table pool, trampolines).
bool carve(MemRange* map, MemStats* st, size_t max, PhysAddr base, uint64_t size, MemKind kind);

}  // namespace boot
