#include "rt/exit.h"

#include "cpu/processor.h"
#include "efi/bootinfo.h"
#include "esp/runner_link.h"
#include "rt/console.h"
#include "rt/report.h"

namespace {
// QEMU's isa-debug-exit, as scripts/run configures it.
constexpr uint16_t kDebugExitPort = 0xf4;
}  // namespace

void platform_exit(Verdict v) {
  // Under the ESP batch runner the verdict goes to a UEFI variable and the
  // reset boots the runner again (docs/esp.md).
  if (esp::launched_by_runner()) esp::record_for_runner(v);
  cpu::outl(kDebugExitPort, debug_exit_value(v));
  // Still here: no debug-exit device. Shut down through the firmware; the
  // runner sees no verdict then, which it reports as such.
  if (efi::RuntimeServices* rt = boot_info().runtime)
    rt->reset_system(efi::ResetType::shutdown, efi::kSuccess, 0, nullptr);
  cpu::halt_forever();
}

void exit(int code) {
  int summary = report_summary();
  Verdict v = worse(verdict_of_exit_code(code), verdict_of_exit_code(summary));
  platform_exit(v);
}
