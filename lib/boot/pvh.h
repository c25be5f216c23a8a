// The PVH start structures (Xen public/arch-x86/hvm/start_info.h, the ABI
// of docs/misc/pvh.pandoc): what a PVH loader hands the entry in EBX.
#pragma once

#include <cstdint>

namespace pvh {

constexpr uint32_t kStartInfoMagic = 0x336ec578;  // "xEn3" with the high bit of 'E' set

struct StartInfo {
  uint32_t magic;
  uint32_t version;  // 0, or 1 with the memory map
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;  // NUL-terminated, or 0
  uint64_t rsdp_paddr;     // 0 when not given
  // Version 1:
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};
static_assert(sizeof(StartInfo) == 56);

// E820-style entry types (ACPI 6.5 §15.1, "INT 15H E820H").
enum class E820 : uint32_t { ram = 1, reserved = 2, acpi = 3, nvs = 4, unusable = 5, pmem = 7 };

struct MemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};
static_assert(sizeof(MemmapEntry) == 24);

}  // namespace pvh
