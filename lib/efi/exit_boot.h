// ExitBootServices with the retry the UEFI spec requires (boot phase 4).
//
// UEFI 2.10 §7.4.6 (EFI_BOOT_SERVICES.ExitBootServices): if the map key is
// stale the call fails with EFI_INVALID_PARAMETER, and the caller must call
// GetMemoryMap() again and retry; between the first failed call and the
// retry, the only boot service it may use is the memory-allocation family,
// and then only GetMemoryMap(). So the buffer is sized up front with slack,
// the map is re-read into that same buffer, and nothing is allocated or
// printed between the calls.
#pragma once

#include "efi/efi.h"

namespace efi {

struct MapBuffer {
  MemoryDescriptor* buf = nullptr;
  uint64_t capacity = 0;  // bytes allocated
  uint64_t size = 0;      // bytes filled by the last GetMemoryMap
  uint64_t map_key = 0;
  uint64_t desc_size = 0;
  uint32_t desc_version = 0;
};

// Number of spare descriptors allocated beyond the current map size; the
// map grows when the allocation of its own buffer splits a free range.
constexpr uint64_t kMapSlackDescriptors = 32;

// Allocates `mb.buf` from pool with slack. May print nothing; returns the
// firmware's status.
Status allocate_map_buffer(BootServices* bs, MapBuffer& mb);

// Fetches the map into mb and exits boot services, retrying up to
// `max_tries` times on EFI_INVALID_PARAMETER. On success mb holds the final
// map. No allocation, no console output in this function.
Status exit_boot_services(BootServices* bs, Handle image, MapBuffer& mb, int max_tries = 8);

}  // namespace efi
