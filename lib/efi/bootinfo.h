// BootInfo: everything the stub learned from the firmware, gathered once in
// boot phase 3 while boot services still exist. After ExitBootServices
// nothing reads firmware tables through boot services again; later phases
// and tests read this snapshot. Every other boot entry (PVH, ...) would fill
// the same struct and join at phase 5.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/processor.h"
#include "efi/efi.h"
#include "efi/memmap.h"

enum class Platform : uint8_t { plain, sev, sev_es, sev_snp, tdx };
const char* platform_str(Platform p);

struct Framebuffer {
  bool present;
  uint64_t base;
  uint64_t size;
  uint32_t width, height;
  uint32_t pixels_per_scan_line;
  efi::PixelFormat format;
  efi::PixelBitmask mask;
};

struct BootInfo {
  // The image.
  uint64_t image_base;
  uint64_t image_size;
  efi::Handle image_handle;

  // Runtime services stay callable after ExitBootServices (physical mode:
  // the stub never calls SetVirtualAddressMap).
  efi::RuntimeServices* runtime;
  char firmware_vendor[64];
  uint32_t firmware_revision;
  uint32_t uefi_revision;

  // The final memory map, normalised, and the raw one it came from.
  static constexpr size_t kMaxRanges = 256;
  efi::MemRange mem[kMaxRanges];
  efi::NormalisedMap mem_stats;
  const efi::MemoryDescriptor* raw_map;
  uint64_t raw_map_size;
  uint64_t raw_desc_size;

  // argv from LoadOptions (lib/efi/cmdline.h has the rules).
  int argc;
  char** argv;

  // Configuration tables (physical addresses, 0 when absent).
  uint64_t acpi_rsdp;
  uint64_t smbios;
  uint64_t smbios3;

  Framebuffer fb;

  // CPU features, read with CPUID before ExitBootServices (see boot.cc).
  cpu::Features features;

  // Whether QEMU's devices (isa-debug-exit, fw_cfg) exist, decided before
  // ExitBootServices (boot.cc, detect_qemu, has the order and why).
  cpu::Hypervisor hypervisor;  // from the CPUID hypervisor leaf
  bool fw_cfg_probed;          // fw_cfg was read: only under KVM or TCG
  bool on_qemu;                // fw_cfg answered with the "QEMU" signature

  // Confidential-computing status, detected before ExitBootServices.
  // lib/platform/detect.h fills these.
  Platform platform;
  uint8_t sev_cbit;       // C-bit position (SEV*) or 0
  uint64_t sev_status;    // MSR 0xC0010131 (SEV*) or 0
  uint32_t sev_mem_enc_eax;  // CPUID Fn8000_001F EAX, or 0
  uint8_t tdx_gpa_width;     // TDG.VP.INFO GPAW (TDX) or 0
  uint64_t tdx_shared_mask;  // GPA bit GPAW-1 (TDX) or 0
  uint64_t tdx_attributes;   // TDG.VP.INFO TD attributes (TDX) or 0
  uint64_t ghcb_page;        // SEV-ES/SNP: one page reserved for the GHCB, or 0

  // Set in phase 3 when the ESP batch runner started this image
  // (lib/esp/runner_link.h): platform_exit then records the verdict for
  // the runner and resets instead of exiting.
  bool runner_launched;
  uint32_t runner_index;
  uint32_t runner_launch_seq;

  // Reserved for later phases before ExitBootServices.
  uint64_t trampoline_page;  // one page below 1 MiB for AP start-up, or 0
  // Contiguous pages below 1 MiB for the mode-switch trampoline
  // (lib/cpu/modeswitch.h: real mode and paging changes), or 0.
  uint64_t low_pages;
  uint64_t low_page_count;
  uint64_t pt_pool_base;     // page-table pool (physical)
  uint64_t pt_pool_pages;
  uint64_t pt_pool_used;
  uint64_t page_table_root;  // CR3 we installed
  int paging_levels;
};

// Read-only once main() runs.
const BootInfo& boot_info();
BootInfo& boot_info_mut();
