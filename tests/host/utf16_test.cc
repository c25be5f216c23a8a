#include "efi/utf16.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "boot/cmdline.h"

namespace {

struct Converted {
  bool ok;
  std::string text;
};

Converted convert_bytes(const void* data, size_t size, size_t out_size = 256) {
  std::vector<char> out(out_size + 1, '\x7f');
  size_t len = 12345;
  Converted c;
  c.ok = efi::utf16_to_utf8(data, size, out.data(), out_size, &len);
  EXPECT_EQ(out[out_size], '\x7f') << "wrote past out_size";
  if (!c.ok) {
    EXPECT_EQ(len, 0u);
    if (out_size > 0) {
      EXPECT_EQ(out[0], '\0');
    }
    return c;
  }
  EXPECT_LT(len, out_size);
  EXPECT_EQ(out[len], '\0');
  c.text.assign(out.data(), len);
  return c;
}

// The string with its terminating NUL, as firmware passes LoadOptions.
Converted convert(const std::u16string& s, size_t out_size = 256) {
  return convert_bytes(s.c_str(), (s.size() + 1) * 2, out_size);
}

TEST(Utf16, Empty) {
  EXPECT_EQ(convert_bytes(nullptr, 0).text, "");
  EXPECT_TRUE(convert_bytes(nullptr, 0).ok);
  const char16_t nul = 0;
  EXPECT_EQ(convert_bytes(&nul, 2).text, "");
  EXPECT_EQ(convert(u"").text, "");
}

TEST(Utf16, AsciiIsCopied) {
  EXPECT_EQ(convert(u"a \"b c\" ^d\t").text, "a \"b c\" ^d\t");
}

TEST(Utf16, Utf8Encoding) {
  // U+00E9 (2 bytes), U+20AC (3 bytes), U+1F600 as a surrogate pair (4).
  EXPECT_EQ(convert(u"\u00e9 \u20ac \U0001F600").text,
            "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // U+10FFFF, the last code point: DBFF DFFF.
  const char16_t max_cp[] = {0xdbff, 0xdfff, 0};
  EXPECT_EQ(convert_bytes(max_cp, sizeof max_cp).text, "\xf4\x8f\xbf\xbf");
}

TEST(Utf16, LoneSurrogatesBecomeReplacementChar) {
  const std::string fffd = "\xef\xbf\xbd";
  const char16_t high_then_ascii[] = {0xd83d, u'x', 0};
  EXPECT_EQ(convert_bytes(high_then_ascii, sizeof high_then_ascii).text, fffd + "x");
  const char16_t low_alone[] = {u'a', 0xde00, u'b', 0};
  EXPECT_EQ(convert_bytes(low_alone, sizeof low_alone).text, "a" + fffd + "b");
  const char16_t high_at_end[] = {u'a', 0xd800};  // no NUL, size ends the text
  EXPECT_EQ(convert_bytes(high_at_end, sizeof high_at_end).text, "a" + fffd);
  const char16_t two_highs[] = {0xd800, 0xd800, 0xdc00, 0};
  EXPECT_EQ(convert_bytes(two_highs, sizeof two_highs).text, fffd + "\xf0\x90\x80\x80");
  const char16_t reversed_pair[] = {0xdc00, 0xd800, 0};
  EXPECT_EQ(convert_bytes(reversed_pair, sizeof reversed_pair).text, fffd + fffd);
}

TEST(Utf16, StopsAtNulOrSize) {
  const char16_t text[] = {u'a', u' ', u'b', 0, u'c', u' ', u'd', 0};
  EXPECT_EQ(convert_bytes(text, sizeof text).text, "a b");
  EXPECT_EQ(convert_bytes(text, 4).text, "a ");
  // An odd trailing byte is not half a character.
  EXPECT_EQ(convert_bytes(text, 5).text, "a ");
  EXPECT_EQ(convert_bytes(text, 1).text, "");
}

TEST(Utf16, UnalignedLoadOptions) {
  alignas(2) unsigned char raw[9] = {0xff, 'h', 0, 'i', 0, ' ', 0, 'x', 0};
  EXPECT_EQ(convert_bytes(raw + 1, 8).text, "hi x");
}

TEST(Utf16, TooLong) {
  // "abc" and its NUL: 4 bytes fit, 3 do not.
  EXPECT_TRUE(convert(u"abc", 4).ok);
  EXPECT_FALSE(convert(u"abc", 3).ok);
  EXPECT_FALSE(convert(u"", 0).ok);
  // U+20AC is 3 bytes of UTF-8.
  EXPECT_TRUE(convert(u"\u20ac", 4).ok);
  EXPECT_FALSE(convert(u"\u20ac", 3).ok);
  const std::u16string huge(4096, u'x');
  EXPECT_FALSE(convert(huge).ok);
}

// What the UEFI entry does: LoadOptions to UTF-8, then the shared parser.
TEST(Utf16, LoadOptionsToArgv) {
  const std::u16string lo = u"fs0:\\x86\\selftest.efi \"two \u20ac\" ^\"x";
  char text[256];
  size_t len = 0;
  ASSERT_TRUE(efi::utf16_to_utf8(lo.c_str(), (lo.size() + 1) * 2, text, sizeof text, &len));
  char buf[256];
  char* argv[8];
  boot::Argv a{};
  ASSERT_EQ(boot::parse_cmdline(text, len, "selftest", buf, sizeof buf, argv, 7, &a),
            boot::ArgvStatus::ok);
  ASSERT_EQ(a.argc, 3);
  EXPECT_STREQ(argv[0], "selftest");
  EXPECT_STREQ(argv[1], "two \xe2\x82\xac");
  EXPECT_STREQ(argv[2], "\"x");
  EXPECT_EQ(argv[3], nullptr);
}

}  // namespace
