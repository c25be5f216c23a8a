// The portable core of the ESP batch runner: manifest parsing, variable
// record encodings, the journal, and the TAP/JUnit/summary reports.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "esp/manifest.h"
#include "esp/results.h"
#include "esp/tco.h"
#include "esp/textbuf.h"
#include "esp/vars.h"

namespace {

using esp::Str;

Str S(const std::string& s) { return Str(s.data(), s.size()); }
std::string str(Str s) { return std::string(s.p, s.n); }

struct Parsed {
  std::unique_ptr<std::string> text;  // the entries point into it
  bool ok;
  esp::Manifest m;
  esp::ManifestError err;
  std::vector<esp::ManifestEntry> e;
};

Parsed parse(const std::string& text, uint32_t cap = 8) {
  Parsed p;
  p.text = std::make_unique<std::string>(text);
  p.e.resize(cap);
  p.ok = esp::parse_manifest(S(*p.text), p.e.data(), cap, &p.m, &p.err);
  return p;
}

const char kManifest[] =
    "efitest-manifest 1\n"
    "# comment\n"
    "end\twait\n"
    "\n"
    "test\tselftest_argv\t90\t\\efitest\\x86\\selftest.efi\tselftest argv-check \"two words\"\tx\n"
    "skip\told\tarch i386 is not built\n"
    "test\tnegative_hang\t4\t\\efitest\\x86\\negative\\hang.efi\thang\n";

TEST(EspManifest, ParsesEveryRecordKind) {
  std::string text = kManifest;
  Parsed p = parse(text);
  ASSERT_TRUE(p.ok) << p.err.line << ": " << p.err.message;
  EXPECT_EQ(p.m.count, 3u);
  EXPECT_EQ(p.m.end, esp::EndAction::wait);
  EXPECT_EQ(p.m.hash, esp::fnv1a32(S(text)));
  EXPECT_EQ(str(p.e[0].name), "selftest_argv");
  EXPECT_EQ(p.e[0].timeout_s, 90u);
  EXPECT_EQ(str(p.e[0].image), "\\efitest\\x86\\selftest.efi");
  // The command line is the rest of the line, TABs and quotes included.
  EXPECT_EQ(str(p.e[0].cmdline), "selftest argv-check \"two words\"\tx");
  EXPECT_EQ(p.e[0].skip_reason.n, 0u);
  EXPECT_EQ(str(p.e[1].name), "old");
  EXPECT_EQ(str(p.e[1].skip_reason), "arch i386 is not built");
  EXPECT_EQ(str(p.e[2].cmdline), "hang");
}

TEST(EspManifest, AcceptsCrLfAndDefaultsToPoweroff) {
  Parsed p = parse("efitest-manifest 1\r\ntest\ta\t1\t\\a.efi\ta\r\n");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.m.end, esp::EndAction::poweroff);
  EXPECT_EQ(str(p.e[0].cmdline), "a");
}

TEST(EspManifest, RejectsMalformedLinesWithTheirNumber) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {"test\ta\t0\t\\a.efi\ta\n", "timeout must be whole seconds > 0"},
      {"test\ta\t5s\t\\a.efi\ta\n", "timeout must be whole seconds > 0"},
      {"test\ta\t5\ta.efi\ta\n", "image must be an absolute ESP path with backslashes"},
      {"test\ta\t5\t\\a.efi\n", "too few fields"},
      {"test\ta\t5\t\\a.efi\t\n", "empty command line (the image name comes first)"},
      {"skip\ta\t\n", "a skip record needs a reason"},
      {"run\ta\n", "unknown record (test, skip, end)"},
      {"end\treboot\n", "'end' must be poweroff or wait"},
      {"end\twait\nend\twait\n", "'end' given twice"},
      {"test\ta b\t5\t\\a.efi\ta\n", "bad test name"},
  };
  for (const auto& c : cases) {
    Parsed p = parse(std::string("efitest-manifest 1\n") + c.body);
    EXPECT_FALSE(p.ok) << c.body;
    EXPECT_STREQ(p.err.message, c.message) << c.body;
    EXPECT_GE(p.err.line, 2u);
  }
  Parsed p = parse("efitest-manifest 2\n");
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.err.line, 1u);
  EXPECT_FALSE(parse("").ok);
}

TEST(EspManifest, RefusesMoreEntriesThanCapacity) {
  std::string text = "efitest-manifest 1\n";
  for (int i = 0; i < 3; ++i) text += "skip\tt" + std::to_string(i) + "\twhy\n";
  EXPECT_TRUE(parse(text, 3).ok);
  Parsed p = parse(text, 2);
  EXPECT_FALSE(p.ok);
  EXPECT_STREQ(p.err.message, "too many tests");
  EXPECT_EQ(p.err.line, 4u);
}

TEST(EspVars, ProgressRoundTrips) {
  esp::Progress p;
  p.state = esp::Progress::State::in_flight;
  p.manifest_hash = 0xdeadbeef;
  p.next = 7;
  p.launch_seq = 12;
  p.timeout_s = 90;
  p.started = 1700000000;
  p.run_started = 1699999000;
  uint8_t buf[esp::kProgressSize];
  esp::encode(p, buf);
  esp::Progress q;
  ASSERT_TRUE(esp::decode(buf, sizeof(buf), &q));
  EXPECT_EQ(q.state, p.state);
  EXPECT_EQ(q.manifest_hash, p.manifest_hash);
  EXPECT_EQ(q.next, p.next);
  EXPECT_EQ(q.launch_seq, p.launch_seq);
  EXPECT_EQ(q.timeout_s, p.timeout_s);
  EXPECT_EQ(q.started, p.started);
  EXPECT_EQ(q.run_started, p.run_started);
  // Little-endian, magic first.
  EXPECT_EQ(std::memcmp(buf, "EFTP", 4), 0);
}

TEST(EspVars, VerdictAndLaunchRoundTrip) {
  esp::VerdictRecord v;
  v.index = 3;
  v.launch_seq = 9;
  v.verdict = Verdict::fail;
  v.tests = 35;
  v.failures = 2;
  v.xfailures = 1;
  v.skipped = 4;
  uint8_t buf[esp::kVerdictSize];
  esp::encode(v, buf);
  esp::VerdictRecord w;
  ASSERT_TRUE(esp::decode(buf, sizeof(buf), &w));
  EXPECT_EQ(w.index, 3u);
  EXPECT_EQ(w.launch_seq, 9u);
  EXPECT_EQ(w.verdict, Verdict::fail);
  EXPECT_EQ(w.tests, 35u);
  EXPECT_EQ(w.failures, 2u);
  EXPECT_EQ(w.xfailures, 1u);
  EXPECT_EQ(w.skipped, 4u);

  esp::Launch l{5, 6}, m;
  uint8_t lb[esp::kLaunchSize];
  esp::encode(l, lb);
  ASSERT_TRUE(esp::decode(lb, sizeof(lb), &m));
  EXPECT_EQ(m.index, 5u);
  EXPECT_EQ(m.launch_seq, 6u);
}

TEST(EspVars, DecodersRefuseDamagedOrForeignRecords) {
  esp::VerdictRecord v;
  uint8_t buf[esp::kVerdictSize];
  esp::encode(v, buf);
  esp::VerdictRecord out;
  for (size_t i = 0; i < sizeof(buf); ++i) {
    uint8_t copy[sizeof(buf)];
    std::memcpy(copy, buf, sizeof(buf));
    copy[i] ^= 0x40;
    EXPECT_FALSE(esp::decode(copy, sizeof(copy), &out)) << "byte " << i;
  }
  EXPECT_FALSE(esp::decode(buf, sizeof(buf) - 1, &out));
  EXPECT_FALSE(esp::decode(nullptr, 0, &out));
  // A record of another kind with the right size is still refused.
  esp::Progress p;
  EXPECT_FALSE(esp::decode(buf, sizeof(buf), &p));
}

TEST(EspVars, EpochSecondsAndIso8601AgreeWithKnownDates) {
  EXPECT_EQ(esp::epoch_seconds(1970, 1, 1, 0, 0, 0), 0u);
  EXPECT_EQ(esp::epoch_seconds(2000, 3, 1, 0, 0, 0), 951868800u);
  EXPECT_EQ(esp::epoch_seconds(2024, 2, 29, 23, 59, 59), 1709251199u);
  EXPECT_EQ(esp::epoch_seconds(2024, 13, 1, 0, 0, 0), 0u);
  EXPECT_EQ(esp::epoch_seconds(1969, 12, 31, 0, 0, 0), 0u);
  for (uint64_t t : {0ull, 951868800ull, 1709251199ull, 4102444800ull}) {
    char buf[32];
    esp::TextBuf tb(buf, sizeof(buf));
    esp::put_iso8601(tb, t);
    int y, mo, d, h, mi, s;
    ASSERT_EQ(std::sscanf(buf, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s), 6) << buf;
    EXPECT_EQ(esp::epoch_seconds(y, mo, d, h, mi, s), t) << buf;
  }
  char buf[32];
  esp::TextBuf tb(buf, sizeof(buf));
  esp::put_iso8601(tb, 1709251199);
  EXPECT_STREQ(buf, "2024-02-29T23:59:59");
}

TEST(EspTextBuf, NeverOverflowsAndEscapes) {
  char buf[8];
  esp::TextBuf tb(buf, sizeof(buf));
  tb.put("0123456789");
  EXPECT_TRUE(tb.overflowed());
  EXPECT_EQ(tb.size(), 7u);
  EXPECT_STREQ(buf, "0123456");

  char big[128];
  esp::TextBuf x(big, sizeof(big));
  x.put_xml(Str::of("a<b>&\"c'\x01\td"));
  EXPECT_STREQ(big, "a&lt;b&gt;&amp;&quot;c&apos;\td");
  esp::TextBuf t(big, sizeof(big));
  t.put_tap(Str::of("x # y \\ z\nw"));
  EXPECT_STREQ(big, "x \\# y \\\\ z w");
  esp::TextBuf y(big, sizeof(big));
  y.put_yaml(Str::of("it's"));
  EXPECT_STREQ(big, "'it''s'");
}

TEST(EspJournal, LinesRoundTripAndTheLastWins) {
  char buf[1024];
  esp::TextBuf tb(buf, sizeof(buf));
  esp::TestResult a;
  a.outcome = esp::Outcome::crash;
  a.seconds = 3;
  a.detail = Str::of("first\ttry\n");
  esp::journal_line(tb, 1, a);
  esp::TestResult b;
  b.outcome = esp::Outcome::fail;
  b.tests = 2;
  b.failures = 1;
  b.seconds = 4;
  b.detail = Str::of("2 tests, 1 unexpected failures, 0 skipped");
  esp::journal_line(tb, 0, b);
  esp::TestResult c = a;
  c.outcome = esp::Outcome::timeout;
  c.detail = Str::of("later");
  esp::journal_line(tb, 1, c);
  tb.put("2\tPASS\t1\t0\t0");  // torn: no LF
  std::string text(tb.data(), tb.size());
  EXPECT_EQ(text.find("first try "), text.find("first"));

  esp::TestResult r[3];
  EXPECT_EQ(esp::parse_journal(S(text), r, 3), 3u);
  ASSERT_TRUE(r[0].present);
  EXPECT_EQ(r[0].outcome, esp::Outcome::fail);
  EXPECT_EQ(r[0].tests, 2u);
  EXPECT_EQ(r[0].failures, 1u);
  EXPECT_EQ(r[0].seconds, 4u);
  EXPECT_EQ(str(r[0].detail), "2 tests, 1 unexpected failures, 0 skipped");
  ASSERT_TRUE(r[1].present);
  EXPECT_EQ(r[1].outcome, esp::Outcome::timeout);
  EXPECT_EQ(str(r[1].detail), "later");
  EXPECT_FALSE(r[2].present);

  // Garbage and out-of-range indices are ignored.
  esp::TestResult q[1];
  EXPECT_EQ(esp::parse_journal(Str::of("x\tPASS\t0\t0\t0\t0\t0\td\n5\tPASS\t0\t0\t0\t0\t0\td\n"
                                       "0\tMAYBE\t0\t0\t0\t0\t0\td\n"),
                               q, 1),
            0u);
  EXPECT_FALSE(q[0].present);
}

struct SampleRun {
  std::string manifest_text;
  Parsed p;
  std::vector<esp::TestResult> results;
  esp::RunInfo info() const {
    return esp::RunInfo{&p.m, p.e.data(), results.data(), 1709251199, 42, "EDK <II>"};
  }
};

SampleRun sample_run() {
  SampleRun r;
  r.manifest_text =
      "efitest-manifest 1\n"
      "test\tselftest\t90\t\\efitest\\x86\\selftest.efi\tselftest\n"
      "test\tneg#fail\t60\t\\efitest\\x86\\negative\\fail.efi\tfail\n"
      "skip\tskipped\tneeds <KVM> & more\n"
      "test\thang\t4\t\\efitest\\x86\\negative\\hang.efi\thang\n"
      "test\tnot_run\t4\t\\efitest\\x86\\x.efi\tx\n";
  r.p = parse(r.manifest_text);
  EXPECT_TRUE(r.p.ok);
  r.results.resize(5);
  r.results[0] = {true, esp::Outcome::pass, 33, 0, 0, 0, 5, Str::of("33 tests, 0 unexpected failures, 0 skipped")};
  r.results[1] = {true, esp::Outcome::fail, 2, 1, 0, 0, 4, Str::of("2 tests, 1 unexpected failures, 0 skipped")};
  r.results[2] = {true, esp::Outcome::skip, 0, 0, 0, 0, 0, Str::of("needs <KVM> & more")};
  r.results[3] = {true, esp::Outcome::timeout, 0, 0, 0, 0, 9, Str::of("no verdict within 4s")};
  return r;
}

std::string render(void (*fn)(esp::TextBuf&, const esp::RunInfo&), const SampleRun& r) {
  std::vector<char> buf(8192);
  esp::TextBuf tb(buf.data(), buf.size());
  fn(tb, r.info());
  EXPECT_FALSE(tb.overflowed());
  return std::string(tb.data(), tb.size());
}

TEST(EspReports, TapHasAPlanADirectivePerSkipAndYamlForProblems) {
  SampleRun r = sample_run();
  std::string tap = render(esp::write_tap, r);
  EXPECT_EQ(tap.rfind("TAP version 13\n1..5\n", 0), 0u) << tap;
  EXPECT_NE(tap.find("ok 1 - selftest (33 tests, 0 unexpected failures, 0 skipped)\n"),
            std::string::npos);
  EXPECT_NE(tap.find("not ok 2 - neg\\#fail: FAIL (2 tests, 1 unexpected failures, 0 skipped)\n"),
            std::string::npos)
      << tap;
  EXPECT_NE(tap.find("ok 3 - skipped # SKIP needs <KVM> & more\n"), std::string::npos);
  EXPECT_NE(tap.find("not ok 4 - hang: TIMEOUT (no verdict within 4s)\n  ---\n"
                     "  verdict: TIMEOUT\n  reason: 'no verdict within 4s'\n"
                     "  image: '\\efitest\\x86\\negative\\hang.efi'\n  duration_ms: 9000\n  ...\n"),
            std::string::npos)
      << tap;
  EXPECT_NE(tap.find("not ok 5 - not_run: ERROR (no result was recorded for this test)"),
            std::string::npos);
}

TEST(EspReports, JunitCountsAndEscapes) {
  SampleRun r = sample_run();
  std::string x = render(esp::write_junit, r);
  EXPECT_NE(x.find("<testsuites name=\"efitest-esp\" tests=\"5\" failures=\"1\" errors=\"2\" "
                   "skipped=\"1\" time=\"42.000\">"),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("timestamp=\"2024-02-29T23:59:59\" hostname=\"EDK &lt;II&gt;\""),
            std::string::npos);
  EXPECT_NE(x.find("<skipped message=\"needs &lt;KVM&gt; &amp; more\"/>"), std::string::npos);
  EXPECT_NE(x.find("<failure type=\"FAIL\" message=\"2 tests, 1 unexpected failures, 0 skipped\"/>"),
            std::string::npos);
  EXPECT_NE(x.find("<error type=\"TIMEOUT\" message=\"no verdict within 4s\"/>"), std::string::npos);
  EXPECT_NE(x.find("<testcase classname=\"efitest-esp\" name=\"neg#fail\" time=\"4.000\">"),
            std::string::npos);
  EXPECT_TRUE(x.ends_with("  </testsuite>\n</testsuites>\n"));
}

TEST(EspReports, SummaryListsEveryTestAndTheTotals) {
  SampleRun r = sample_run();
  std::string s = render(esp::write_summary, r);
  EXPECT_EQ(s,
            "PASS selftest (33 tests, 0 unexpected failures, 0 skipped) [5s]\n"
            "FAIL neg#fail (2 tests, 1 unexpected failures, 0 skipped) [4s]\n"
            "SKIP skipped (needs <KVM> & more) [0s]\n"
            "TIMEOUT hang (no verdict within 4s) [9s]\n"
            "ERROR not_run (no result was recorded for this test) [0s]\n"
            "SUMMARY: 5 tests: 1 PASS, 1 SKIP, 1 FAIL, 1 ERROR, 1 TIMEOUT in 42s\n");
  esp::Tally t = esp::tally(r.info());
  EXPECT_FALSE(t.all_good());
}

TEST(EspReports, CountsDescribeLikeTheSummaryLine) {
  char buf[128];
  esp::TextBuf tb(buf, sizeof(buf));
  esp::TestResult r;
  r.tests = 5;
  r.failures = 1;
  r.xfailures = 2;
  r.skipped = 0;
  esp::describe_counts(tb, r);
  // The wording run_tests.sh prints: parts that are zero are left out.
  EXPECT_STREQ(buf, "5 tests, 1 unexpected failures, 2 expected failures");
  tb.clear();
  r.failures = r.xfailures = 0;
  r.skipped = 5;
  esp::describe_counts(tb, r);
  EXPECT_STREQ(buf, "5 tests, 5 skipped");
}

TEST(EspTco, StagesCoverTheTimeoutWithinTheRegister) {
  for (uint32_t s : {1u, 2u, 4u, 5u, 60u, 90u, 600u}) {
    uint16_t t = esp::tco::ticks_per_stage(s);
    EXPECT_GE(t, 2u);
    // Two expiries of t ticks of 0.6 s must not end before s seconds.
    EXPECT_GE(2 * t * 6, s * 10) << s;
    // ...and not much later: at most one tick per stage of rounding.
    EXPECT_LE(2 * (t - 1) * 6, s * 10 + 12) << s;
  }
  EXPECT_EQ(esp::tco::ticks_per_stage(4), 4u);
  EXPECT_EQ(esp::tco::ticks_per_stage(100000), 1023u);
}

}  // namespace
