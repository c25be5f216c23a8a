#include "rt/exit.h"

#include "boot/bootinfo.h"
#include "boot/reset.h"
#include "platform/transport.h"
#include "esp/runner_link.h"

namespace {
// QEMU's isa-debug-exit, as scripts/run configures it.
constexpr uint16_t kDebugExitPort = 0xf4;
}  // namespace

void platform_exit(Verdict v) {
  // Under the ESP batch runner the verdict goes to a UEFI variable and the
  // reset boots the runner again (docs/esp.md).
  if (esp::launched_by_runner()) esp::record_for_runner(v);
  // Only QEMU has the device; elsewhere the port may decode to hardware.
  if (boot_info().on_qemu) platform::port_out(kDebugExitPort, 4, debug_exit_value(v));
  // Still here: no debug-exit device. Shut down through the firmware; the
  // runner sees no verdict then, which it reports as such.
  // Confidential guests skip the firmware's reset: it does port I/O through
  // our #VC/#VE, and the platform's own termination carries the verdict.
  // Without firmware services (PVH), the platform's own reset: FADT reset
  // register, port 0xCF9, the keyboard controller (lib/boot/reset.h).
  if (platform::transport_channel() == platform::Channel::port_io) {
    if (const boot::FirmwareServices* fw = boot_info().firmware; fw && fw->reset)
      fw->reset(boot::ResetKind::shutdown);
    else if (!fw)
      boot::reset_without_firmware();
  }
  platform::terminate(static_cast<uint8_t>(debug_exit_value(v)));
}
