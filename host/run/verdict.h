// The verdict of one run, from QEMU's exit status and what the guest's
// output says (lib/result/guest_output.h). The debug-exit statuses and
// exit codes are lib/rt/verdict.h's; the outcomes lib/result/outcome.h's.
//
// A status the guest wrote is believed only when the output backs it up:
// PASS and SKIP need a SUMMARY line and no failed check, PASS at least one
// passing check; FAIL outranks everything, so an inconsistent SUMMARY is
// noted but does not change it. A KVM failure, a reset, a timeout, a QEMU
// killed by a signal, QEMU's own errors and debug-exit values of another
// framework each have their wording.
#pragma once

#include <cstdint>
#include <string>

#include "result/guest_output.h"
#include "result/outcome.h"

namespace run {

// QEMU's exit status when the guest writes V to isa-debug-exit.
constexpr int qemu_status(Verdict v) { return static_cast<int>(debug_exit_value(v) << 1 | 1); }

struct VerdictInput {
  int status = 0;          // QEMU's exit status, or 128 + the signal that ended it
  bool timed_out = false;  // the runner's timeout ended it
  std::string timeout;     // the timeout's seconds as shown ("90")
  std::string kvm_failure; // QEMU's message when KVM failed
  std::string qemu_stderr;
  // Of the guest output.
  bool have_summary = false;
  result::Counts counts;
  uint32_t fail_lines = 0;
  std::string summary, last_error;
};

struct VerdictResult {
  result::Outcome outcome;
  std::string detail;
};

VerdictResult decide(const VerdictInput& in);

// The counts in their one wording (result::put_counts).
std::string counts_text(const result::Counts& c);

// The input's guest-output part from an output scan.
void take_scan(const result::OutputScan& scan, VerdictInput* in);

}  // namespace run
