// The test side of the ESP batch runner (efi/runner.cc, docs/esp.md).
//
// The runner sets the volatile variable EfitestLaunch (lib/esp/vars.h)
// just before StartImage. In boot phase 3 the stub looks for it and notes
// the launch; at the end, platform_exit hands the verdict and
// the check counts to record_for_runner(), which stores them in the NV
// variable EfitestVerdict and resets the platform so that the firmware
// boots the runner again. A test started any other way (scripts/run, the
// UEFI shell) never sees the variable and exits as before.
#pragma once

#include "efi/efi.h"
#include "rt/verdict.h"

namespace esp {

// Boot phase 3 (boot services still up): notes a launch by the runner.
void note_runner_launch(efi::SystemTable* st);

// Whether note_runner_launch() found a launch by the runner.
bool launched_by_runner();

// Records `v` with report_counts() for the runner, then ResetSystem(cold)
// (UEFI 2.10 §8.5.1). Runs in physical mode through runtime services,
// before or after ExitBootServices. Does not return.
[[noreturn]] void record_for_runner(Verdict v);

}  // namespace esp
