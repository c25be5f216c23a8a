// loader: the fast-run loader (docs/running.md, "Fast runs").
//
// Booting OVMF costs seconds; a test costs milliseconds. scripts/run boots
// this application once per VM shape, saves the VM while it waits here, and
// restores that snapshot for each test with the test image and its command
// line added as fw_cfg files. So this code runs in two lives:
//
//   cold boot ─► probe fw_cfg ─► print the ready line ─► poll the fw_cfg
//              directory (the host saves the VM somewhere in this loop)
//   restore   ─► the next poll finds opt/efitest/test.efi ─► LoadImage from
//              the buffer, LoadOptions from opt/efitest/cmdline ─► StartImage
//
// The test must not be able to tell this from a cold `-kernel` boot, so the
// child gets the LoadOptions OVMF would have built (lib/fwcfg/load_options.h),
// the 5-minute watchdog the boot manager arms for a boot option, and the
// loader frees everything it no longer needs before StartImage.
//
// The runner's snapshot cache (host/run/snapshot.h) boots a copy marked
// as a boot-service driver, so that the loader's own pages are
// boot-services memory (free once the test exits boot services) and the
// test's memory map has the cold-boot shape.
// Its allocations are boot-services data for the same reason.
//
// Every failure prints "ERROR: loader: <reason>" and ends the VM with the
// ERROR status; scripts/run sees that prefix and retries with a cold boot.
// The loader stays in boot services throughout and uses only ConOut, Stall
// and fw_cfg.
#include <cstdarg>

#include "cpu/processor.h"
#include "efi/conout.h"
#include "efi/efi.h"
#include "fwcfg/device.h"
#include "fwcfg/format.h"
#include "fwcfg/load_options.h"
#include "rt/verdict.h"

using efi::con_printf;

namespace {

// The names the snapshot cache (host/run/snapshot.h) passes with -fw_cfg.
constexpr char kImageFile[] = "opt/efitest/test.efi";
constexpr char kCmdlineFile[] = "opt/efitest/cmdline";
constexpr uint16_t kDebugExitPort = 0xf4;
// Short enough to be invisible next to a restore, long enough that the VM
// being saved mostly idles in the firmware's Stall.
constexpr uint64_t kPollMicroseconds = 1000;
// UEFI 2.10 §3.1.2: the boot manager arms a 5-minute watchdog before it
// starts a boot option; a cold-booted test runs under it, so ours does too.
constexpr uint64_t kBootWatchdogSeconds = 300;
constexpr uint32_t kMaxCmdline = 64 * 1024;

constinit efi::BootServices* bs = nullptr;

[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  con_printf("ERROR: loader: ");
  efi::con_vprintf(fmt, ap);
  con_printf("\n");
  va_end(ap);
  cpu::outl(kDebugExitPort, debug_exit_value(Verdict::error));
  cpu::halt_forever();
}

// Boot-services data, like the buffers OVMF uses for a cold `-kernel` boot:
// free memory after ExitBootServices, where loader data would split a
// usable range of the test's memory map.
void* allocate(uint64_t size, const char* what) {
  void* p = nullptr;
  efi::Status s = bs->allocate_pool(efi::MemoryType::boot_services_data, size ? size : 1, &p);
  if (efi::is_error(s)) fail("cannot allocate %llu bytes for %s (status %#llx)",
                             static_cast<unsigned long long>(size), what,
                             static_cast<unsigned long long>(s));
  return p;
}

void read_item(fwcfg::Device& dev, uint16_t selector, void* buf, uint32_t len, const char* what) {
  fwcfg::Status s = dev.read(selector, buf, len);
  if (s != fwcfg::Status::ok) fail("reading %s: %s", what, fwcfg::status_str(s));
}

constexpr unsigned kMaxDirChanges = 3;
unsigned dir_changes = 0;

// Looks both files up in one read of the directory. Returns false while the
// image is not there yet.
bool find_files(fwcfg::Device& dev, fwcfg::File* image, fwcfg::File* cmdline, bool* have_cmdline) {
  uint8_t header[fwcfg::kDirHeaderSize];
  auto dir_selector = static_cast<uint16_t>(fwcfg::Item::file_dir);
  read_item(dev, dir_selector, header, sizeof header, "the fw_cfg file directory");
  uint32_t size = fwcfg::dir_size(fwcfg::dir_count(header));
  if (size == 0) fail("fw_cfg directory claims %u entries", fwcfg::dir_count(header));
  auto* dir = static_cast<uint8_t*>(allocate(size, "the fw_cfg file directory"));
  read_item(dev, dir_selector, dir, size, "the fw_cfg file directory");
  bool found = false;
  switch (fwcfg::find_file(dir, size, kImageFile, image)) {
    case fwcfg::DirStatus::ok: found = true; break;
    case fwcfg::DirStatus::not_found: break;
    case fwcfg::DirStatus::truncated:
      // The VM may have been saved between the two reads above: the
      // restored VM's directory then has the test's files as well, and the
      // next poll reads it whole. Only a directory that keeps changing is
      // an error.
      if (++dir_changes > kMaxDirChanges)
        fail("fw_cfg directory changed while it was read, %u times", dir_changes);
      break;
  }
  *have_cmdline = found && fwcfg::find_file(dir, size, kCmdlineFile, cmdline) == fwcfg::DirStatus::ok;
  bs->free_pool(dir);
  return found;
}

// The LoadOptions OVMF would give the image for `-append <cmdline>`; null
// (size 0) without a command line, as for a cold boot without -append.
char16_t* load_options(fwcfg::Device& dev, const fwcfg::File& file, uint32_t* size_bytes) {
  *size_bytes = 0;
  if (file.size > kMaxCmdline) fail("%s is %u bytes, more than %u", kCmdlineFile, file.size, kMaxCmdline);
  auto* text = static_cast<char*>(allocate(file.size, kCmdlineFile));
  read_item(dev, file.selector, text, file.size, kCmdlineFile);
  size_t units = fwcfg::load_options_units(text, file.size);
  char16_t* options = nullptr;
  if (units) {
    options = static_cast<char16_t*>(allocate(units * sizeof(char16_t), "LoadOptions"));
    *size_bytes = static_cast<uint32_t>(fwcfg::build_load_options(text, file.size, options, units));
  }
  bs->free_pool(text);
  return options;
}

}  // namespace

extern "C" efi::Status efi_main(efi::Handle image_handle, efi::SystemTable* st) {
  efi::conout_init(st);
  bs = st->boot_services;
  // The boot manager's watchdog would reset a VM that waits in a snapshot
  // for longer than 5 minutes of guest time; the child gets it back below.
  bs->set_watchdog_timer(0, 0, 0, nullptr);

  fwcfg::Device dev;
  if (fwcfg::Status s = dev.probe(); s != fwcfg::Status::ok) fail("%s", fwcfg::status_str(s));
  // The snapshot cache (host/run/snapshot_build.cc) waits for this exact line before saving the VM.
  con_printf("loader: ready, waiting for %s on fw_cfg (%s)\n", kImageFile,
             dev.uses_dma() ? "DMA" : "port I/O");

  fwcfg::File image{}, cmdline{};
  bool have_cmdline = false;
  while (!find_files(dev, &image, &cmdline, &have_cmdline)) bs->stall(kPollMicroseconds);

  if (image.size == 0) fail("%s is empty", kImageFile);
  void* buf = allocate(image.size, kImageFile);
  read_item(dev, image.selector, buf, image.size, kImageFile);
  efi::Handle child = nullptr;
  efi::Status s = bs->load_image(false, image_handle, nullptr, buf, image.size, &child);
  bs->free_pool(buf);
  if (efi::is_error(s)) fail("LoadImage of %s (%u bytes) failed: status %#llx", kImageFile, image.size,
                             static_cast<unsigned long long>(s));

  efi::LoadedImage* loaded = nullptr;
  s = bs->handle_protocol(child, &efi::kLoadedImageProtocolGuid, reinterpret_cast<void**>(&loaded));
  if (efi::is_error(s) || !loaded) fail("no LoadedImage protocol on the test image: status %#llx",
                                        static_cast<unsigned long long>(s));
  if (have_cmdline) loaded->load_options = load_options(dev, cmdline, &loaded->load_options_size);

  bs->set_watchdog_timer(kBootWatchdogSeconds, 0, 0, nullptr);
  s = bs->start_image(child, nullptr, nullptr);
  // A test image never returns: it exits boot services and ends the VM.
  fail("the test image returned to the loader: status %#llx", static_cast<unsigned long long>(s));
}
