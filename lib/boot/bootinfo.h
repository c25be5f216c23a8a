// BootInfo: the neutral handoff from a boot entry to the common chain
// (lib/boot/chain.h). An entry (lib/efi for UEFI, lib/boot/pvh for a PVH
// start) fills it while it still can ask its firmware or start structure,
// normalising what it learned into plain, typed members; phase 5 onwards
// reads nothing else. No member names a firmware type: what a firmware
// leaves callable is the optional FirmwareServices interface.
//
// Read-only once main() runs: boot_info() is const, and the mutable view
// (lib/boot/entry.h) is for entries and phase 5/6 only and refuses writes
// after boot::seal().
#pragma once

#include <cstddef>
#include <cstdint>

#include "boot/memmap.h"
#include "boot/services.h"
#include "cpu/addr.h"
#include "cpu/processor.h"
#include "platform/detected.h"

namespace boot {

enum class Entry : uint8_t { efi, pvh };
const char* entry_str(Entry e);

// Pixel layouts a linear framebuffer may have, whoever reported it.
enum class PixelLayout : uint8_t { rgbx8, bgrx8, bitmask };

struct PixelMask {
  uint32_t red, green, blue, reserved;
};

struct Framebuffer {
  bool present;
  PhysAddr base;
  uint64_t size;
  uint32_t width, height;
  uint32_t pixels_per_scan_line;
  PixelLayout layout;
  PixelMask mask;  // for PixelLayout::bitmask
};

// Memory an entry set aside for later phases; each range is also a loader
// range of the memory map, so the page allocator never hands it out.
struct Reservations {
  uint64_t trampoline_page;  // one page below 1 MiB for AP start-up, or 0
  // Contiguous pages below 1 MiB for the mode-switch trampoline
  // (lib/cpu/modeswitch.h: real mode and paging changes), or 0.
  uint64_t low_pages;
  uint64_t low_page_count;
  uint64_t pt_pool_base;  // page-table pool (physical)
  uint64_t pt_pool_pages;
  uint64_t ghcb_page;  // SEV-ES/SNP: one page for the GHCB, or 0
};

}  // namespace boot

struct BootInfo {
  boot::Entry entry;

  // The image as loaded.
  uint64_t image_base;
  uint64_t image_size;

  // Who started us, for the banner: the firmware vendor and revisions
  // under UEFI, the start-info version under PVH.
  char loader[64];
  uint32_t loader_revision;
  uint32_t spec_revision;  // UEFI: major << 16 | minor; PVH: hvm_start_info version

  // The memory map, normalised by the entry (lib/boot/memmap.h).
  static constexpr size_t kMaxRanges = 256;
  boot::MemRange mem[kMaxRanges];
  boot::MemStats mem_stats;

  // argv (lib/boot/cmdline.h has the rules, for every entry).
  int argc;
  char** argv;

  // Firmware tables (0 when absent).
  PhysAddr acpi_rsdp;
  PhysAddr smbios;
  PhysAddr smbios3;

  boot::Framebuffer fb;

  // CPU features, read with CPUID by the entry.
  cpu::Features features;

  // Whether QEMU's devices (isa-debug-exit, fw_cfg) exist, decided by the
  // entry before anything can end the guest (lib/boot/qemu.h).
  cpu::Hypervisor hypervisor;  // from the CPUID hypervisor leaf
  bool fw_cfg_probed;          // fw_cfg was read: only under KVM or TCG
  bool on_qemu;                // fw_cfg answered with the "QEMU" signature

  // Confidential-computing status (lib/platform/detect.h).
  platform::Detected detected;

  boot::Reservations reserved;

  // What the firmware leaves callable, or null (PVH).
  const boot::FirmwareServices* firmware;
};

// Read-only view for everything after the entry.
const BootInfo& boot_info();
