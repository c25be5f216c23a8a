// The per-test verdict (host/run/verdict.h): every row of the table, from
// QEMU's exit status and the guest output as the reader sees it, with the
// detail wording scripts/run has always printed; and the run's Record,
// the one channel of its result.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../host/run/record.h"
#include "../../host/run/verdict.h"

namespace {

using result::Outcome;

run::VerdictInput from_output(int status, const std::vector<std::string>& lines) {
  run::VerdictInput in;
  in.status = status;
  in.timeout = "90";
  result::OutputScan scan;
  for (std::string l : lines) {
    l.resize(result::clean_line(l.data(), l.size()));
    scan.feed(result::Str(l.data(), l.size()));
  }
  run::take_scan(scan, &in);
  return in;
}

struct Row {
  const char* what;
  int status;
  std::vector<std::string> output;
  Outcome outcome;
  std::string detail;
};

TEST(RunVerdict, Table) {
  const int pass = run::qemu_status(Verdict::pass), skip = run::qemu_status(Verdict::skip),
            error = run::qemu_status(Verdict::error), fail = run::qemu_status(Verdict::fail);
  EXPECT_EQ(pass, 33);
  EXPECT_EQ(skip, 35);
  EXPECT_EQ(error, 37);
  EXPECT_EQ(fail, 39);
  const std::string s2_1 = "SUMMARY: 2 tests, 0 unexpected failures, 1 skipped";
  const Row rows[] = {
      {"pass", pass, {"PASS: a", "SKIP: b", s2_1}, Outcome::pass, "2 tests, 1 skipped"},
      {"xfail", pass, {"PASS: a", "XFAIL: b", "SUMMARY: 2 tests, 0 unexpected failures, 1 expected failures, 0 skipped"},
       Outcome::pass, "2 tests, 1 expected failures"},
      {"pass without SUMMARY", pass, {"INFO: x"}, Outcome::error, "guest exited PASS without a SUMMARY line"},
      {"pass with failures", pass, {"FAIL: a", "SUMMARY: 1 tests, 1 unexpected failures, 0 skipped"}, Outcome::error,
       "guest exited PASS but reported failures: 1 tests, 1 unexpected failures"},
      {"pass with an XPASS", pass, {"XPASS: a", "SUMMARY: 1 tests, 0 unexpected failures, 0 skipped"}, Outcome::error,
       "guest exited PASS but reported failures: 1 tests"},
      {"pass, all skipped", pass, {"SKIP: a", "SUMMARY: 1 tests, 0 unexpected failures, 1 skipped"}, Outcome::error,
       "guest exited PASS but SUMMARY shows no passing check: 1 tests, 1 skipped"},
      {"skip", skip, {"SKIP: a", "SUMMARY: 1 tests, 0 unexpected failures, 1 skipped"}, Outcome::skip,
       "1 tests, 1 skipped"},
      {"skip without SUMMARY", skip, {"SKIP: a"}, Outcome::error, "guest exited SKIP without a SUMMARY line"},
      {"skip with failures", skip, {"FAIL: a", "SUMMARY: 1 tests, 1 unexpected failures, 0 skipped"}, Outcome::error,
       "guest exited SKIP but reported failures: 1 tests, 1 unexpected failures"},
      {"fail", fail, {"PASS: a", "FAIL: b", "SUMMARY: 2 tests, 1 unexpected failures, 0 skipped"}, Outcome::fail,
       "2 tests, 1 unexpected failures"},
      {"fail without SUMMARY", fail, {"FAIL: #GP"}, Outcome::fail, "no SUMMARY line; 1 failed checks"},
      {"fail without SUMMARY, with an error", fail, {"FAIL: a", "ERROR: out of memory"}, Outcome::fail,
       "no SUMMARY line; 1 failed checks; out of memory"},
      {"fail that SUMMARY contradicts", fail, {"PASS: a", "SUMMARY: 1 tests, 0 unexpected failures, 0 skipped"},
       Outcome::fail, "1 tests; guest exited FAIL although SUMMARY shows no failure"},
      {"error", error, {"ERROR: could not take over the machine"}, Outcome::error,
       "could not take over the machine"},
      {"error without a message", error, {}, Outcome::error, "guest reported ERROR"},
      {"triple fault", 0, {"PASS: a"}, Outcome::crash, "guest reset or triple fault: no verdict"},
      {"killed", 128 + 9, {}, Outcome::crash, "QEMU killed by signal 9"},
      {"foreign zero", 1, {"PASS: other framework"}, Outcome::error,
       "the guest exited without a verdict of this framework: it wrote 0 to isa-debug-exit (QEMU exit status 1)"},
      {"foreign with failures", 3, {"PASS: a", "FAIL: b"}, Outcome::fail,
       "1 failed checks; the guest wrote 1 to isa-debug-exit (QEMU exit status 3), no verdict of this framework"},
      {"foreign with a SUMMARY", 5, {"SUMMARY: 3 tests, 0 unexpected failures, 0 skipped"}, Outcome::error,
       "the guest exited without a verdict of this framework: it wrote 2 to isa-debug-exit (QEMU exit status 5); "
       "SUMMARY: 3 tests, 0 unexpected failures, 0 skipped"},
      {"unexpected even status", 2, {}, Outcome::error, "unexpected QEMU exit status 2"},
  };
  for (const Row& r : rows) {
    run::VerdictResult v = run::decide(from_output(r.status, r.output));
    EXPECT_EQ(v.outcome, r.outcome) << r.what;
    EXPECT_EQ(v.detail, r.detail) << r.what;
  }
}

TEST(RunVerdict, QemuErrorsOnStderr) {
  run::VerdictInput in = from_output(1, {});
  in.qemu_stderr = "qemu-system-x86_64: warning: TCG does not support requested feature\n"
                   "qemu-system-x86_64: -smp 9999: too many CPUs\n\n";
  run::VerdictResult v = run::decide(in);
  EXPECT_EQ(v.outcome, Outcome::crash);
  EXPECT_EQ(v.detail, "QEMU failed (exit 1): qemu-system-x86_64: -smp 9999: too many CPUs");
  // A warning alone leaves an odd status to the debug-exit reading.
  in.qemu_stderr = "qemu-system-x86_64: warning: TCG does not support requested feature\n";
  EXPECT_EQ(run::decide(in).outcome, Outcome::error);
  in.status = 2;
  in.qemu_stderr = "qemu: " + std::string(300, 'x') + "\n";
  EXPECT_EQ(run::decide(in).detail, "unexpected QEMU exit status 2: " + ("qemu: " + std::string(300, 'x')).substr(0, 160));
}

TEST(RunVerdict, TimeoutAndKvmOutrankTheStatus) {
  run::VerdictInput in = from_output(run::qemu_status(Verdict::pass),
                                     {"PASS: a", "SUMMARY: 1 tests, 0 unexpected failures, 0 skipped"});
  in.timed_out = true;
  in.timeout = "1.5";
  EXPECT_EQ(run::decide(in).outcome, Outcome::timeout);
  EXPECT_EQ(run::decide(in).detail, "no verdict within 1.5s");
  in.kvm_failure = "KVM internal error. Suberror: 1";
  EXPECT_EQ(run::decide(in).outcome, Outcome::crash);
  EXPECT_EQ(run::decide(in).detail, "KVM failed while the guest ran: KVM internal error. Suberror: 1");
}

TEST(RunRecord, RoundTrip) {
  run::Record r;
  r.outcome = Outcome::timeout;
  r.detail = "no verdict within 8s";
  r.accel = "tcg";
  r.timeout = "8";
  r.boot = "warm";
  r.boot_reason = "";
  r.have_counts = true;
  r.counts = {3, 1, 0, 1};
  const std::string text = r.text();
  EXPECT_EQ(text,
            "verdict=TIMEOUT\ndetail=no verdict within 8s\naccel=tcg\ntimeout=8\nboot=warm\nboot_reason=\n"
            "tests=3\nfailures=1\nxfailures=0\nskipped=1\n");
  run::Record back;
  ASSERT_TRUE(run::Record::parse(text, &back));
  EXPECT_EQ(back.outcome, Outcome::timeout);
  EXPECT_EQ(back.detail, r.detail);
  EXPECT_EQ(back.boot, "warm");
  EXPECT_TRUE(back.have_counts);
  EXPECT_EQ(back.counts, r.counts);
}

TEST(RunRecord, OneLinePerKeyAndAVerdictIsRequired) {
  run::Record r;
  r.outcome = Outcome::error;
  r.detail = "two\nlines";
  EXPECT_EQ(r.text(), "verdict=ERROR\ndetail=two lines\naccel=\ntimeout=\nboot=\nboot_reason=\n");
  run::Record out;
  EXPECT_FALSE(run::Record::parse("", &out));
  EXPECT_FALSE(run::Record::parse("detail=x\n", &out));
  EXPECT_FALSE(run::Record::parse("verdict=MAYBE\n", &out));
  ASSERT_TRUE(run::Record::parse("verdict=INTERRUPTED\ndetail=SIGTERM", &out));
  EXPECT_EQ(out.outcome, Outcome::interrupted);
  EXPECT_FALSE(out.have_counts);
}

}  // namespace
