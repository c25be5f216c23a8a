// The test author's API, in the style of kvm-unit-tests.
//
// Every check prints one line, "PASS: <prefix>: <msg>" (or FAIL, SKIP,
// XFAIL, XPASS), prefixes nest, and report_summary() prints
//   SUMMARY: N tests, F unexpected failures, S skipped
// (", X expected failures" is inserted before "skipped" when X > 0) and
// returns the exit code. A test that makes no check at all ends as ERROR:
// it proved nothing.
//
//   int main(int argc, char** argv) {
//     report(cpuid(0).eax >= 1, "max basic leaf");
//     return report_summary();
//   }
#pragma once

#include "rt/verdict.h"

void report(bool pass, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void report_pass(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void report_fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void report_skip(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// A check that is known to fail when `xfail` holds: a failure then prints
// XFAIL and does not count as unexpected; a pass prints XPASS and counts as
// an unexpected failure, so the expectation gets revisited.
void report_xfail(bool xfail, bool pass, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
void report_info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

void report_prefix_push(const char* prefix);
void report_prefix_pushf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void report_prefix_pop();
// The calling CPU's prefix, as its next line will carry it ("a: b: ").
// Prefixes are per CPU: what one CPU pushes never shows on another's
// lines. A function that on_cpu runs starts from its caller's prefix as it
// was when the call was posted.
const char* report_prefix();
// For smp's call mailbox: gives CPU `cpu`, which must be idle, the calling
// CPU's current prefix as the base of its next call.
void report_prefix_hand_over(unsigned cpu);

// The framework itself broke (not the subject under test): prints
// "ERROR: ..." and ends the guest with Verdict::error.
[[noreturn]] void report_abort(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Prints the SUMMARY line (once) and returns the exit code it implies.
int report_summary();

// Ends the test with kvm-unit-tests semantics: 0 pass, 77 skip, 99 error,
// anything else fail. Prints the SUMMARY line if it has not been printed,
// and combines the code with what the checks so far imply (the more severe
// wins); then platform_exit (rt/exit.h).
[[noreturn]] void exit(int code);

// For tests that need a QEMU test device (isa-debug-exit, fw_cfg, ...):
// true under QEMU, else report_skip()s naming `what` and returns false.
//   if (!require_qemu_device("pc-testdev")) return report_summary();
bool require_qemu_device(const char* what);

// The verdict the counters imply so far.
Verdict report_verdict();

struct ReportCounts {
  unsigned tests, failures, xfailures, skipped;
};
ReportCounts report_counts();

// Scoped prefix: pushed for the lifetime of the object.
class ReportPrefix {
 public:
  explicit ReportPrefix(const char* p) { report_prefix_push(p); }
  ~ReportPrefix() { report_prefix_pop(); }
  ReportPrefix(const ReportPrefix&) = delete;
  ReportPrefix& operator=(const ReportPrefix&) = delete;
};
