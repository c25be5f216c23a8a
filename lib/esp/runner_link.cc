#include "esp/runner_link.h"

#include "cpu/processor.h"
#include "efi/bootinfo.h"
#include "esp/vars.h"
#include "rt/console.h"
#include "rt/report.h"

namespace esp {

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
  BootInfo& bi = boot_info_mut();
  bi.runner_launched = true;
  bi.runner_index = l.index;
  bi.runner_launch_seq = l.launch_seq;
}

bool launched_by_runner() { return boot_info().runner_launched; }

void record_for_runner(Verdict v) {
  const BootInfo& bi = boot_info();
  ReportCounts c = report_counts();
  VerdictRecord r;
  r.index = bi.runner_index;
  r.launch_seq = bi.runner_launch_seq;
  r.verdict = v;
  r.tests = c.tests;
  r.failures = c.failures;
  r.xfailures = c.xfailures;
  r.skipped = c.skipped;
  uint8_t buf[kVerdictSize];
  encode(r, buf);
  // If the write fails the runner finds no verdict and reports CRASH
  // after the reset; the console is the only other channel left.
  if (efi::Status s = bi.runtime->set_variable(kVerdictVar, &kVendorGuid, kNvAttrs, sizeof(buf), buf);
      efi::is_error(s))
    printf("ERROR: cannot record the verdict for the ESP runner (SetVariable status 0x%lx)\n", s);
  bi.runtime->reset_system(efi::ResetType::cold, efi::kSuccess, 0, nullptr);
  cpu::halt_forever();
}

}  // namespace esp
