// The result formats as their consumers read them: TAP written by
// lib/result/writers goes through `prove` (Perl's TAP harness), which must
// accept it and count its tests, and each test's checks as a TAP stream of
// their own; JUnit written by the same code goes through `xmllint` against
// our schema of it (tests/host/data/junit.xsd), which must accept it and
// refuse what the writer must never write. Skipped when prove or xmllint
// is not installed.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../../host/proc.h"
#include "result/guest_output.h"
#include "result/outcome.h"
#include "result/text.h"
#include "result/writers.h"

namespace {

using result::Outcome;
using result::Str;
using result::TextBuf;

Str S(const std::string& s) { return Str(s.data(), s.size()); }

// A file under $TMPDIR, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/tmp") + "/result-formats.XXXXXX";
    int fd = mkstemp(path_.data());
    if (fd < 0) {
      path_.clear();
      return;
    }
    close(fd);
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~TempFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Ran {
  int status = -1;
  std::string output;  // stdout and stderr
};

// Runs a shell command line whose words the caller has quoted.
Ran run(const std::string& command) {
  Ran r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The TAP of a run, as the suite runner writes it: each test's checks,
// taken from guest output lines, as the subtest before its line.
struct TestRun {
  std::string name;
  Outcome outcome;
  std::string detail;
  std::vector<std::string> guest_lines;
};

std::string tap_of(const std::vector<TestRun>& tests) {
  std::string out;
  char space[64];
  TextBuf tb(space, sizeof(space));
  tb.set_sink([](void* ctx, const char* p, size_t n) { static_cast<std::string*>(ctx)->append(p, n); },
              &out);
  result::tap_plan(tb, static_cast<uint32_t>(tests.size()));
  uint32_t number = 0;
  for (const TestRun& t : tests) {
    result::TapSubtest sub(tb, S(t.name));
    for (const std::string& line : t.guest_lines) {
      result::Check c;
      if (result::parse_check(S(line), &c)) sub.add(c);
    }
    sub.finish();
    result::TestReport r;
    r.name = S(t.name);
    r.outcome = t.outcome;
    r.detail = S(t.detail);
    r.ms = 1234;
    r.log = Str::of("logs/x.log");
    result::tap_test(tb, ++number, r);
  }
  tb.flush();
  return out;
}

// The subtests of a TAP stream, each without its indentation: a TAP
// stream of its own.
std::vector<std::string> subtests(const std::string& tap) {
  std::vector<std::string> out;
  std::istringstream in(tap);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("    # Subtest: ", 0) == 0) out.emplace_back();
    else if (line.rfind("    ", 0) == 0 && !out.empty()) out.back() += line.substr(4) + "\n";
  }
  return out;
}

const std::vector<TestRun> kRun = {
    {"cpuid", Outcome::pass, "4 tests, 1 skipped",
     {"PASS: leaf 0 # vendor", "INFO: not a check", "SKIP: leaf 7 (no AVX512F: CPUID.(EAX=7,ECX=0):EBX[16])",
      "XFAIL: leaf 0xd (known TCG difference: XSAVE area size)", "PASS: leaf 0x80000001"}},
    {"msr#quiet", Outcome::pass, "3 tests", {}},
    {"gop", Outcome::skip, "no GOP under PVH", {}},
};
const TestRun kFailing = {"vmx", Outcome::fail, "2 tests, 1 unexpected failures",
                          {"PASS: vmxon", "FAIL: vmread of 'x' # got 0"}};
const TestRun kCrash = {"apic", Outcome::crash, "#GP at 0x1234", {"PASS: one", "XPASS: two"}};

// The counts of Perl's TAP parser (TAP::Parser, which prove runs on), as
// "run=N passed=N failed=N skipped=N todo=N errors=N".
std::string tap_counts(const std::string& path) {
  const Ran r = run(
      "perl -MTAP::Parser -e '"
      "my $p = TAP::Parser->new({tap => do { local $/; <STDIN> }}); 1 while $p->next;"
      "printf \"run=%d passed=%d failed=%d skipped=%d todo=%d errors=%d\", $p->tests_run,"
      " scalar $p->passed, scalar $p->failed, scalar $p->skipped, scalar $p->todo, scalar $p->parse_errors"
      "' <" + quoted(path));
  return r.status == 0 ? r.output : "perl failed: " + r.output;
}

bool have(const char* tool, std::string* why) {
  if (!proc::find_program(tool).empty()) return true;
  *why = std::string(tool) + " is not installed";
  return false;
}

TEST(ResultFormats, ProveAcceptsAPassingRunAndCountsItsTests) {
  std::string why;
  if (!have("prove", &why)) GTEST_SKIP() << why;
  const TempFile f(tap_of(kRun));
  ASSERT_FALSE(f.path().empty());
  const Ran r = run("prove --exec cat " + quoted(f.path()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("All tests successful."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Files=1, Tests=3,"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Result: PASS"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Parse errors"), std::string::npos) << r.output;
}

TEST(ResultFormats, ProveSeesTheFailuresOfAFailingRun) {
  std::string why;
  if (!have("prove", &why)) GTEST_SKIP() << why;
  std::vector<TestRun> tests = kRun;
  tests.insert(tests.begin() + 1, kFailing);
  tests.push_back(kCrash);
  const TempFile f(tap_of(tests));
  const Ran r = run("prove --exec cat " + quoted(f.path()));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Failed 2/5 subtests"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Failed tests:  2, 5"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Files=1, Tests=5,"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Result: FAIL"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Parse errors"), std::string::npos) << r.output;
  // The subtests are indented, so the parser of the outer stream sees
  // only the five tests; the SKIP test is a skip.
  EXPECT_EQ(tap_counts(f.path()), "run=5 passed=3 failed=2 skipped=1 todo=0 errors=0");
}

TEST(ResultFormats, EachSubtestIsTapThatProveCounts) {
  std::string why;
  if (!have("prove", &why)) GTEST_SKIP() << why;
  std::vector<TestRun> tests = kRun;
  tests.push_back(kFailing);
  tests.push_back(kCrash);
  const std::vector<std::string> subs = subtests(tap_of(tests));
  // Tests without checks have no subtest.
  ASSERT_EQ(subs.size(), 3u);
  struct Want {
    int tests;
    bool ok;
    const char* counts;
  } want[] = {
      // A SKIP passes; an XFAIL is a TODO "not ok", which passes too.
      {4, true, "run=4 passed=4 failed=0 skipped=1 todo=1 errors=0"},
      {2, false, "run=2 passed=1 failed=1 skipped=0 todo=0 errors=0"},
      // An XPASS is a failure.
      {2, false, "run=2 passed=1 failed=1 skipped=0 todo=0 errors=0"},
  };
  for (size_t i = 0; i < subs.size(); ++i) {
    const TempFile f(subs[i]);
    const Ran r = run("prove --exec cat " + quoted(f.path()));
    EXPECT_EQ(r.status == 0, want[i].ok) << subs[i] << r.output;
    EXPECT_NE(r.output.find("Tests=" + std::to_string(want[i].tests) + ","), std::string::npos)
        << subs[i] << r.output;
    EXPECT_EQ(r.output.find("Parse errors"), std::string::npos) << subs[i] << r.output;
    EXPECT_EQ(tap_counts(f.path()), want[i].counts) << subs[i];
  }
  // The XFAIL is a TODO: prove reports it as such and it fails nothing.
  const TempFile f(subs[0]);
  const Ran v = run("prove -v --exec cat " + quoted(f.path()));
  EXPECT_NE(v.output.find("# TODO expected failure"), std::string::npos) << v.output;
}

// The JUnit of a run with every outcome, guest output with markup and a
// control character included.
std::string junit_of() {
  std::string out;
  char space[64];
  TextBuf tb(space, sizeof(space));
  tb.set_sink([](void* ctx, const char* p, size_t n) { static_cast<std::string*>(ctx)->append(p, n); },
              &out);
  const Outcome all[] = {Outcome::pass,  Outcome::fail,    Outcome::skip,       Outcome::error,
                         Outcome::crash, Outcome::timeout, Outcome::interrupted};
  result::JUnitSuite s;
  s.name = Str::of("unittests");
  for (Outcome o : all) s.count(o);
  s.wall_ms = 61005;
  s.started = 1717243200;
  s.hostname = Str::of("ci<7>");
  result::junit_begin(tb, s);
  int i = 0;
  for (Outcome o : all) {
    result::TestReport r;
    const std::string name = std::string("t&") + result::outcome_str(o);
    r.name = S(name);
    r.classname = Str::of("unittests.group");
    r.outcome = o;
    r.detail = Str::of("why \"quoted\" <here>");
    r.ms = 1000u * static_cast<unsigned>(i) + 7;
    result::junit_case_begin(tb, r);
    if (i++ % 2 == 0) {
      result::junit_output_begin(tb);
      result::junit_output_line(tb, Str::of("FAIL: <b> & 'c' \x01 end"));
      result::junit_output_line(tb, Str::of("SUMMARY: 1 tests"));
      result::junit_output_end(tb);
    }
    result::junit_case_end(tb);
  }
  result::junit_end(tb);
  tb.flush();
  return out;
}

std::string schema_path() {
  for (const char* p : {"data/junit.xsd", "tests/host/data/junit.xsd"})
    if (access(p, R_OK) == 0) return p;
  return "";
}

Ran xmllint(const std::string& xml) {
  const TempFile f(xml);
  return run("xmllint --noout --schema " + quoted(schema_path()) + " " + quoted(f.path()));
}

TEST(ResultFormats, XmllintValidatesTheJunitAgainstOurSchema) {
  std::string why;
  if (!have("xmllint", &why)) GTEST_SKIP() << why;
  ASSERT_FALSE(schema_path().empty()) << "tests/host/data/junit.xsd not found from the working directory";
  const std::string xml = junit_of();
  const Ran r = xmllint(xml);
  EXPECT_EQ(r.status, 0) << r.output << xml;
  EXPECT_NE(r.output.find(" validates"), std::string::npos) << r.output;
}

TEST(ResultFormats, TheSchemaRefusesWhatTheWriterMustNotWrite) {
  std::string why;
  if (!have("xmllint", &why)) GTEST_SKIP() << why;
  ASSERT_FALSE(schema_path().empty());
  const std::string xml = junit_of();
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string x = xml;
    const size_t at = x.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) x.replace(at, from.size(), to);
    return x;
  };
  const std::vector<std::pair<std::string, std::string>> broken = {
      {"<skipped message=", "<skipped reason="},                     // an attribute we never write
      {"type=\"CRASH\"", "type=\"FAIL\""},                           // FAIL is a <failure>, not an <error>
      {"time=\"1.007\"", "time=\"1.0\""},                            // seconds with three decimals
      {"<testcase classname=\"unittests.group\" ", "<testcase "},   // classname is required
      {"<system-out>", "<system-err>"},                               // an element we never write
      {"</testcase>", "<failure type=\"FAIL\" message=\"x\"/></testcase>"},  // a second verdict
      {"timestamp=\"2024-06-01T12:00:00\"", "timestamp=\"2024-06-01 12:00\""},
      {"&amp;", "&"},                                                 // not well-formed
  };
  for (const auto& [from, to] : broken) {
    const Ran r = xmllint(replaced(from, to));
    EXPECT_NE(r.status, 0) << from << " -> " << to << "\n" << r.output;
  }
}

}  // namespace
