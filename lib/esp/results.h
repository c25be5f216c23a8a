// Per-test results of an ESP run: the journal the runner keeps on the ESP
// across reboots, and the reports it writes at the end (TAP 13, JUnit XML,
// a plain summary). Portable; the host tests run it.
//
// Journal (\efitest\journal.txt): one line appended per finished test,
//   <index> TAB <OUTCOME> TAB <tests> TAB <failures> TAB <xfailures> TAB
//   <skipped> TAB <seconds> TAB <detail> LF
// A later line for the same index replaces an earlier one (the runner may
// be reset between appending and saving its progress); lines that do not
// parse (a torn write) are ignored.
#pragma once

#include <cstdint>

#include "esp/manifest.h"
#include "esp/textbuf.h"
#include "esp/vars.h"
#include "result/writers.h"

namespace esp {

struct TestResult {
  bool present = false;
  Outcome outcome = Outcome::error;
  uint32_t tests = 0, failures = 0, xfailures = 0, skipped = 0;
  uint32_t seconds = 0;
  Str detail;  // borrowed: from the journal text or a static string
};

// The detail text of a guest-reported result, in the shared words of
// counts ("3 tests, 1 unexpected failures").
void describe_counts(TextBuf& out, const TestResult& r);

// Appends one journal line; TAB, CR and LF in the detail become spaces.
void journal_line(TextBuf& out, uint32_t index, const TestResult& r);

// Fills results[0..count) from a journal (entries not mentioned keep
// present == false). Returns the number of lines used.
uint32_t parse_journal(Str text, TestResult* results, uint32_t count);

struct RunInfo {
  const Manifest* manifest;
  const ManifestEntry* entries;
  const TestResult* results;  // manifest->count of them
  uint64_t started;           // seconds since 1970, 0 if unknown
  uint64_t elapsed_s;
  const char* firmware;       // vendor string, for the report headers
};

struct Tally {
  uint32_t by_outcome[result::kOutcomeCount] = {};
  uint32_t total = 0;
  bool all_good() const;  // every test PASS or SKIP
};
Tally tally(const RunInfo& run);

// The shared formats (result/writers.h), for this run.
void write_tap(TextBuf& out, const RunInfo& run);
void write_junit(TextBuf& out, const RunInfo& run);
void write_summary(TextBuf& out, const RunInfo& run);

using result::put_iso8601;

}  // namespace esp
