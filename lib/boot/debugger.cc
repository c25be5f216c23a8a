// The wait for a debugger before main() (lib/boot/debugger.h).
#include "boot/debugger.h"

#include "boot/bootinfo.h"
#include "fwcfg/device.h"
#include "fwcfg/format.h"
#include "mem/memory.h"
#include "platform/detect.h"
#include "rt/console.h"
#include "timer/clock.h"

volatile uint32_t efitest_gdb_wait = 0;  // declared extern "C" in the header

namespace {

// True when the host put kDebuggerFwCfgFile into fw_cfg.
bool debugger_requested(const BootInfo& bi) {
  // fw_cfg's ports only where the entry saw QEMU's signature (boot/entry.h
  // detect_qemu): real hardware may decode 0x510 as something else.
  if (!bi.on_qemu) return false;
  fwcfg::Device dev;
  // DMA writes guest-physical memory the host can see: not under SEV/TDX.
  if (dev.probe(!platform::is_confidential(bi.detected.platform)) != fwcfg::Status::ok) return false;
  const auto dir_selector = static_cast<uint16_t>(fwcfg::Item::file_dir);
  uint8_t header[fwcfg::kDirHeaderSize];
  if (dev.read(dir_selector, header, sizeof header) != fwcfg::Status::ok) return false;
  const uint32_t size = fwcfg::dir_size(fwcfg::dir_count(header));
  if (size == 0) return false;
  auto* dir = static_cast<uint8_t*>(malloc(size));
  if (!dir) return false;
  fwcfg::File file{};
  const bool found = dev.read(dir_selector, dir, size) == fwcfg::Status::ok &&
                     fwcfg::find_file(dir, size, kDebuggerFwCfgFile, &file) == fwcfg::DirStatus::ok;
  free(dir);
  return found;
}

}  // namespace

namespace boot {

void wait_for_debugger(const BootInfo& bi) {
  if (!debugger_requested(bi)) return;
  efitest_gdb_wait = 1;
  printf("efitest: waiting for gdb: image base 0x%llx\n",
         static_cast<unsigned long long>(bi.image_base));
  const bool attached =
      timer::wait_until([] { return efitest_gdb_wait == 0; }, kDebuggerWaitSeconds * 1000000000ull);
  if (!attached) {
    printf("efitest: no debugger cleared efitest_gdb_wait within %llu s; going on\n",
           static_cast<unsigned long long>(kDebuggerWaitSeconds));
    efitest_gdb_wait = 0;
  }
}

}  // namespace boot
