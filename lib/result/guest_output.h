// Reading a guest's serial output: the one parser of the lines the report
// API prints (rt/report.h), shared by every runner.
//
//   PASS: <text>   FAIL: <text>   SKIP: <text>   XFAIL: <text>   XPASS: <text>
//   SUMMARY: 5 tests, 1 unexpected failures, 2 expected failures, 1 skipped
//   ERROR: <text>                 (the framework's own errors)
//   ERROR: loader: <text>         (the fast-run loader's)
//   BENCH <name> <value>          (a measurement, e.g. x86/vmexit's cycles)
//
// Lines arrive raw from a serial port: clean_line first removes what a
// terminal would interpret (OVMF clears the screen with CSI sequences), CRs,
// other control characters and bytes that are not UTF-8, so that line
// starts match and the text is safe inside TAP and XML. Portable.
#pragma once

#include <cstddef>
#include <cstdint>

#include "result/outcome.h"
#include "result/text.h"

namespace result {

// Cleans p[0..n) in place; returns the new length.
size_t clean_line(char* p, size_t n);

enum class CheckKind : uint8_t { pass, fail, skip, xfail, xpass };

struct Check {
  CheckKind kind;
  Str text;  // after "KIND: "
};

// A check line ("PASS: ..."), or false.
bool parse_check(Str line, Check* out);
// A SUMMARY line, or false.
bool parse_summary(Str line, Counts* out);

// A measurement line: "BENCH <name> <value>", the name without blanks,
// the value a decimal number.
struct Bench {
  Str name, value;
};
bool parse_bench(Str line, Bench* out);

// What one run's output said, line by line. feed() takes cleaned lines.
class OutputScan {
 public:
  static constexpr size_t kMessageMax = 160;

  void feed(Str line);

  bool have_summary() const { return have_summary_; }
  const Counts& counts() const { return counts_; }  // of the last SUMMARY line
  Str summary_line() const { return Str(summary_, summary_len_); }  // even if malformed
  uint32_t fail_lines() const { return fail_lines_; }  // FAIL and XPASS
  uint32_t check_lines() const { return check_lines_; }
  Str last_error() const { return Str(error_, error_len_); }           // of "ERROR: "
  Str loader_error() const { return Str(loader_, loader_len_); }       // of "ERROR: loader: "

 private:
  static size_t keep(char* dst, size_t cap, Str s);
  bool have_summary_ = false;
  Counts counts_;
  uint32_t fail_lines_ = 0, check_lines_ = 0;
  char summary_[kMessageMax + 40] = {};
  char error_[kMessageMax] = {}, loader_[kMessageMax] = {};
  size_t summary_len_ = 0, error_len_ = 0, loader_len_ = 0;
};

}  // namespace result
