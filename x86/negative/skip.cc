// negative/skip: every check is skipped.
//
// Proves that a test whose checks all skip ends as SKIP (exit 77), not
// PASS and not ERROR. Not part of the default suite.
#include "rt/report.h"

int main(int, char**) {
  report_skip("first precondition missing on purpose");
  report_skip("second precondition missing on purpose");
  return report_summary();
}
