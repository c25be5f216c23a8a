// The result formats: TAP 13 and JUnit XML, written by the one code that
// run_tests.sh (through the host program) and the ESP runner (lib/esp)
// share. Portable; writes into a TextBuf, which with a sink streams.
//
// TAP (https://testanything.org/tap-version-13-specification.html): one
// line per test, with the guest's checks before it as an indented subtest
// (the layout prove and Test::More use) and, for anything but a pass, a
// YAML block with the verdict, the reason, the log or image and the
// duration; a test that printed BENCH lines gets a YAML block with them,
// a pass included. XFAIL checks are TODO, so a known deviation does not fail the
// stream; XPASS is "not ok" because it counts as a failure.
//
// JUnit: FAIL maps to <failure>, SKIP to <skipped>, and ERROR, CRASH,
// TIMEOUT and INTERRUPTED to <error> with the outcome as its type, so that
// CI tells a broken subject from a broken run.
#pragma once

#include <cstdint>

#include "result/guest_output.h"
#include "result/outcome.h"
#include "result/text.h"

namespace result {

struct TestReport {
  Str name;
  Outcome outcome = Outcome::error;
  Str detail;      // the reason: counts, or what went wrong
  uint64_t ms = 0; // how long it ran
  Str classname;   // JUnit classname
  Str log;         // the test's log file, if any
  Str image;       // the test's image, if any
  // The guest's BENCH lines, kept in the YAML block (even of a pass) so
  // that two runs can be compared.
  const Bench* bench = nullptr;
  size_t bench_count = 0;
};

void tap_plan(TextBuf& out, uint32_t count);

// The checks of one test, as the subtest that precedes its line.
class TapSubtest {
 public:
  TapSubtest(TextBuf& out, Str name) : out_(out), name_(name) {}
  void add(const Check& c);
  void finish();  // the subtest's plan, when there was a check

 private:
  TextBuf& out_;
  Str name_;
  uint32_t n_ = 0;
};

void tap_test(TextBuf& out, uint32_t number, const TestReport& r);

struct JUnitSuite {
  Str name;
  uint32_t tests = 0, failures = 0, errors = 0, skipped = 0;
  uint64_t wall_ms = 0;
  uint64_t started = 0;  // seconds since 1970, 0 if unknown
  Str hostname;
  void count(Outcome o);
};

void junit_begin(TextBuf& out, const JUnitSuite& s);
// <testcase ...> and its failure, skipped or error element.
void junit_case_begin(TextBuf& out, const TestReport& r);
// The test's output inside <system-out>: begin, cleaned lines, end.
void junit_output_begin(TextBuf& out);
void junit_output_line(TextBuf& out, Str line);
void junit_output_end(TextBuf& out);
void junit_case_end(TextBuf& out);
void junit_end(TextBuf& out);

// "2024-05-01T12:34:56" (UTC).
void put_iso8601(TextBuf& out, uint64_t epoch_seconds);

}  // namespace result
