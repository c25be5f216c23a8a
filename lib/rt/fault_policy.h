// The runtime's policy for what the cpu layer cannot decide itself: an
// exception that no test expected (lib/cpu/exceptions.h) and a fatal
// framework error in a cpu-layer service (lib/cpu/fatal.h).
//
//  - Unexpected exception: "Unhandled exception <vector> (vector N) on CPU
//    C[, error code E]", the registers and a backtrace on the console, then
//    a FAIL check naming the vector and rip, and exit(1): the test ends as
//    FAIL. One raised while that report runs prints a single FATAL line and
//    ends the guest as FAIL at once.
//  - Fatal error: report_abort, so "ERROR: <prefix><message>" and
//    Verdict::error.
//
// Phase 6 installs it first thing (lib/boot/phase6_bringup.cc), before
// anything a test can reach runs; earlier faults meet the cpu layer's own
// fallback (a FATAL line and a shutdown, the runner's CRASH).
#pragma once

namespace rt {

void install_fault_policy();

}  // namespace rt
