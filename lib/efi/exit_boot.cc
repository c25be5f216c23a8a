// Leaving boot services. Everything in exit_boot_services() sits between
// the first GetMemoryMap and the final ExitBootServices, so it calls no
// other boot service and prints nothing: UEFI 2.10 §7.4.6 allows only the
// memory-allocation services after a failed ExitBootServices, and console
// output could itself allocate and change the map key again.
#include "efi/exit_boot.h"

namespace efi {

Status allocate_map_buffer(BootServices* bs, MapBuffer& mb) {
  uint64_t size = 0;
  uint64_t key = 0;
  uint64_t desc_size = 0;
  uint32_t desc_version = 0;
  // UEFI 2.10 §7.2.3: a too-small buffer yields EFI_BUFFER_TOO_SMALL with
  // the needed size and the descriptor stride filled in.
  Status st = bs->get_memory_map(&size, nullptr, &key, &desc_size, &desc_version);
  if (st != kBufferTooSmall && is_error(st)) return st;
  if (desc_size < sizeof(MemoryDescriptor)) desc_size = sizeof(MemoryDescriptor);

  if (mb.buf != nullptr) {
    st = bs->free_pool(mb.buf);
    if (is_error(st)) return st;
    mb.buf = nullptr;
    mb.capacity = 0;
  }

  // The slack absorbs the descriptors this very allocation (and anything
  // the firmware does before ExitBootServices) adds by splitting ranges.
  const uint64_t capacity = size + kMapSlackDescriptors * desc_size;
  void* buf = nullptr;
  st = bs->allocate_pool(MemoryType::loader_data, capacity, &buf);
  if (is_error(st)) return st;

  mb.buf = static_cast<MemoryDescriptor*>(buf);
  mb.capacity = capacity;
  mb.size = 0;
  mb.map_key = 0;
  mb.desc_size = desc_size;
  mb.desc_version = desc_version;
  return kSuccess;
}

Status exit_boot_services(BootServices* bs, Handle image, MapBuffer& mb, int max_tries) {
  if (mb.buf == nullptr || mb.capacity == 0) return kBufferTooSmall;
  if (max_tries < 1) max_tries = 1;

  Status st = kInvalidParameter;
  for (int attempt = 0; attempt < max_tries; ++attempt) {
    uint64_t size = mb.capacity;
    uint64_t key = 0;
    uint64_t desc_size = 0;
    uint32_t desc_version = 0;
    // Same buffer every time. A map that outgrew the slack is reported as
    // EFI_BUFFER_TOO_SMALL: allocating a bigger buffer here would change
    // the map again and is exactly what §7.4.6 rules out.
    st = bs->get_memory_map(&size, mb.buf, &key, &desc_size, &desc_version);
    if (is_error(st)) return st;
    mb.size = size;
    mb.map_key = key;
    mb.desc_size = desc_size;
    mb.desc_version = desc_version;

    // EFI_INVALID_PARAMETER means the map key is stale (§7.4.6); any other
    // error will not improve by retrying.
    st = bs->exit_boot_services(image, key);
    if (st != kInvalidParameter) return st;
  }
  return st;
}

}  // namespace efi
