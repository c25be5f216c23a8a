// The outcomes of one test run and the exit statuses that carry them: the
// verdict table that scripts/run, run_tests.sh, the host runner and the
// ESP runner share (README "Verdicts"; the guest's side is rt/verdict.h).
// Portable.
#pragma once

#include <cstdint>

#include "result/text.h"
#include "rt/verdict.h"

namespace result {

// What became of one test. The guest computes pass, skip, error and fail;
// the runner adds the three it can only see from outside.
enum class Outcome : uint8_t { pass, fail, skip, error, timeout, crash, interrupted };
inline constexpr unsigned kOutcomeCount = 7;

// The order in which tallies list outcomes: good news first.
inline constexpr Outcome kTallyOrder[kOutcomeCount] = {
    Outcome::pass,  Outcome::skip,    Outcome::fail,       Outcome::error,
    Outcome::crash, Outcome::timeout, Outcome::interrupted};

// "PASS", "FAIL", ... "INTERRUPTED".
const char* outcome_str(Outcome o);
bool parse_outcome(Str s, Outcome* out);
Outcome outcome_of(Verdict v);

// The process exit status of a test with this outcome (scripts/run), and
// back. Statuses outside the table are ERROR; 143 (SIGTERM) counts as
// interrupted, as a runner that was stopped sends it.
int exit_status(Outcome o);
Outcome outcome_of_status(int status);

// PASS and SKIP: the outcomes that keep a run green.
constexpr bool is_good(Outcome o) { return o == Outcome::pass || o == Outcome::skip; }

// The counts a guest's SUMMARY line gives.
struct Counts {
  uint32_t tests = 0, failures = 0, xfailures = 0, skipped = 0;
  constexpr bool operator==(const Counts&) const = default;
};

// The one wording of counts: "5 tests, 1 unexpected failures, 2 expected
// failures, 1 skipped", each part after the first only when nonzero.
void put_counts(TextBuf& out, const Counts& c);

// Per-outcome tallies in kTallyOrder, e.g. "32 PASS, 2 SKIP"; outcomes with
// no test are left out. `color`, when given, returns the escape to put
// before each part (and `reset` goes after it).
using ColorFn = const char* (*)(Outcome o);
void put_tally(TextBuf& out, const uint32_t (&by_outcome)[kOutcomeCount], ColorFn color = nullptr,
               const char* reset = "");

// Milliseconds as seconds with three decimals: "12.345".
void put_seconds(TextBuf& out, uint64_t ms);

}  // namespace result
