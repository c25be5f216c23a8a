#include "verdict.h"

#include "supervisor.h"

namespace run {

using result::Outcome;

std::string counts_text(const result::Counts& c) {
  char space[256];
  result::TextBuf tb(space, sizeof(space));
  result::put_counts(tb, c);
  return std::string(tb.data(), tb.size());
}

void take_scan(const result::OutputScan& scan, VerdictInput* in) {
  in->have_summary = scan.have_summary();
  in->counts = scan.counts();
  in->fail_lines = scan.fail_lines();
  in->summary.assign(scan.summary_line().p, scan.summary_line().n);
  in->last_error.assign(scan.last_error().p, scan.last_error().n);
}

VerdictResult decide(const VerdictInput& in) {
  const result::Counts& c = in.counts;
  const std::string counts = counts_text(c);
  const bool failed = c.failures || in.fail_lines;
  if (!in.kvm_failure.empty()) return {Outcome::crash, "KVM failed while the guest ran: " + in.kvm_failure};
  if (in.timed_out) return {Outcome::timeout, "no verdict within " + in.timeout + "s"};
  const int st = in.status;
  if (st == qemu_status(Verdict::pass)) {
    if (!in.have_summary) return {Outcome::error, "guest exited PASS without a SUMMARY line"};
    if (failed) return {Outcome::error, "guest exited PASS but reported failures: " + counts};
    if (c.tests == 0 || c.skipped == c.tests)
      return {Outcome::error, "guest exited PASS but SUMMARY shows no passing check: " + counts};
    return {Outcome::pass, counts};
  }
  if (st == qemu_status(Verdict::skip)) {
    if (!in.have_summary) return {Outcome::error, "guest exited SKIP without a SUMMARY line"};
    if (failed) return {Outcome::error, "guest exited SKIP but reported failures: " + counts};
    return {Outcome::skip, counts};
  }
  if (st == qemu_status(Verdict::fail)) {
    if (in.have_summary && !failed) return {Outcome::fail, counts + "; guest exited FAIL although SUMMARY shows no failure"};
    if (!in.have_summary)
      return {Outcome::fail, "no SUMMARY line; " + std::to_string(in.fail_lines) + " failed checks" +
                                 (in.last_error.empty() ? "" : "; " + in.last_error)};
    return {Outcome::fail, counts};
  }
  if (st == qemu_status(Verdict::error))
    return {Outcome::error, in.last_error.empty() ? "guest reported ERROR" : in.last_error};
  if (st == 0) return {Outcome::crash, "guest reset or triple fault: no verdict"};
  if (st > 128 && st < 160) return {Outcome::crash, "QEMU killed by signal " + std::to_string(st - 128)};
  // QEMU's own errors: the last line of stderr that is not a warning.
  const std::string qerr = last_message(in.qemu_stderr, true);
  if ((st & 1) && qerr.empty()) {
    // An odd status with a silent QEMU is a debug-exit write that is none
    // of ours: (V << 1) | 1 for a V this framework never writes, e.g. the
    // 0 of a guest built by another framework.
    const std::string wrote = std::to_string((st - 1) >> 1), qs = std::to_string(st);
    if (in.fail_lines)
      return {Outcome::fail, std::to_string(in.fail_lines) + " failed checks; the guest wrote " + wrote +
                                 " to isa-debug-exit (QEMU exit status " + qs + "), no verdict of this framework"};
    return {Outcome::error, "the guest exited without a verdict of this framework: it wrote " + wrote +
                                " to isa-debug-exit (QEMU exit status " + qs + ")" +
                                (in.summary.empty() ? "" : "; " + in.summary)};
  }
  if (st == 1) return {Outcome::crash, "QEMU failed (exit 1)" + (qerr.empty() ? "" : ": " + qerr)};
  return {Outcome::error, "unexpected QEMU exit status " + std::to_string(st) + (qerr.empty() ? "" : ": " + qerr)};
}

}  // namespace run
