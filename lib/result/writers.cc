#include "result/writers.h"

namespace result {

void tap_plan(TextBuf& out, uint32_t count) { out.printf("TAP version 13\n1..%u\n", count); }

void TapSubtest::add(const Check& c) {
  if (n_++ == 0) {
    out_.put("    # Subtest: ");
    out_.put_tap(name_);
    out_.putc('\n');
  }
  out_.printf("    %s %u - ", c.kind == CheckKind::pass || c.kind == CheckKind::skip ? "ok" : "not ok",
              n_);
  out_.put_tap(c.text);
  switch (c.kind) {
    case CheckKind::pass:
    case CheckKind::fail: break;
    case CheckKind::skip: out_.put(" # SKIP"); break;
    case CheckKind::xfail: out_.put(" # TODO expected failure"); break;
    case CheckKind::xpass: out_.put(" (unexpected pass)"); break;
  }
  out_.putc('\n');
}

void TapSubtest::finish() {
  if (n_) out_.printf("    1..%u\n", n_);
}

void tap_test(TextBuf& out, uint32_t number, const TestReport& r) {
  auto put_bench = [&] {
    if (!r.bench_count) return;
    out.put("  bench:\n");
    for (size_t i = 0; i < r.bench_count; ++i) {
      out.put("    ");
      out.put_yaml(r.bench[i].name);
      out.put(": ");
      out.put(r.bench[i].value);
      out.putc('\n');
    }
  };
  switch (r.outcome) {
    case Outcome::pass:
      out.printf("ok %u - ", number);
      out.put_tap(r.name);
      out.put(" (");
      out.put_tap(r.detail);
      out.put(")\n");
      if (r.bench_count) {
        out.put("  ---\n");
        put_bench();
        out.put("  ...\n");
      }
      return;
    case Outcome::skip:
      out.printf("ok %u - ", number);
      out.put_tap(r.name);
      out.put(" # SKIP ");
      out.put_tap(r.detail);
      out.putc('\n');
      break;
    default:
      out.printf("not ok %u - ", number);
      out.put_tap(r.name);
      out.printf(": %s (", outcome_str(r.outcome));
      out.put_tap(r.detail);
      out.put(")\n");
  }
  out.put("  ---\n");
  out.printf("  verdict: %s\n", outcome_str(r.outcome));
  out.put("  reason: ");
  out.put_yaml(r.detail);
  out.putc('\n');
  if (r.log.n) {
    out.put("  log: ");
    out.put_yaml(r.log);
    out.putc('\n');
  }
  if (r.image.n) {
    out.put("  image: ");
    out.put_yaml(r.image);
    out.putc('\n');
  }
  out.printf("  duration_ms: %lu\n", static_cast<unsigned long>(r.ms));
  put_bench();
  out.put("  ...\n");
}

void JUnitSuite::count(Outcome o) {
  ++tests;
  switch (o) {
    case Outcome::pass: break;
    case Outcome::fail: ++failures; break;
    case Outcome::skip: ++skipped; break;
    default: ++errors;
  }
}

namespace {
void suite_attrs(TextBuf& out, const JUnitSuite& s) {
  out.put(" name=\"");
  out.put_xml(s.name);
  out.printf("\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"", s.tests,
             s.failures, s.errors, s.skipped);
  put_seconds(out, s.wall_ms);
  out.putc('"');
}
}  // namespace

void junit_begin(TextBuf& out, const JUnitSuite& s) {
  out.put("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
  suite_attrs(out, s);
  out.put(">\n  <testsuite");
  suite_attrs(out, s);
  if (s.started) {
    out.put(" timestamp=\"");
    put_iso8601(out, s.started);
    out.putc('"');
  }
  out.put(" hostname=\"");
  out.put_xml(s.hostname.n ? s.hostname : Str::of("unknown"));
  out.put("\">\n");
}

void junit_case_begin(TextBuf& out, const TestReport& r) {
  out.put("    <testcase classname=\"");
  out.put_xml(r.classname);
  out.put("\" name=\"");
  out.put_xml(r.name);
  out.put("\" time=\"");
  put_seconds(out, r.ms);
  out.put("\">\n");
  switch (r.outcome) {
    case Outcome::pass: return;
    case Outcome::skip: out.put("      <skipped message=\""); break;
    case Outcome::fail: out.put("      <failure type=\"FAIL\" message=\""); break;
    default: out.printf("      <error type=\"%s\" message=\"", outcome_str(r.outcome));
  }
  out.put_xml(r.detail);
  out.put("\"/>\n");
}

void junit_output_begin(TextBuf& out) { out.put("      <system-out>"); }
void junit_output_line(TextBuf& out, Str line) {
  out.put_xml(line);
  out.putc('\n');
}
void junit_output_end(TextBuf& out) { out.put("</system-out>\n"); }
void junit_case_end(TextBuf& out) { out.put("    </testcase>\n"); }
void junit_end(TextBuf& out) { out.put("  </testsuite>\n</testsuites>\n"); }

void put_iso8601(TextBuf& out, uint64_t epoch) {
  // Civil from days (the inverse of days-from-civil).
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

}  // namespace result
