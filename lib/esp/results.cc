#include "esp/results.h"

namespace esp {

namespace {

// A result the runner never recorded: the report says so rather than
// inventing a verdict.
const TestResult& result_of(const RunInfo& run, uint32_t i) {
  static constexpr char kMissing[] = "no result was recorded for this test";
  static const TestResult missing{false, Outcome::error, 0, 0, 0, 0, 0,
                                  Str(kMissing, sizeof(kMissing) - 1)};
  return run.results[i].present ? run.results[i] : missing;
}

bool parse_u32(Str s, uint32_t* out) {
  if (s.n == 0 || s.n > 9) return false;
  uint32_t v = 0;
  for (size_t i = 0; i < s.n; ++i) {
    if (s.p[i] < '0' || s.p[i] > '9') return false;
    v = v * 10 + static_cast<uint32_t>(s.p[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

void describe_counts(TextBuf& out, const TestResult& r) {
  result::put_counts(out, {r.tests, r.failures, r.xfailures, r.skipped});
}

void journal_line(TextBuf& out, uint32_t index, const TestResult& r) {
  out.printf("%u\t%s\t%u\t%u\t%u\t%u\t%u\t", index, outcome_str(r.outcome), r.tests, r.failures,
             r.xfailures, r.skipped, r.seconds);
  for (size_t i = 0; i < r.detail.n; ++i) {
    char c = r.detail.p[i];
    out.putc(c == '\t' || c == '\n' || c == '\r' ? ' ' : c);
  }
  out.putc('\n');
}

uint32_t parse_journal(Str text, TestResult* results, uint32_t count) {
  uint32_t used = 0;
  size_t pos = 0;
  while (pos < text.n) {
    size_t e = pos;
    while (e < text.n && text.p[e] != '\n') ++e;
    // A line without its LF is the tail of an interrupted append.
    if (e == text.n) break;
    Str line(text.p + pos, e - pos);
    pos = e + 1;
    Str f[8];
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= line.n && k < 8; ++i) {
      if (k < 7 ? (i == line.n || line.p[i] == '\t') : i == line.n) {
        f[k++] = Str(line.p + start, i - start);
        start = i + 1;
      }
    }
    if (k != 8) continue;
    uint32_t index = 0;
    TestResult r;
    if (!parse_u32(f[0], &index) || index >= count || !result::parse_outcome(f[1], &r.outcome) ||
        !parse_u32(f[2], &r.tests) || !parse_u32(f[3], &r.failures) ||
        !parse_u32(f[4], &r.xfailures) || !parse_u32(f[5], &r.skipped) ||
        !parse_u32(f[6], &r.seconds))
      continue;
    r.detail = f[7];
    r.present = true;
    results[index] = r;
    ++used;
  }
  return used;
}

bool Tally::all_good() const {
  return by_outcome[static_cast<int>(Outcome::pass)] +
             by_outcome[static_cast<int>(Outcome::skip)] ==
         total;
}

Tally tally(const RunInfo& run) {
  Tally t;
  for (uint32_t i = 0; i < run.manifest->count; ++i) {
    ++t.by_outcome[static_cast<int>(result_of(run, i).outcome)];
    ++t.total;
  }
  return t;
}

namespace {

result::TestReport report_of(const RunInfo& run, uint32_t i) {
  const TestResult& r = result_of(run, i);
  result::TestReport t;
  t.name = run.entries[i].name;
  t.outcome = r.outcome;
  t.detail = r.detail;
  t.ms = uint64_t(r.seconds) * 1000;
  t.classname = Str::of("efitest-esp");
  t.image = run.entries[i].image;
  return t;
}

}  // namespace

void write_tap(TextBuf& out, const RunInfo& run) {
  result::tap_plan(out, run.manifest->count);
  for (uint32_t i = 0; i < run.manifest->count; ++i) result::tap_test(out, i + 1, report_of(run, i));
}

void write_junit(TextBuf& out, const RunInfo& run) {
  result::JUnitSuite s;
  s.name = Str::of("efitest-esp");
  for (uint32_t i = 0; i < run.manifest->count; ++i) s.count(result_of(run, i).outcome);
  s.wall_ms = run.elapsed_s * 1000;
  s.started = run.started;
  s.hostname = Str::of(run.firmware ? run.firmware : "unknown");
  result::junit_begin(out, s);
  for (uint32_t i = 0; i < run.manifest->count; ++i) {
    result::junit_case_begin(out, report_of(run, i));
    result::junit_case_end(out);
  }
  result::junit_end(out);
}

void write_summary(TextBuf& out, const RunInfo& run) {
  Tally t = tally(run);
  for (uint32_t i = 0; i < run.manifest->count; ++i) {
    const TestResult& r = result_of(run, i);
    out.printf("%s ", outcome_str(r.outcome));
    out.put(run.entries[i].name);
    out.put(" (");
    out.put(r.detail);
    out.printf(") [%us]\n", r.seconds);
  }
  out.printf("SUMMARY: %u tests: ", t.total);
  result::put_tally(out, t.by_outcome);
  out.printf(" in %lus\n", static_cast<unsigned long>(run.elapsed_s));
}

}  // namespace esp
