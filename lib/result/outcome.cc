#include "result/outcome.h"

namespace result {

const char* outcome_str(Outcome o) {
  switch (o) {
    case Outcome::pass: return "PASS";
    case Outcome::fail: return "FAIL";
    case Outcome::skip: return "SKIP";
    case Outcome::error: return "ERROR";
    case Outcome::timeout: return "TIMEOUT";
    case Outcome::crash: return "CRASH";
    case Outcome::interrupted: return "INTERRUPTED";
  }
  return "ERROR";
}

bool parse_outcome(Str s, Outcome* out) {
  for (Outcome o : kTallyOrder)
    if (s.equals(outcome_str(o))) {
      *out = o;
      return true;
    }
  return false;
}

Outcome outcome_of(Verdict v) {
  switch (v) {
    case Verdict::pass: return Outcome::pass;
    case Verdict::skip: return Outcome::skip;
    case Verdict::fail: return Outcome::fail;
    case Verdict::error: return Outcome::error;
  }
  return Outcome::error;
}

int exit_status(Outcome o) {
  switch (o) {
    case Outcome::pass: return kExitPass;
    case Outcome::fail: return kExitFail;
    case Outcome::skip: return kExitSkip;
    case Outcome::error: return kExitError;
    case Outcome::timeout: return kExitTimeout;
    case Outcome::crash: return kExitCrash;
    case Outcome::interrupted: return kExitInterrupted;
  }
  return kExitError;
}

Outcome outcome_of_status(int status) {
  switch (status) {
    case kExitPass: return Outcome::pass;
    case kExitFail: return Outcome::fail;
    case kExitSkip: return Outcome::skip;
    case kExitTimeout: return Outcome::timeout;
    case kExitCrash: return Outcome::crash;
    case kExitInterrupted:
    case kExitTerminated: return Outcome::interrupted;
    default: return Outcome::error;
  }
}

void put_counts(TextBuf& out, const Counts& c) {
  out.printf("%u tests", c.tests);
  if (c.failures) out.printf(", %u unexpected failures", c.failures);
  if (c.xfailures) out.printf(", %u expected failures", c.xfailures);
  if (c.skipped) out.printf(", %u skipped", c.skipped);
}

void put_tally(TextBuf& out, const uint32_t (&by_outcome)[kOutcomeCount], ColorFn color,
               const char* reset) {
  const char* sep = "";
  for (Outcome o : kTallyOrder) {
    uint32_t n = by_outcome[static_cast<unsigned>(o)];
    if (!n) continue;
    out.put(sep);
    if (color) out.put(color(o));
    out.printf("%u %s", n, outcome_str(o));
    if (color) out.put(reset);
    sep = ", ";
  }
}

void put_seconds(TextBuf& out, uint64_t ms) {
  out.printf("%lu.%03lu", static_cast<unsigned long>(ms / 1000),
             static_cast<unsigned long>(ms % 1000));
}

}  // namespace result
