// Ending the guest. The verdict leaves through the platform's channel:
// isa-debug-exit under QEMU, then the firmware's reset (BootInfo::firmware) as the fallback
// where no such device answered (lib/rt/verdict.h has the encoding).
#pragma once

#include "rt/verdict.h"

// kvm-unit-tests semantics: 0 pass, 77 skip, 99 error, anything else fail.
// Prints the SUMMARY line if it has not been printed, and combines the code
// with what the checks so far imply (the more severe wins).
[[noreturn]] void exit(int code);

// Ends the guest with exactly this verdict, printing nothing.
[[noreturn]] void platform_exit(Verdict v);

// For tests that need a QEMU test device (isa-debug-exit, fw_cfg, ...):
// true under QEMU, else report_skip()s naming `what` and returns false.
//   if (!require_qemu_device("pc-testdev")) return report_summary();
bool require_qemu_device(const char* what);

constexpr Verdict verdict_of_exit_code(int code) {
  return code == 0 ? Verdict::pass : code == 77 ? Verdict::skip
       : code == 99 ? Verdict::error : Verdict::fail;
}
