#include "boot/cmdline.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using boot::ArgvStatus;

struct Parsed {
  ArgvStatus status;
  std::vector<std::string> args;
};

constexpr int kMaxArgs = 16;

Parsed parse_bytes(const char* text, size_t size, const char* name = "selftest",
                   size_t buf_size = 256, int max_args = kMaxArgs) {
  std::vector<char> buf(buf_size + 1, '\x7f');
  std::vector<char*> argv(kMaxArgs + 2, reinterpret_cast<char*>(0x1));
  boot::Argv cl{-1, nullptr};
  Parsed p;
  p.status = boot::parse_cmdline(text, size, name, buf.data(), buf_size, argv.data(), max_args,
                                 &cl);
  EXPECT_EQ(buf[buf_size], '\x7f') << "wrote past buf_size";
  EXPECT_EQ(cl.argv, argv.data());
  if (p.status != ArgvStatus::ok) {
    EXPECT_EQ(cl.argc, 0);
    EXPECT_EQ(argv[0], nullptr);
    return p;
  }
  EXPECT_GE(cl.argc, 1);
  EXPECT_LE(cl.argc, max_args);
  EXPECT_EQ(argv[cl.argc], nullptr);
  for (int i = 0; i < cl.argc; ++i) {
    EXPECT_GE(argv[i], buf.data());
    EXPECT_LT(argv[i], buf.data() + buf_size);
    p.args.emplace_back(argv[i]);
  }
  return p;
}

// The string with its terminating NUL, as a loader passes it.
Parsed parse(const std::string& s, const char* name = "selftest", size_t buf_size = 256,
             int max_args = kMaxArgs) {
  return parse_bytes(s.c_str(), s.size() + 1, name, buf_size, max_args);
}

using Args = std::vector<std::string>;

TEST(Cmdline, EmptyInputGivesProgramNameOnly) {
  auto p = parse_bytes(nullptr, 0);
  EXPECT_EQ(p.status, ArgvStatus::ok);
  EXPECT_EQ(p.args, Args{"selftest"});

  const char nul = 0;
  p = parse_bytes(&nul, 1);
  EXPECT_EQ(p.status, ArgvStatus::ok);
  EXPECT_EQ(p.args, Args{"selftest"});

  p = parse("   \t ");
  EXPECT_EQ(p.status, ArgvStatus::ok);
  EXPECT_EQ(p.args, Args{"selftest"});
}

TEST(Cmdline, AppendWithoutProgramName) {
  // OVMF -kernel with -append 'a "b c" d'.
  auto p = parse("a \"b c\" d");
  EXPECT_EQ(p.status, ArgvStatus::ok);
  EXPECT_EQ(p.args, (Args{"selftest", "a", "b c", "d"}));
}

TEST(Cmdline, ShellPassesProgramNameFirst) {
  auto p = parse("selftest.efi -v 3");
  EXPECT_EQ(p.args, (Args{"selftest", "-v", "3"}));

  p = parse("fs0:\\x86\\selftest.efi -v");
  EXPECT_EQ(p.args, (Args{"selftest", "-v"}));

  p = parse("SELFTEST.EFI x");
  EXPECT_EQ(p.args, (Args{"selftest", "x"}));

  p = parse("fs0:SelfTest y");
  EXPECT_EQ(p.args, (Args{"selftest", "y"}));

  p = parse("\"\\EFI\\my dir\\selftest.efi\" z");
  EXPECT_EQ(p.args, (Args{"selftest", "z"}));
}

TEST(Cmdline, OnlyTheFirstWordIsCheckedForTheName) {
  auto p = parse("selftest selftest");
  EXPECT_EQ(p.args, (Args{"selftest", "selftest"}));

  p = parse("run selftest.efi");
  EXPECT_EQ(p.args, (Args{"selftest", "run", "selftest.efi"}));
}

TEST(Cmdline, NearMissesOfTheNameAreKept) {
  EXPECT_EQ(parse("selftest2.efi").args, (Args{"selftest", "selftest2.efi"}));
  EXPECT_EQ(parse("selftest.efi.efi").args, (Args{"selftest", "selftest.efi.efi"}));
  EXPECT_EQ(parse("selftes.efi").args, (Args{"selftest", "selftes.efi"}));
  EXPECT_EQ(parse("selftest\\").args, (Args{"selftest", "selftest\\"}));
  EXPECT_EQ(parse("selftest.ef").args, (Args{"selftest", "selftest.ef"}));
}

TEST(Cmdline, TabsAndRunsOfSpacesSeparate) {
  auto p = parse("\t a\t\tb   c \t");
  EXPECT_EQ(p.args, (Args{"selftest", "a", "b", "c"}));
}

TEST(Cmdline, Quotes) {
  EXPECT_EQ(parse("\"\"").args, (Args{"selftest", ""}));
  EXPECT_EQ(parse("a\"b c\"d e").args, (Args{"selftest", "ab cd", "e"}));
  EXPECT_EQ(parse("\"tab\there\"").args, (Args{"selftest", "tab\there"}));
  EXPECT_EQ(parse("x \"\" y").args, (Args{"selftest", "x", "", "y"}));
}

TEST(Cmdline, UnterminatedQuote) {
  EXPECT_EQ(parse("a \"b c").status, ArgvStatus::unterminated_quote);
  EXPECT_EQ(parse("\"").status, ArgvStatus::unterminated_quote);
}

TEST(Cmdline, CaretEscapes) {
  EXPECT_EQ(parse("^\"a b^\"").args, (Args{"selftest", "\"a", "b\""}));
  EXPECT_EQ(parse("a^ b").args, (Args{"selftest", "a b"}));
  EXPECT_EQ(parse("^^").args, (Args{"selftest", "^"}));
  EXPECT_EQ(parse("\"in ^\"quote\"").args, (Args{"selftest", "in \"quote"}));
  EXPECT_EQ(parse("end^").args, (Args{"selftest", "end^"}));
}

TEST(Cmdline, MultiByteCharactersPassThrough) {
  // U+00E9, U+20AC and U+1F600 in UTF-8, plain, quoted and escaped.
  EXPECT_EQ(parse("\xc3\xa9 \"\xe2\x82\xac x\" ^\xf0\x9f\x98\x80").args,
            (Args{"selftest", "\xc3\xa9", "\xe2\x82\xac x", "\xf0\x9f\x98\x80"}));
  // Bytes that are not UTF-8 are not the parser's business: kept as given.
  EXPECT_EQ(parse("\xff\xfe a").args, (Args{"selftest", "\xff\xfe", "a"}));
}

TEST(Cmdline, StopsAtNulOrSize) {
  const char text[] = {'a', ' ', 'b', 0, 'c', ' ', 'd', 0};
  EXPECT_EQ(parse_bytes(text, sizeof text).args, (Args{"selftest", "a", "b"}));
  // Size cuts "a b" after "a ".
  EXPECT_EQ(parse_bytes(text, 2).args, (Args{"selftest", "a"}));
  EXPECT_EQ(parse_bytes(text, 0).args, (Args{"selftest"}));
  // No NUL at all: the size ends the text.
  const char bare[] = {'x', 'y'};
  EXPECT_EQ(parse_bytes(bare, sizeof bare).args, (Args{"selftest", "xy"}));
}

TEST(Cmdline, TooLong) {
  // "selftest\0" needs 9 bytes, "abc\0" 4 more: 13 fits exactly, 12 does not.
  EXPECT_EQ(parse("abc", "selftest", 13).status, ArgvStatus::ok);
  EXPECT_EQ(parse("abc", "selftest", 12).status, ArgvStatus::too_long);
  EXPECT_EQ(parse("", "selftest", 8).status, ArgvStatus::too_long);
  // Multi-byte characters count as their UTF-8 length: U+20AC is 3 bytes.
  EXPECT_EQ(parse("\xe2\x82\xac", "selftest", 13).status, ArgvStatus::ok);
  EXPECT_EQ(parse("\xe2\x82\xac", "selftest", 12).status, ArgvStatus::too_long);
  const std::string huge(4096, 'x');
  EXPECT_EQ(parse(huge).status, ArgvStatus::too_long);
}

TEST(Cmdline, DroppedProgramNameNeedsRoomWhileCopied) {
  // "selftest\0" (9) + "fs0:\selftest.efi\0" (18) must fit while the first
  // word is copied; afterwards its space is reused for "a\0".
  EXPECT_EQ(parse("fs0:\\selftest.efi a", "selftest", 27).args, (Args{"selftest", "a"}));
  EXPECT_EQ(parse("fs0:\\selftest.efi a", "selftest", 26).status, ArgvStatus::too_long);
}

TEST(Cmdline, TooManyArgs) {
  EXPECT_EQ(parse("a b c", "selftest", 256, 4).args, (Args{"selftest", "a", "b", "c"}));
  EXPECT_EQ(parse("a b c d", "selftest", 256, 4).status, ArgvStatus::too_many_args);
  // The dropped program name does not count.
  EXPECT_EQ(parse("selftest a b c", "selftest", 256, 4).args,
            (Args{"selftest", "a", "b", "c"}));
  EXPECT_EQ(parse("", "selftest", 256, 1).args, Args{"selftest"});
  EXPECT_EQ(parse("a", "selftest", 256, 1).status, ArgvStatus::too_many_args);
  EXPECT_EQ(parse("", "selftest", 256, 0).status, ArgvStatus::too_many_args);
}

TEST(Cmdline, StatusStrings) {
  EXPECT_STREQ(boot::argv_status_str(ArgvStatus::ok), "ok");
  EXPECT_STREQ(boot::argv_status_str(ArgvStatus::too_long), "command line too long");
  EXPECT_STREQ(boot::argv_status_str(ArgvStatus::too_many_args), "too many arguments");
  EXPECT_STREQ(boot::argv_status_str(ArgvStatus::unterminated_quote), "unterminated quote");
}

}  // namespace
