// unittests.cfg parser: accepted forms, the record stream run_tests.sh
// reads, and one test per class of error with its line number.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../scripts/cfg/cfgparse.h"

namespace {

using cfg::parse;

std::vector<std::string> fields(const std::string& stream) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < stream.size(); ++i) {
    if (stream[i] == '\0') {
      out.push_back(stream.substr(start, i - start));
      start = i + 1;
    }
  }
  EXPECT_EQ(start, stream.size()) << "stream must end with a NUL";
  return out;
}

// The single error of a file, as "line: message".
std::string only_error(const char* text) {
  cfg::ParseResult r = parse(text);
  EXPECT_TRUE(r.tests.empty()) << "a file with errors must yield no tests";
  if (r.errors.size() != 1) return "expected 1 error, got " + std::to_string(r.errors.size());
  return std::to_string(r.errors[0].line) + ": " + r.errors[0].message;
}

TEST(CfgParse, FullEntry) {
  cfg::ParseResult r = parse(
      "# comment\n"
      "\n"
      "[msr]\n"
      "file = msr.efi\n"
      "smp = 2\n"
      "memory = 6G\n"
      "extra_params = -cpu max,+x2apic -append 'a \"b c\"'\n"
      "groups = cpu  fast cpu\n"
      "arch = x86_64\n"
      "accel = tcg\n"
      "timeout = 1.5m\n"
      "check = /sys/module/kvm/parameters/x=Y\n"
      "  [neg]  \n"
      "file=negative/fail.efi\n"
      "groups = nodefault negative\n"
      "test_args = one two\n"
      "skip_reason = not yet\n");
  ASSERT_TRUE(r.ok()) << cfg::format_error("f", r.errors[0]);
  ASSERT_EQ(r.tests.size(), 2u);
  const cfg::Test& t = r.tests[0];
  EXPECT_EQ(t.name, "msr");
  EXPECT_EQ(t.line, 3);
  EXPECT_EQ(t.file, "msr.efi");
  EXPECT_EQ(t.file_line, 4);
  EXPECT_EQ(t.smp, "2");
  EXPECT_EQ(t.memory, "6G");
  EXPECT_EQ(t.extra_params, (std::vector<std::string>{"-cpu", "max,+x2apic", "-append", "a \"b c\""}));
  EXPECT_EQ(t.groups, (std::vector<std::string>{"cpu", "fast"}));
  EXPECT_EQ(t.accel, "tcg");
  EXPECT_EQ(t.timeout, "1.5m");
  EXPECT_EQ(t.checks, (std::vector<std::string>{"/sys/module/kvm/parameters/x=Y"}));
  EXPECT_EQ(r.tests[1].name, "neg");
  EXPECT_EQ(r.tests[1].file, "negative/fail.efi");
  EXPECT_EQ(r.tests[1].test_args, "one two");
  EXPECT_EQ(r.tests[1].skip_reason, "not yet");
}

TEST(CfgParse, EmptyFileAndCrlfFreeDefaults) {
  cfg::ParseResult r = parse("");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.tests.empty());
  r = parse("[a]\nfile = a.efi");  // no final newline
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.tests[0].smp, "");
  EXPECT_EQ(r.tests[0].timeout, "");
}

TEST(CfgParse, MaxSmpAndQemuParamsAlias) {
  cfg::ParseResult r = parse("[a]\nfile = a.efi\nsmp = $MAX_SMP\nqemu_params = -m 1G\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.tests[0].smp, "$MAX_SMP");
  EXPECT_EQ(r.tests[0].extra_params, (std::vector<std::string>{"-m", "1G"}));
}

TEST(CfgParse, RecordStream) {
  cfg::ParseResult r = parse("[a]\nfile = a.efi\ngroups = g1 g2\nextra_params = -smp 2 ''\n");
  ASSERT_TRUE(r.ok());
  std::vector<std::string> f = fields(cfg::emit_records(r.tests));
  std::vector<std::string> want = {"test",          "name=a",   "line=1",      "file=a.efi",
                                   "smp=",          "memory=",  "test_args=",  "arch=",
                                   "accel=",        "boot=",    "timeout=", "skip_reason=", "group=g1",
                                   "group=g2",      "arg=-smp", "arg=2",        "arg=",
                                   "end"};
  EXPECT_EQ(f, want);
}

TEST(CfgErrors, MissingEquals) { EXPECT_EQ(only_error("[a]\nfile = a.efi\nsmp 2\n"), "3: expected '[name]' or 'key = value', got 'smp 2'"); }

TEST(CfgErrors, UnknownKey) { EXPECT_EQ(only_error("[a]\nfile = a.efi\n\nsmpp = 2\n"), "4: unknown key 'smpp'"); }

TEST(CfgErrors, DuplicateSection) {
  EXPECT_EQ(only_error("[a]\nfile = a.efi\n[a]\nfile = b.efi\n"), "3: duplicate section [a] (first at line 1)");
}

TEST(CfgErrors, DuplicateKeyIncludingAlias) {
  EXPECT_EQ(only_error("[a]\nfile = a.efi\nextra_params = -x\nqemu_params = -y\n"),
            "4: duplicate key 'qemu_params' (first at line 3)");
}

TEST(CfgErrors, BadValues) {
  EXPECT_EQ(only_error("[a]\nfile = a.efi\nsmp = abc\n"),
            "3: bad value for 'smp': 'abc' (a CPU count from 1 to 4096, or $MAX_SMP)");
  EXPECT_EQ(only_error("[a]\nfile = a.efi\nsmp = 0\n").substr(0, 2), "3:");
  EXPECT_EQ(only_error("[a]\nfile = a.efi\ntimeout = xyz\n").substr(0, 26), "3: bad value for 'timeout'");
  for (const char* d : {"0", "0s", "1x", "1..2", "-1", "s", ".5"}) {
    EXPECT_FALSE(cfg::valid_duration(d)) << d;
  }
  for (const char* d : {"1", "90s", "1.5m", "2h", "1d", "0.5"}) EXPECT_TRUE(cfg::valid_duration(d)) << d;
  EXPECT_EQ(only_error("[a]\nfile = a.efi\nmemory = lots\n").substr(0, 25), "3: bad value for 'memory'");
  EXPECT_EQ(only_error("[a]\nfile = a.efi\naccel = hvf\n").substr(0, 24), "3: bad value for 'accel'");
  EXPECT_EQ(only_error("[a]\nfile = a.efi\nboot = bios\n").substr(0, 23), "3: bad value for 'boot'");
  EXPECT_EQ(parse("[a]\nfile = a.efi\nboot = efi\n").tests.at(0).boot, "efi");
  EXPECT_EQ(only_error("[a]\nfile = a.efi\narch = arm64\n").substr(0, 23), "3: bad value for 'arch'");
  EXPECT_EQ(only_error("[a]\nfile = a.efi\ngroups = a,b\n").substr(0, 25), "3: bad value for 'groups'");
  EXPECT_EQ(only_error("[a]\nfile = a.efi\ncheck = nope\n").substr(0, 24), "3: bad value for 'check'");
}

TEST(CfgErrors, BadFile) {
  for (const char* f : {"/abs/a.efi", "../a.efi", "a/../../b.efi", "a.flat", ".efi", "a b.efi"}) {
    std::string text = std::string("[a]\nfile = ") + f + "\n";
    EXPECT_EQ(only_error(text.c_str()).substr(0, 23), "2: bad value for 'file'") << f;
  }
}

TEST(CfgErrors, SectionProblems) {
  EXPECT_EQ(only_error("file = a.efi\n"), "1: 'file' outside of a [section]");
  EXPECT_EQ(only_error("[a]\nsmp = 2\n"), "1: [a] has no 'file' key");
  EXPECT_EQ(only_error("[a b]\nfile = a.efi\n"), "1: bad test name 'a b' (letters, digits, _ - . + only)");
  EXPECT_EQ(only_error("[a] # c\nfile = a.efi\n"), "1: section header must be '[name]' alone on its line");
  EXPECT_EQ(only_error("[]\nfile = a.efi\n").substr(0, 16), "1: bad test name");
  EXPECT_EQ(only_error("[a]\nfile =\n"), "2: empty value for 'file'");
}

TEST(CfgErrors, GuestArgumentsTwice) {
  EXPECT_EQ(only_error("[a]\nfile = a.efi\ntest_args = x\nextra_params = -append y\n"),
            "1: [a] gives guest arguments twice: test_args and -append in extra_params");
  EXPECT_EQ(only_error("[a]\nfile = a.efi\nextra_params = -smp 2 -append\n"),
            "3: bad value for 'extra_params': '-smp 2 -append' (-append needs an argument)");
}

TEST(CfgErrors, AllErrorsAreReported) {
  cfg::ParseResult r = parse("[a]\nfile = a.efi\nfoo = 1\n[b]\nsmp = x\nfile = b.efi\n");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[1].line, 5);
  EXPECT_TRUE(r.tests.empty());
  EXPECT_EQ(cfg::format_error("unittests.cfg", r.errors[0]), "unittests.cfg:3: unknown key 'foo'");
}

TEST(SplitWords, Quoting) {
  std::vector<std::string> w;
  std::string err;
  ASSERT_TRUE(cfg::split_words(R"(a  'b c' "d \"e\" \$" f\ g '' x'y'z)", w, err)) << err;
  EXPECT_EQ(w, (std::vector<std::string>{"a", "b c", "d \"e\" $", "f g", "", "xyz"}));
  ASSERT_TRUE(cfg::split_words("", w, err));
  EXPECT_TRUE(w.empty());
  ASSERT_TRUE(cfg::split_words("'$HOME;|'", w, err));
  EXPECT_EQ(w, (std::vector<std::string>{"$HOME;|"}));
}

TEST(SplitWords, Refusals) {
  std::vector<std::string> w;
  std::string err;
  for (const char* s : {"'open", "\"open", "trailing\\", "$HOME", "a;b", "a|b", "`x`", "\"$x\"", "(a)"}) {
    EXPECT_FALSE(cfg::split_words(s, w, err)) << s;
    EXPECT_FALSE(err.empty()) << s;
  }
}

}  // namespace
