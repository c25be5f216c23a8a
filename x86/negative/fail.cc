// negative/fail: one check passes, one fails on purpose.
//
// Proves that an unexpected failure reaches the runner as FAIL (exit 1),
// with the SUMMARY counting it. Not part of the default suite.
#include "rt/report.h"

int main(int, char**) {
  report(true, "a check that holds");
  report(false, "a check that fails on purpose");
  return report_summary();
}
