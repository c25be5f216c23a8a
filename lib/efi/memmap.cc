// The UEFI memory map, classified for lib/boot/memmap.h.

#include "efi/memmap.h"

#include "efi/efi.h"

namespace efi {
namespace {

constexpr uint64_t kEfiPageShift = 12;  // UEFI 2.10 §7.2.3: 4 KiB pages
constexpr uint64_t kMaxAddr = ~uint64_t{0};

// UEFI 2.10 §7.2.1, the table of memory type usage after ExitBootServices.
MemKind classify(uint32_t type) {
  using T = MemoryType;
  const auto t = static_cast<T>(type);
  if (t == T::conventional || t == T::boot_services_code || t == T::boot_services_data)
    return MemKind::usable;
  if (t == T::loader_code || t == T::loader_data) return MemKind::loader;
  if (t == T::runtime_services_code) return MemKind::runtime_code;
  if (t == T::runtime_services_data) return MemKind::runtime_data;
  if (t == T::acpi_reclaim) return MemKind::acpi_reclaim;
  if (t == T::acpi_nvs) return MemKind::acpi_nvs;
  if (t == T::mmio || t == T::mmio_port_space) return MemKind::mmio;
  if (t == T::unusable) return MemKind::unusable;
  if (t == T::persistent) return MemKind::persistent;
  if (t == T::unaccepted) return MemKind::unaccepted;
  // Reserved, PAL code, and types from newer specs or OEM/OS ranges
  // (0x70000000 and up): not ours to touch.
  return MemKind::reserved;
}

struct DescriptorMap {
  const unsigned char* bytes;
  size_t stride;
};

MemRange descriptor_at(const void* ctx, size_t i) {
  const auto* m = static_cast<const DescriptorMap*>(ctx);
  const auto* d = reinterpret_cast<const MemoryDescriptor*>(m->bytes + i * m->stride);
  const uint64_t room = kMaxAddr - d->physical_start;
  const uint64_t pages = d->number_of_pages;
  const uint64_t size = pages > (room >> kEfiPageShift) ? room : pages << kEfiPageShift;
  return MemRange{PhysAddr(d->physical_start), size, classify(static_cast<uint32_t>(d->type))};
}

}  // namespace

NormalisedMap normalise_memory_map(const void* map, size_t map_size, size_t desc_size,
                                   MemRange* out, size_t max_out) {
  // §7.2.3 lets the stride exceed sizeof(MemoryDescriptor) (OVMF uses 48)
  // but never undercut it; descriptors are 8-byte aligned fields.
  const DescriptorMap dm{static_cast<const unsigned char*>(map), desc_size};
  size_t n = 0;
  if (map != nullptr && desc_size >= sizeof(MemoryDescriptor) && desc_size % 8 == 0)
    n = map_size / desc_size;
  return boot::normalise(boot::RangeSource{&dm, n, descriptor_at}, out, max_out);
}

}  // namespace efi
