#include "esp/runner_link.h"

#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "esp/vars.h"
#include "rt/console.h"
#include "rt/report.h"

namespace esp {
namespace {

// Noted in phase 3 when the runner started this image.
struct RunnerLaunch {
  bool launched;
  uint32_t index;
  uint32_t launch_seq;
};
constinit RunnerLaunch launch = {};

}  // namespace

void note_runner_launch(efi::SystemTable* st) {
  efi::RuntimeServices* rt = st->runtime_services;
  uint8_t buf[kLaunchSize];
  uint64_t size = sizeof(buf);
  uint32_t attrs = 0;
  Launch l;
  if (efi::is_error(rt->get_variable(kLaunchVar, &kVendorGuid, &attrs, &size, buf)) ||
      !decode(buf, size, &l))
    return;
  // Consumed here: should this image return to the runner instead of
  // resetting, nothing must make a later image believe it was launched.
  rt->set_variable(kLaunchVar, &kVendorGuid, kVolatileAttrs, 0, nullptr);
  launch = RunnerLaunch{true, l.index, l.launch_seq};
}

bool launched_by_runner() { return launch.launched; }

void record_for_runner(Verdict v) {
  const boot::FirmwareServices* fw = boot_info().firmware;
  ReportCounts c = report_counts();
  VerdictRecord r;
  r.index = launch.index;
  r.launch_seq = launch.launch_seq;
  r.verdict = v;
  r.tests = c.tests;
  r.failures = c.failures;
  r.xfailures = c.xfailures;
  r.skipped = c.skipped;
  uint8_t buf[kVerdictSize];
  encode(r, buf);
  // If the write fails the runner finds no verdict and reports CRASH
  // after the reset; the console is the only other channel left.
  if (!fw || !fw->set_variable || !fw->reset) {
    printf("ERROR: cannot record the verdict for the ESP runner (no firmware services)\n");
    cpu::halt_forever();
  }
  if (uint64_t s = fw->set_variable(kVerdictVar, &kVendorGuid, kNvAttrs, sizeof(buf), buf); s)
    printf("ERROR: cannot record the verdict for the ESP runner (SetVariable status 0x%lx)\n", s);
  fw->reset(boot::ResetKind::cold);
  cpu::halt_forever();
}

}  // namespace esp
