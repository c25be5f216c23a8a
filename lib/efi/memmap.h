// The UEFI memory map, normalised (boot phase 4, after ExitBootServices).
//
// The firmware's map is a list of descriptors of stride `desc_size` (never
// assume sizeof(MemoryDescriptor)), unsorted, with types that mean different
// things before and after ExitBootServices. After ExitBootServices, boot
// services code/data and conventional memory are free RAM; loader code/data is
// ours (the image, its stacks, its page-table pool, buffers the firmware gave
// us) and stays in use. normalise_memory_map classifies each descriptor into
// a boot::MemKind and hands the rest to boot::normalise.
#pragma once

#include <cstddef>
#include <cstdint>

#include "boot/memmap.h"

namespace efi {

using boot::MemKind;
using boot::MemRange;
using NormalisedMap = boot::MemStats;

NormalisedMap normalise_memory_map(const void* map, size_t map_size, size_t desc_size,
                                   MemRange* out, size_t max_out);

}  // namespace efi
