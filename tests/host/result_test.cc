// The shared result model (lib/result): the verdict table, the guest
// output reader, the counts wording and the TAP and JUnit writers that the
// host program and the ESP runner both use.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "result/guest_output.h"
#include "result/outcome.h"
#include "result/text.h"
#include "result/writers.h"

namespace {

using result::CheckKind;
using result::Counts;
using result::Outcome;
using result::Str;
using result::TextBuf;

Str S(const std::string& s) { return Str(s.data(), s.size()); }
std::string str(Str s) { return std::string(s.p, s.n); }

std::string cleaned(std::string s) {
  s.resize(result::clean_line(s.data(), s.size()));
  return s;
}

// Renders through a small buffer with a sink, as the host program does, so
// that every test also streams across buffer boundaries.
template <typename Fn>
std::string render(Fn&& fn) {
  std::string out;
  char space[7];
  TextBuf tb(space, sizeof(space));
  tb.set_sink([](void* ctx, const char* p, size_t n) { static_cast<std::string*>(ctx)->append(p, n); },
              &out);
  fn(tb);
  tb.flush();
  EXPECT_FALSE(tb.overflowed());
  return out;
}

TEST(ResultOutcome, ExitStatusesRoundTrip) {
  for (Outcome o : result::kTallyOrder) EXPECT_EQ(result::outcome_of_status(result::exit_status(o)), o);
  EXPECT_EQ(result::exit_status(Outcome::pass), 0);
  EXPECT_EQ(result::exit_status(Outcome::fail), 1);
  EXPECT_EQ(result::exit_status(Outcome::skip), 77);
  EXPECT_EQ(result::exit_status(Outcome::error), 99);
  EXPECT_EQ(result::exit_status(Outcome::timeout), 124);
  EXPECT_EQ(result::exit_status(Outcome::crash), 125);
  EXPECT_EQ(result::outcome_of_status(143), Outcome::interrupted);
  EXPECT_EQ(result::outcome_of_status(2), Outcome::error);
  EXPECT_EQ(result::outcome_of_status(33), Outcome::error);
}

TEST(ResultOutcome, NamesParseBack) {
  for (Outcome o : result::kTallyOrder) {
    Outcome back = Outcome::error;
    ASSERT_TRUE(result::parse_outcome(Str::of(result::outcome_str(o)), &back));
    EXPECT_EQ(back, o);
  }
  Outcome o;
  EXPECT_FALSE(result::parse_outcome(Str::of("pass"), &o));
  EXPECT_FALSE(result::parse_outcome(Str::of("PASSED"), &o));
}

TEST(ResultOutcome, CountsWording) {
  auto counts = [](Counts c) { return render([&](TextBuf& tb) { result::put_counts(tb, c); }); };
  EXPECT_EQ(counts({12, 0, 0, 0}), "12 tests");
  EXPECT_EQ(counts({12, 0, 0, 2}), "12 tests, 2 skipped");
  EXPECT_EQ(counts({5, 1, 2, 1}), "5 tests, 1 unexpected failures, 2 expected failures, 1 skipped");
  EXPECT_EQ(counts({0, 0, 0, 0}), "0 tests");
}

TEST(ResultOutcome, TallyInReportOrderWithColours) {
  uint32_t by[result::kOutcomeCount] = {};
  by[static_cast<unsigned>(Outcome::timeout)] = 1;
  by[static_cast<unsigned>(Outcome::pass)] = 32;
  by[static_cast<unsigned>(Outcome::skip)] = 2;
  EXPECT_EQ(render([&](TextBuf& tb) { result::put_tally(tb, by); }), "32 PASS, 2 SKIP, 1 TIMEOUT");
  auto colour = [](Outcome o) { return o == Outcome::pass ? "<g>" : "<r>"; };
  EXPECT_EQ(render([&](TextBuf& tb) { result::put_tally(tb, by, colour, "</>"); }),
            "<g>32 PASS</>, <r>2 SKIP</>, <r>1 TIMEOUT</>");
  EXPECT_EQ(render([&](TextBuf& tb) { result::put_seconds(tb, 48412); }), "48.412");
  EXPECT_EQ(render([&](TextBuf& tb) { result::put_seconds(tb, 7); }), "0.007");
}

TEST(ResultText, FixedBufferOverflowIsRemembered) {
  char space[8];
  TextBuf tb(space, sizeof(space));
  tb.put("abcdefghij");
  EXPECT_TRUE(tb.overflowed());
  EXPECT_STREQ(tb.data(), "abcdefg");
  tb.clear();
  EXPECT_FALSE(tb.overflowed());
  EXPECT_EQ(tb.size(), 0u);
}

TEST(ResultText, SinkTakesFullBuffersAndLosesNothing) {
  std::string big(10000, 'x');
  big += "end";
  EXPECT_EQ(render([&](TextBuf& tb) { tb.put(S(big)); }), big);
  EXPECT_EQ(render([&](TextBuf& tb) { tb.printf("%s-%u", big.c_str(), 42u); }), big + "-42");
}

TEST(GuestOutput, CleanLineDropsTerminalControlAndBadUtf8) {
  EXPECT_EQ(cleaned("\x1b[2J\x1b[01;01HPASS: a\r"), "PASS: a");
  EXPECT_EQ(cleaned("\x1b[?25lSUMMARY\x1b[0m"), "SUMMARY");
  EXPECT_EQ(cleaned("a\tb\x01\x7f" "c"), "a\tbc");
  EXPECT_EQ(cleaned("caf\xc3\xa9 \xe2\x86\x92 ok"), "caf\xc3\xa9 \xe2\x86\x92 ok");
  EXPECT_EQ(cleaned("bad \xc3 \xff \xed\xa0\x80 \xc0\xaf end"), "bad     end");
  EXPECT_EQ(cleaned("cut \xe2\x86"), "cut ");
  EXPECT_EQ(cleaned("\x1b[31"), "");  // a CSI cut short
}

TEST(GuestOutput, ChecksAndSummaries) {
  result::Check c;
  ASSERT_TRUE(result::parse_check(Str::of("XFAIL: INT1 # known"), &c));
  EXPECT_EQ(c.kind, CheckKind::xfail);
  EXPECT_EQ(str(c.text), "INT1 # known");
  ASSERT_TRUE(result::parse_check(Str::of("XPASS: x"), &c));
  EXPECT_EQ(c.kind, CheckKind::xpass);
  EXPECT_FALSE(result::parse_check(Str::of("PASS:no space"), &c));
  EXPECT_FALSE(result::parse_check(Str::of(" PASS: indented"), &c));
  EXPECT_FALSE(result::parse_check(Str::of("INFO: x"), &c));

  Counts n;
  ASSERT_TRUE(result::parse_summary(Str::of("SUMMARY: 2 tests, 0 unexpected failures, 1 skipped"), &n));
  EXPECT_EQ(n, (Counts{2, 0, 0, 1}));
  ASSERT_TRUE(result::parse_summary(
      Str::of("SUMMARY: 9 tests, 1 unexpected failures, 3 expected failures, 0 skipped (12 ms)"), &n));
  EXPECT_EQ(n, (Counts{9, 1, 3, 0}));
  EXPECT_FALSE(result::parse_summary(Str::of("SUMMARY: 2 tests, 0 unexpected failures"), &n));
  EXPECT_FALSE(result::parse_summary(Str::of("SUMMARY: x tests, 0 unexpected failures, 0 skipped"), &n));
  EXPECT_FALSE(result::parse_summary(Str::of("SUMMARY: 99999999999 tests, 0 unexpected failures, 0 skipped"), &n));
}

TEST(GuestOutput, ScanKeepsTheLastSummaryAndErrors) {
  result::OutputScan s;
  for (const char* l : {"PASS: a", "FAIL: b", "XPASS: c", "XFAIL: d", "SUMMARY: 4 tests, 2 unexpected failures, 1 expected failures, 0 skipped",
                        "ERROR: loader: fw_cfg file missing", "ERROR: something else"})
    s.feed(Str::of(l));
  EXPECT_TRUE(s.have_summary());
  EXPECT_EQ(s.counts(), (Counts{4, 2, 1, 0}));
  EXPECT_EQ(s.fail_lines(), 2u);
  EXPECT_EQ(s.check_lines(), 4u);
  EXPECT_EQ(str(s.last_error()), "something else");
  EXPECT_EQ(str(s.loader_error()), "fw_cfg file missing");
  // A later malformed SUMMARY line is the last one: no summary then.
  s.feed(Str::of("SUMMARY: garbled"));
  EXPECT_FALSE(s.have_summary());
  EXPECT_EQ(s.counts(), Counts{});
  EXPECT_EQ(str(s.summary_line()), "SUMMARY: garbled");
  // Long messages are cut, not overrun.
  s.feed(S("ERROR: " + std::string(500, 'e')));
  EXPECT_EQ(s.last_error().n, result::OutputScan::kMessageMax);
}

TEST(Writers, TapTestWithSubtestAndYaml) {
  std::string tap = render([](TextBuf& tb) {
    result::tap_plan(tb, 2);
    result::TapSubtest sub(tb, Str::of("t#1"));
    for (auto [k, t] : std::vector<std::pair<CheckKind, const char*>>{
             {CheckKind::pass, "a"}, {CheckKind::skip, "b"}, {CheckKind::xfail, "c # x"}, {CheckKind::xpass, "d"}})
      sub.add({k, Str::of(t)});
    sub.finish();
    result::TestReport r;
    r.name = Str::of("t#1");
    r.outcome = Outcome::fail;
    r.detail = Str::of("it's broken");
    r.ms = 1500;
    r.log = Str::of("logs/t#1.log");
    result::tap_test(tb, 1, r);
    result::TapSubtest none(tb, Str::of("quiet"));
    none.finish();
    r.name = Str::of("quiet");
    r.outcome = Outcome::pass;
    r.detail = Str::of("3 tests");
    result::tap_test(tb, 2, r);
  });
  EXPECT_EQ(tap,
            "TAP version 13\n1..2\n"
            "    # Subtest: t\\#1\n"
            "    ok 1 - a\n"
            "    ok 2 - b # SKIP\n"
            "    not ok 3 - c \\# x # TODO expected failure\n"
            "    not ok 4 - d (unexpected pass)\n"
            "    1..4\n"
            "not ok 1 - t\\#1: FAIL (it's broken)\n"
            "  ---\n  verdict: FAIL\n  reason: 'it''s broken'\n  log: 'logs/t#1.log'\n"
            "  duration_ms: 1500\n  ...\n"
            "ok 2 - quiet (3 tests)\n");
}

TEST(GuestOutput, BenchLines) {
  result::Bench b;
  ASSERT_TRUE(result::parse_bench(Str::of("BENCH cpuid 1234"), &b));
  EXPECT_EQ(str(b.name), "cpuid");
  EXPECT_EQ(str(b.value), "1234");
  ASSERT_TRUE(result::parse_bench(Str::of("BENCH ipi_roundtrip 10.5"), &b));
  EXPECT_EQ(str(b.value), "10.5");
  for (const char* bad : {"BENCH cpuid", "BENCH  12", "BENCH x 1.2.3", "BENCH x -1", "BENCH x 12 ms",
                          "INFO: BENCH x 1", "BENCH x .5", "BENCH x 5."})
    EXPECT_FALSE(result::parse_bench(Str::of(bad), &b)) << bad;
}

TEST(Writers, BenchLinesReachTheYamlOfAPass) {
  result::Bench bench[] = {{Str::of("cpuid"), Str::of("1234")}, {Str::of("pio:pmtimer"), Str::of("99")}};
  std::string tap = render([&](TextBuf& tb) {
    result::TestReport r;
    r.name = Str::of("vmexit");
    r.outcome = Outcome::pass;
    r.detail = Str::of("9 tests");
    r.bench = bench;
    r.bench_count = 2;
    result::tap_test(tb, 3, r);
  });
  EXPECT_EQ(tap, "ok 3 - vmexit (9 tests)\n  ---\n  bench:\n    'cpuid': 1234\n    'pio:pmtimer': 99\n  ...\n");
}

TEST(Writers, JunitStructure) {
  std::string x = render([](TextBuf& tb) {
    result::JUnitSuite s;
    s.name = Str::of("unittests");
    for (Outcome o : {Outcome::pass, Outcome::fail, Outcome::skip, Outcome::crash, Outcome::interrupted})
      s.count(o);
    s.wall_ms = 48412;
    s.started = 1709251199;
    s.hostname = Str::of("h<1>");
    result::junit_begin(tb, s);
    result::TestReport r;
    r.name = Str::of("a&b");
    r.classname = Str::of("unittests.cpu");
    r.outcome = Outcome::crash;
    r.detail = Str::of("triple \"fault\"");
    r.ms = 1234;
    result::junit_case_begin(tb, r);
    result::junit_output_begin(tb);
    result::junit_output_line(tb, Str::of("FAIL: <xml> & 'q'"));
    result::junit_output_end(tb);
    result::junit_case_end(tb);
    result::junit_end(tb);
  });
  EXPECT_EQ(x,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"unittests\" tests=\"5\" failures=\"1\" errors=\"2\" skipped=\"1\" "
            "time=\"48.412\">\n"
            "  <testsuite name=\"unittests\" tests=\"5\" failures=\"1\" errors=\"2\" skipped=\"1\" "
            "time=\"48.412\" timestamp=\"2024-02-29T23:59:59\" hostname=\"h&lt;1&gt;\">\n"
            "    <testcase classname=\"unittests.cpu\" name=\"a&amp;b\" time=\"1.234\">\n"
            "      <error type=\"CRASH\" message=\"triple &quot;fault&quot;\"/>\n"
            "      <system-out>FAIL: &lt;xml&gt; &amp; &apos;q&apos;\n</system-out>\n"
            "    </testcase>\n"
            "  </testsuite>\n</testsuites>\n");
}

}  // namespace
