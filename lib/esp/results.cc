#include "esp/results.h"

namespace esp {

namespace {

constexpr Outcome kOutcomes[] = {Outcome::pass,  Outcome::fail,    Outcome::skip,
                                 Outcome::error, Outcome::timeout, Outcome::crash};

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

bool parse_outcome(Str s, Outcome* out) {
  for (Outcome o : kOutcomes)
    if (s.equals(outcome_str(o))) {
      *out = o;
      return true;
    }
  return false;
}

}  // namespace

void describe_counts(TextBuf& out, const TestResult& r) {
  out.printf("%u tests, %u unexpected failures, ", r.tests, r.failures);
  if (r.xfailures) out.printf("%u expected failures, ", r.xfailures);
  out.printf("%u skipped", r.skipped);
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
    if (!parse_u32(f[0], &index) || index >= count || !parse_outcome(f[1], &r.outcome) ||
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

void put_iso8601(TextBuf& out, uint64_t epoch) {
  // Civil from days (the inverse of epoch_seconds).
  int64_t days = static_cast<int64_t>(epoch / 86400) + 719468;
  uint64_t sod = epoch % 86400;
  int64_t era = days / 146097;
  int64_t doe = days - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2);
  out.printf("%04d-%02d-%02dT%02u:%02u:%02u", static_cast<int>(year), static_cast<int>(month),
             static_cast<int>(day), static_cast<unsigned>(sod / 3600),
             static_cast<unsigned>(sod / 60 % 60), static_cast<unsigned>(sod % 60));
}

void write_tap(TextBuf& out, const RunInfo& run) {
  out.put("TAP version 13\n");
  out.printf("1..%u\n", run.manifest->count);
  for (uint32_t i = 0; i < run.manifest->count; ++i) {
    const ManifestEntry& m = run.entries[i];
    const TestResult& r = result_of(run, i);
    switch (r.outcome) {
      case Outcome::pass:
        out.printf("ok %u - ", i + 1);
        out.put_tap(m.name);
        out.put(" (");
        out.put_tap(r.detail);
        out.put(")\n");
        continue;
      case Outcome::skip:
        out.printf("ok %u - ", i + 1);
        out.put_tap(m.name);
        out.put(" # SKIP ");
        out.put_tap(r.detail);
        out.put("\n");
        break;
      default:
        out.printf("not ok %u - ", i + 1);
        out.put_tap(m.name);
        out.printf(": %s (", outcome_str(r.outcome));
        out.put_tap(r.detail);
        out.put(")\n");
    }
    out.put("  ---\n");
    out.printf("  verdict: %s\n", outcome_str(r.outcome));
    out.put("  reason: ");
    out.put_yaml(r.detail);
    out.put("\n");
    if (m.image.n) {
      out.put("  image: ");
      out.put_yaml(m.image);
      out.put("\n");
    }
    out.printf("  duration_ms: %lu\n", static_cast<unsigned long>(r.seconds) * 1000);
    out.put("  ...\n");
  }
}

void write_junit(TextBuf& out, const RunInfo& run) {
  Tally t = tally(run);
  uint32_t failures = t.by_outcome[static_cast<int>(Outcome::fail)];
  uint32_t skipped = t.by_outcome[static_cast<int>(Outcome::skip)];
  uint32_t errors = t.total - failures - skipped - t.by_outcome[static_cast<int>(Outcome::pass)];
  out.put("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  out.printf("<testsuites name=\"efitest-esp\" tests=\"%u\" failures=\"%u\" errors=\"%u\" "
             "skipped=\"%u\" time=\"%lu\">\n",
             t.total, failures, errors, skipped, static_cast<unsigned long>(run.elapsed_s));
  out.printf("  <testsuite name=\"efitest-esp\" tests=\"%u\" failures=\"%u\" errors=\"%u\" "
             "skipped=\"%u\" time=\"%lu\"",
             t.total, failures, errors, skipped, static_cast<unsigned long>(run.elapsed_s));
  if (run.started) {
    out.put(" timestamp=\"");
    put_iso8601(out, run.started);
    out.put("\"");
  }
  out.put(" hostname=\"");
  out.put_xml(Str::of(run.firmware ? run.firmware : "unknown"));
  out.put("\">\n");
  for (uint32_t i = 0; i < run.manifest->count; ++i) {
    const ManifestEntry& m = run.entries[i];
    const TestResult& r = result_of(run, i);
    out.put("    <testcase classname=\"efitest-esp\" name=\"");
    out.put_xml(m.name);
    out.printf("\" time=\"%u\">\n", r.seconds);
    const char* o = outcome_str(r.outcome);
    switch (r.outcome) {
      case Outcome::pass: break;
      case Outcome::skip:
        out.put("      <skipped message=\"");
        out.put_xml(r.detail);
        out.put("\"/>\n");
        break;
      case Outcome::fail:
        out.put("      <failure type=\"FAIL\" message=\"");
        out.put_xml(r.detail);
        out.put("\"/>\n");
        break;
      default:
        out.printf("      <error type=\"%s\" message=\"", o);
        out.put_xml(r.detail);
        out.put("\"/>\n");
    }
    out.put("    </testcase>\n");
  }
  out.put("  </testsuite>\n</testsuites>\n");
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
  out.printf("SUMMARY: %u tests:", t.total);
  const char* sep = " ";
  for (Outcome o : kOutcomes) {
    uint32_t n = t.by_outcome[static_cast<int>(o)];
    if (!n) continue;
    out.printf("%s%u %s", sep, n, outcome_str(o));
    sep = ", ";
  }
  out.printf(" in %lus\n", static_cast<unsigned long>(run.elapsed_s));
}

}  // namespace esp
