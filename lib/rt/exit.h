// Ending the guest. The verdict leaves through the platform's channel:
// isa-debug-exit under QEMU, then the firmware's reset (BootInfo::firmware) as the fallback
// where no such device answered (lib/rt/verdict.h has the encoding).
//
// This is the bottom of the runtime: it knows nothing of checks or
// summaries. exit(int), which combines a test's code with what its checks
// imply, sits with report_summary in rt/report.h.
#pragma once

#include "rt/verdict.h"

// Ends the guest with exactly this verdict, printing nothing.
[[noreturn]] void platform_exit(Verdict v);

constexpr Verdict verdict_of_exit_code(int code) {
  return code == 0 ? Verdict::pass : code == 77 ? Verdict::skip
       : code == 99 ? Verdict::error : Verdict::fail;
}
