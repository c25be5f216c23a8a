// The UEFI entry, boot phases 3-4 (lib/boot/chain.h): the BootInfo
// snapshot, ExitBootServices, the normalised map; then phase 5.
//
// Ownership: until exit_boot_services() succeeds the firmware owns the
// machine (its GDT, IDT, page tables, timer interrupt and, under SEV-ES, its
// #VC handler), so everything that needs CPUID, MSRs or the firmware happens
// here, before. Output goes through ConOut only; the serial port belongs to
// the firmware's console until phase 5.
#include "cpu/addr.h"
#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/modeswitch_layout.h"
#include "cpu/processor.h"
#include "boot/chain.h"
#include "boot/cmdline.h"
#include "boot/entry.h"
#include "efi/efi.h"
#include "efi/exit_boot.h"
#include "efi/memmap.h"
#include "efi/services.h"
#include "efi/utf16.h"
#include "elf/reloc.h"
#include "platform/detect.h"
#include "esp/runner_link.h"
#include "rt/exit.h"
#include "rt/format.h"
#include "rt/string.h"

extern "C" const char test_name[];

namespace {

constexpr size_t kArgBufSize = 4096;
constexpr int kMaxArgs = 64;
constinit char arg_buf[kArgBufSize] = {};
constinit char* arg_ptrs[kMaxArgs + 1] = {};
// LoadOptions as UTF-8, what boot::parse_cmdline reads.
constinit char cmdline_utf8[kArgBufSize] = {};

void con_out(efi::SystemTable* st, const char* s) {
  char16_t buf[128];
  while (*s) {
    size_t n = 0;
    while (*s && n < 120) {
      if (*s == '\n') buf[n++] = u'\r';
      buf[n++] = static_cast<char16_t>(static_cast<unsigned char>(*s++));
    }
    buf[n] = 0;
    st->con_out->output_string(st->con_out, buf);
  }
}

// Fatal before ExitBootServices: the message goes to ConOut, the verdict to
// the runner as ERROR (the framework broke, not the subject under test).
[[noreturn]] void fail_early(efi::SystemTable* st, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fail_early(efi::SystemTable* st, const char* fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  rt::vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  con_out(st, "ERROR: ");
  con_out(st, line);
  con_out(st, "\n");
  platform_exit(Verdict::error);
}

uint64_t estimate_top_of_memory(const efi::MapBuffer& mb) {
  uint64_t top = 0;
  for (uint64_t off = 0; off + mb.desc_size <= mb.size; off += mb.desc_size) {
    auto* d = reinterpret_cast<const efi::MemoryDescriptor*>(
        reinterpret_cast<const uint8_t*>(mb.buf) + off);
    uint64_t end = d->physical_start + d->number_of_pages * kPageSize;
    if (end > top) top = end;
  }
  return top;
}

void gather_config_tables(efi::SystemTable* st) {
  BootInfo& info = boot::entry_info();
  uint64_t acpi1 = 0;
  for (uint64_t i = 0; i < st->number_of_table_entries; ++i) {
    const auto& t = st->configuration_table[i];
    uint64_t p = reinterpret_cast<uint64_t>(t.vendor_table);
    if (t.vendor_guid == efi::kAcpi20TableGuid) info.acpi_rsdp = PhysAddr(p);
    else if (t.vendor_guid == efi::kAcpi10TableGuid) acpi1 = p;
    else if (t.vendor_guid == efi::kSmbios3TableGuid) info.smbios3 = PhysAddr(p);
    else if (t.vendor_guid == efi::kSmbiosTableGuid) info.smbios = PhysAddr(p);
  }
  if (!info.acpi_rsdp.value) info.acpi_rsdp = PhysAddr(acpi1);
}

void gather_framebuffer(efi::BootServices* bs) {
  BootInfo& info = boot::entry_info();
  efi::GraphicsOutput* gop = nullptr;
  if (efi::is_error(bs->locate_protocol(&efi::kGraphicsOutputProtocolGuid, nullptr,
                                        reinterpret_cast<void**>(&gop))) ||
      !gop || !gop->mode || !gop->mode->info)
    return;
  const efi::GraphicsModeInfo* mi = gop->mode->info;
  if (mi->pixel_format == efi::PixelFormat::blt_only) return;
  boot::PixelLayout layout;
  switch (mi->pixel_format) {
    case efi::PixelFormat::rgbx8: layout = boot::PixelLayout::rgbx8; break;
    case efi::PixelFormat::bgrx8: layout = boot::PixelLayout::bgrx8; break;
    case efi::PixelFormat::bitmask: layout = boot::PixelLayout::bitmask; break;
    default: return;
  }
  const efi::PixelBitmask& m = mi->pixel_information;
  info.fb = boot::Framebuffer{true,
                              PhysAddr(gop->mode->frame_buffer_base),
                              gop->mode->frame_buffer_size,
                              mi->horizontal_resolution,
                              mi->vertical_resolution,
                              mi->pixels_per_scan_line,
                              layout,
                              boot::PixelMask{m.red, m.green, m.blue, m.reserved}};
}

void copy_vendor(const char16_t* v) {
  BootInfo& info = boot::entry_info();
  size_t n = 0;
  for (; v && v[n] && n + 1 < sizeof(info.loader); ++n)
    info.loader[n] = v[n] < 0x80 ? static_cast<char>(v[n]) : '?';
  info.loader[n] = 0;
}

}  // namespace

extern "C" efi::Status efi_main(efi::Handle image, efi::SystemTable* st) {
  BootInfo& info = boot::entry_info();
  efi::BootServices* bs = st->boot_services;
  info.entry = boot::Entry::efi;
  boot::detect_qemu(info);
  info.firmware = efi::runtime_services_adapter(st->runtime_services);
  info.loader_revision = st->firmware_revision;
  info.spec_revision = st->hdr.revision;
  copy_vendor(st->firmware_vendor);

  efi::LoadedImage* li = nullptr;
  if (efi::is_error(bs->handle_protocol(image, &efi::kLoadedImageProtocolGuid,
                                        reinterpret_cast<void**>(&li))) || !li)
    fail_early(st, "no EFI_LOADED_IMAGE_PROTOCOL on our own image handle");
  info.image_base = reinterpret_cast<uint64_t>(li->image_base);
  info.image_size = li->image_size;

  size_t cmdline_len = 0;
  if (!efi::utf16_to_utf8(li->load_options, li->load_options_size, cmdline_utf8,
                          sizeof(cmdline_utf8), &cmdline_len))
    fail_early(st, "command line rejected: %s (at most %zu bytes of UTF-8)",
               boot::argv_status_str(boot::ArgvStatus::too_long), sizeof(cmdline_utf8) - 1);
  boot::Argv cl{};
  boot::ArgvStatus cs = boot::parse_cmdline(cmdline_utf8, cmdline_len, test_name, arg_buf,
                                            sizeof(arg_buf), arg_ptrs, kMaxArgs, &cl);
  if (cs != boot::ArgvStatus::ok)
    fail_early(st, "command line rejected: %s (at most %d arguments, %zu bytes)",
               boot::argv_status_str(cs), kMaxArgs - 1, sizeof(arg_buf) - 1);
  info.argc = cl.argc;
  info.argv = cl.argv;
  esp::note_runner_launch(st);

  gather_config_tables(st);
  gather_framebuffer(bs);
  info.features = cpu::features();
  platform::detect_into(info);
  // Phase 5 must not touch an MSR before the GHCB exists (SEV-ES/SNP), so
  // EFER.NXE, which the NX bits of our page tables need, is set here, where
  // the firmware still serves #VC.
  if (info.features.nx) {
    const uint64_t efer = cpu::rdmsr(cpu::kMsrEfer);
    if (!(efer & cpu::efer::NXE)) cpu::wrmsr(cpu::kMsrEfer, efer | cpu::efer::NXE);
  }
  if (platform::has_ghcb(info.detected.platform)) {
    efi::PhysicalAddress ghcb = 0;
    if (efi::Status s = bs->allocate_pages(efi::AllocateType::any_pages,
                                           efi::MemoryType::loader_data, 1, &ghcb);
        efi::is_error(s))
      fail_early(st, "cannot reserve the GHCB page (status 0x%lx)", s);
    info.reserved.ghcb_page = ghcb;
  }

  // One page below 1 MiB for the AP start-up trampoline (SIPI vectors
  // address 4 KiB pages below 1 MiB, Intel SDM vol.3 §9.4.4.1).
  efi::PhysicalAddress tramp = 0xfffff;
  if (!efi::is_error(bs->allocate_pages(efi::AllocateType::max_address, efi::MemoryType::loader_data,
                                        1, &tramp)))
    info.reserved.trampoline_page = tramp;
  // Pages below 1 MiB for the mode-switch trampoline: real-mode code and
  // its segments must be reachable with 20-bit addresses (Intel SDM vol.3
  // §21.1.1). Loader data, like the trampoline page, so the page allocator
  // never hands them out (lib/efi/memmap.h: loader ranges stay in use).
  efi::PhysicalAddress low = 0xfffff;
  if (!efi::is_error(bs->allocate_pages(efi::AllocateType::max_address, efi::MemoryType::loader_data,
                                        modeswitch::kLowPages, &low)) && low) {
    info.reserved.low_pages = low;
    info.reserved.low_page_count = modeswitch::kLowPages;
  }

  efi::MapBuffer mb;
  if (efi::Status s = efi::allocate_map_buffer(bs, mb); efi::is_error(s))
    fail_early(st, "cannot allocate the memory-map buffer (status 0x%lx)", s);
  uint64_t key = 0;
  mb.size = mb.capacity;
  if (efi::Status s = bs->get_memory_map(&mb.size, mb.buf, &key, &mb.desc_size, &mb.desc_version);
      efi::is_error(s))
    fail_early(st, "GetMemoryMap failed (status 0x%lx)", s);

  // Page tables for everything the map describes plus the 4 GiB MMIO hole:
  // one page directory per GiB at worst (2 MiB pages), a PDPT per 512 GiB,
  // and room for 4 KiB splits of the image and for tests.
  uint64_t top = estimate_top_of_memory(mb);
  if (top < (4ull << 30)) top = 4ull << 30;
  info.reserved.pt_pool_pages = 64 + (top >> 30) + (top >> 39);
  efi::PhysicalAddress pool = 0;
  if (efi::Status s = bs->allocate_pages(efi::AllocateType::any_pages, efi::MemoryType::loader_data,
                                         info.reserved.pt_pool_pages, &pool);
      efi::is_error(s))
    fail_early(st, "cannot reserve %lu pages for page tables (status 0x%lx)",
               info.reserved.pt_pool_pages, s);
  info.reserved.pt_pool_base = pool;

  efi::Status s = efi::exit_boot_services(bs, image, mb);
  if (efi::is_error(s)) fail_early(st, "ExitBootServices failed (status 0x%lx)", s);
  cpu::cli();

  // Boot services are gone. From here to the #VC handler being live: no
  // CPUID, no MSR access, no port I/O (an SEV-ES guest would take a #VC
  // into a firmware handler that no longer exists). Normalising the final
  // map is plain computation.
  info.mem_stats = efi::normalise_memory_map(mb.buf, mb.size, mb.desc_size, info.mem,
                                             BootInfo::kMaxRanges);
  switch_stack(boot::boot_stack_top(), boot::takeover, &info);
}
