// The memory map, normalised (boot phase 3/4).
//
// The firmware's map is a list of descriptors of stride `desc_size` (never
// assume sizeof(MemoryDescriptor)), unsorted, with types that mean different
// things before and after ExitBootServices. After ExitBootServices, boot
// services code/data and conventional memory are free RAM; loader code/data is
// ours (the image, its stacks, its page-table pool, buffers the firmware gave
// us) and stays in use. normalise_memory_map sorts, classifies, merges
// adjacent ranges of equal kind and detects overlaps.
#pragma once

#include <cstddef>
#include <cstdint>

namespace efi {

enum class MemKind : uint8_t {
  usable,        // free RAM once boot services are gone
  loader,        // RAM in use by this image
  runtime_code,  // firmware runtime services code: must stay mapped executable
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
  uint64_t base;
  uint64_t size;
  MemKind kind;
};

struct NormalisedMap {
  size_t count;        // entries written
  size_t dropped;      // entries that did not fit in `out`
  size_t overlaps;     // pairs of firmware descriptors that overlapped
  uint64_t usable_bytes;
  uint64_t top_of_ram;  // end of the highest RAM range
};

NormalisedMap normalise_memory_map(const void* map, size_t map_size, size_t desc_size,
                                   MemRange* out, size_t max_out);

}  // namespace efi
