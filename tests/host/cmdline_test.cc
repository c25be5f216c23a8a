#include "efi/cmdline.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using efi::CmdlineStatus;

struct Parsed {
  CmdlineStatus status;
  std::vector<std::string> args;
};

constexpr int kMaxArgs = 16;

Parsed parse_bytes(const void* data, size_t size, const char* name = "selftest",
                   size_t buf_size = 256, int max_args = kMaxArgs) {
  std::vector<char> buf(buf_size + 1, '\x7f');
  std::vector<char*> argv(kMaxArgs + 2, reinterpret_cast<char*>(0x1));
  efi::Cmdline cl{-1, nullptr};
  Parsed p;
  p.status = efi::parse_load_options(data, size, name, buf.data(), buf_size, argv.data(),
                                     max_args, &cl);
  EXPECT_EQ(buf[buf_size], '\x7f') << "wrote past buf_size";
  EXPECT_EQ(cl.argv, argv.data());
  if (p.status != CmdlineStatus::ok) {
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

// The string with its terminating NUL, as firmware passes LoadOptions.
Parsed parse(const std::u16string& s, const char* name = "selftest", size_t buf_size = 256,
             int max_args = kMaxArgs) {
  return parse_bytes(s.c_str(), (s.size() + 1) * 2, name, buf_size, max_args);
}

using Args = std::vector<std::string>;

TEST(Cmdline, EmptyInputGivesProgramNameOnly) {
  auto p = parse_bytes(nullptr, 0);
  EXPECT_EQ(p.status, CmdlineStatus::ok);
  EXPECT_EQ(p.args, Args{"selftest"});

  const char16_t nul = 0;
  p = parse_bytes(&nul, 2);
  EXPECT_EQ(p.status, CmdlineStatus::ok);
  EXPECT_EQ(p.args, Args{"selftest"});

  p = parse(u"   \t ");
  EXPECT_EQ(p.status, CmdlineStatus::ok);
  EXPECT_EQ(p.args, Args{"selftest"});
}

TEST(Cmdline, AppendWithoutProgramName) {
  // OVMF -kernel with -append 'a "b c" d'.
  auto p = parse(u"a \"b c\" d");
  EXPECT_EQ(p.status, CmdlineStatus::ok);
  EXPECT_EQ(p.args, (Args{"selftest", "a", "b c", "d"}));
}

TEST(Cmdline, ShellPassesProgramNameFirst) {
  auto p = parse(u"selftest.efi -v 3");
  EXPECT_EQ(p.args, (Args{"selftest", "-v", "3"}));

  p = parse(u"fs0:\\x86\\selftest.efi -v");
  EXPECT_EQ(p.args, (Args{"selftest", "-v"}));

  p = parse(u"SELFTEST.EFI x");
  EXPECT_EQ(p.args, (Args{"selftest", "x"}));

  p = parse(u"fs0:SelfTest y");
  EXPECT_EQ(p.args, (Args{"selftest", "y"}));

  p = parse(u"\"\\EFI\\my dir\\selftest.efi\" z");
  EXPECT_EQ(p.args, (Args{"selftest", "z"}));
}

TEST(Cmdline, OnlyTheFirstWordIsCheckedForTheName) {
  auto p = parse(u"selftest selftest");
  EXPECT_EQ(p.args, (Args{"selftest", "selftest"}));

  p = parse(u"run selftest.efi");
  EXPECT_EQ(p.args, (Args{"selftest", "run", "selftest.efi"}));
}

TEST(Cmdline, NearMissesOfTheNameAreKept) {
  EXPECT_EQ(parse(u"selftest2.efi").args, (Args{"selftest", "selftest2.efi"}));
  EXPECT_EQ(parse(u"selftest.efi.efi").args, (Args{"selftest", "selftest.efi.efi"}));
  EXPECT_EQ(parse(u"selftes.efi").args, (Args{"selftest", "selftes.efi"}));
  EXPECT_EQ(parse(u"selftest\\").args, (Args{"selftest", "selftest\\"}));
  EXPECT_EQ(parse(u"selftest.ef").args, (Args{"selftest", "selftest.ef"}));
}

TEST(Cmdline, TabsAndRunsOfSpacesSeparate) {
  auto p = parse(u"\t a\t\tb   c \t");
  EXPECT_EQ(p.args, (Args{"selftest", "a", "b", "c"}));
}

TEST(Cmdline, Quotes) {
  EXPECT_EQ(parse(u"\"\"").args, (Args{"selftest", ""}));
  EXPECT_EQ(parse(u"a\"b c\"d e").args, (Args{"selftest", "ab cd", "e"}));
  EXPECT_EQ(parse(u"\"tab\there\"").args, (Args{"selftest", "tab\there"}));
  EXPECT_EQ(parse(u"x \"\" y").args, (Args{"selftest", "x", "", "y"}));
}

TEST(Cmdline, UnterminatedQuote) {
  EXPECT_EQ(parse(u"a \"b c").status, CmdlineStatus::unterminated_quote);
  EXPECT_EQ(parse(u"\"").status, CmdlineStatus::unterminated_quote);
}

TEST(Cmdline, CaretEscapes) {
  EXPECT_EQ(parse(u"^\"a b^\"").args, (Args{"selftest", "\"a", "b\""}));
  EXPECT_EQ(parse(u"a^ b").args, (Args{"selftest", "a b"}));
  EXPECT_EQ(parse(u"^^").args, (Args{"selftest", "^"}));
  EXPECT_EQ(parse(u"\"in ^\"quote\"").args, (Args{"selftest", "in \"quote"}));
  EXPECT_EQ(parse(u"end^").args, (Args{"selftest", "end^"}));
}

TEST(Cmdline, Utf8Encoding) {
  // U+00E9 (2 bytes), U+20AC (3 bytes), U+1F600 as a surrogate pair (4).
  auto p = parse(u"\u00e9 \u20ac \U0001F600");
  EXPECT_EQ(p.status, CmdlineStatus::ok);
  EXPECT_EQ(p.args, (Args{"selftest", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"}));
  // U+10FFFF, the last code point: DBFF DFFF.
  const char16_t max_cp[] = {0xdbff, 0xdfff, 0};
  EXPECT_EQ(parse_bytes(max_cp, sizeof max_cp).args, (Args{"selftest", "\xf4\x8f\xbf\xbf"}));
}

TEST(Cmdline, LoneSurrogatesBecomeReplacementChar) {
  const std::string fffd = "\xef\xbf\xbd";
  const char16_t high_then_ascii[] = {0xd83d, u'x', 0};
  EXPECT_EQ(parse_bytes(high_then_ascii, sizeof high_then_ascii).args,
            (Args{"selftest", fffd + "x"}));
  const char16_t low_alone[] = {u'a', 0xde00, u'b', 0};
  EXPECT_EQ(parse_bytes(low_alone, sizeof low_alone).args, (Args{"selftest", "a" + fffd + "b"}));
  const char16_t high_at_end[] = {u'a', 0xd800};  // no NUL, size ends the text
  EXPECT_EQ(parse_bytes(high_at_end, sizeof high_at_end).args, (Args{"selftest", "a" + fffd}));
  const char16_t two_highs[] = {0xd800, 0xd800, 0xdc00, 0};
  EXPECT_EQ(parse_bytes(two_highs, sizeof two_highs).args,
            (Args{"selftest", fffd + "\xf0\x90\x80\x80"}));
  const char16_t reversed_pair[] = {0xdc00, 0xd800, 0};
  EXPECT_EQ(parse_bytes(reversed_pair, sizeof reversed_pair).args,
            (Args{"selftest", fffd + fffd}));
}

TEST(Cmdline, StopsAtNulOrSize) {
  const char16_t text[] = {u'a', u' ', u'b', 0, u'c', u' ', u'd', 0};
  EXPECT_EQ(parse_bytes(text, sizeof text).args, (Args{"selftest", "a", "b"}));
  // Size cuts "a b" after "a ".
  EXPECT_EQ(parse_bytes(text, 4).args, (Args{"selftest", "a"}));
  // An odd trailing byte is not half a character.
  EXPECT_EQ(parse_bytes(text, 5).args, (Args{"selftest", "a"}));
  EXPECT_EQ(parse_bytes(text, 1).args, (Args{"selftest"}));
}

TEST(Cmdline, UnalignedLoadOptions) {
  alignas(2) unsigned char raw[9] = {0xff, 'h', 0, 'i', 0, ' ', 0, 'x', 0};
  EXPECT_EQ(parse_bytes(raw + 1, 8).args, (Args{"selftest", "hi", "x"}));
}

TEST(Cmdline, TooLong) {
  // "selftest\0" needs 9 bytes, "abc\0" 4 more: 13 fits exactly, 12 does not.
  EXPECT_EQ(parse(u"abc", "selftest", 13).status, CmdlineStatus::ok);
  EXPECT_EQ(parse(u"abc", "selftest", 12).status, CmdlineStatus::too_long);
  EXPECT_EQ(parse(u"", "selftest", 8).status, CmdlineStatus::too_long);
  // Multi-byte characters count as their UTF-8 length: U+20AC is 3 bytes.
  EXPECT_EQ(parse(u"\u20ac", "selftest", 13).status, CmdlineStatus::ok);
  EXPECT_EQ(parse(u"\u20ac", "selftest", 12).status, CmdlineStatus::too_long);
  const std::u16string huge(4096, u'x');
  EXPECT_EQ(parse(huge).status, CmdlineStatus::too_long);
}

TEST(Cmdline, DroppedProgramNameNeedsRoomWhileDecoded) {
  // "selftest\0" (9) + "fs0:\selftest.efi\0" (18) must fit while the first
  // word is decoded; afterwards its space is reused for "a\0".
  EXPECT_EQ(parse(u"fs0:\\selftest.efi a", "selftest", 27).args, (Args{"selftest", "a"}));
  EXPECT_EQ(parse(u"fs0:\\selftest.efi a", "selftest", 26).status, CmdlineStatus::too_long);
}

TEST(Cmdline, TooManyArgs) {
  EXPECT_EQ(parse(u"a b c", "selftest", 256, 4).args, (Args{"selftest", "a", "b", "c"}));
  EXPECT_EQ(parse(u"a b c d", "selftest", 256, 4).status, CmdlineStatus::too_many_args);
  // The dropped program name does not count.
  EXPECT_EQ(parse(u"selftest a b c", "selftest", 256, 4).args,
            (Args{"selftest", "a", "b", "c"}));
  EXPECT_EQ(parse(u"", "selftest", 256, 1).args, Args{"selftest"});
  EXPECT_EQ(parse(u"a", "selftest", 256, 1).status, CmdlineStatus::too_many_args);
  EXPECT_EQ(parse(u"", "selftest", 256, 0).status, CmdlineStatus::too_many_args);
}

TEST(Cmdline, StatusStrings) {
  EXPECT_STREQ(efi::cmdline_status_str(CmdlineStatus::ok), "ok");
  EXPECT_STREQ(efi::cmdline_status_str(CmdlineStatus::too_long), "command line too long");
  EXPECT_STREQ(efi::cmdline_status_str(CmdlineStatus::too_many_args), "too many arguments");
  EXPECT_STREQ(efi::cmdline_status_str(CmdlineStatus::unterminated_quote), "unterminated quote");
}

}  // namespace
