// The one result of a run: RUN_RESULT_FILE's key=value lines, and what the
// suite runner gets back from each test's run (run/run.h).
//
//   verdict=PASS  detail=...  accel=tcg  timeout=90  boot=warm
//   boot_reason=...  tests=N  failures=N  xfailures=N  skipped=N
#pragma once

#include <string>

#include "result/outcome.h"

namespace run {

struct Record {
  result::Outcome outcome = result::Outcome::error;
  std::string detail, accel, timeout, boot, boot_reason;
  bool have_counts = false;
  result::Counts counts;

  std::string text() const;
  static bool parse(const std::string& text, Record* out);
};

}  // namespace run
