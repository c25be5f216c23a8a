#include "rt/format.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Both calls see the same literal format and arguments, so the compiler
// checks them as printf formats, and glibc is the reference.
#define EXPECT_LIKE_LIBC(...)                                        \
  do {                                                               \
    SCOPED_TRACE(#__VA_ARGS__);                                      \
    char ours[256];                                                  \
    char theirs[256];                                                \
    std::memset(ours, 0x55, sizeof ours);                            \
    std::memset(theirs, 0x55, sizeof theirs);                        \
    const int n_ours = rt::snprintf(ours, sizeof ours, __VA_ARGS__); \
    const int n_theirs = std::snprintf(theirs, sizeof theirs, __VA_ARGS__); \
    EXPECT_EQ(n_ours, n_theirs);                                     \
    EXPECT_EQ(std::string(ours, static_cast<size_t>(n_ours)),        \
              std::string(theirs, static_cast<size_t>(n_theirs)));   \
    EXPECT_EQ(ours[n_ours], '\0');                                   \
  } while (0)

// For combinations the compiler flags as redundant (a '0' that '-' or a
// precision overrides, a ' ' that '+' overrides, an int narrowed by hh/h):
// defined behaviour worth testing, so they bypass the format check.
struct Both {
  int n_ours, n_theirs;
  std::string ours, theirs;
};

Both both_unchecked(const char* fmt, ...) {
  char ours[256];
  char theirs[256];
  va_list ap;
  va_list ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  Both b;
  b.n_ours = rt::vsnprintf(ours, sizeof ours, fmt, ap);
  b.n_theirs = std::vsnprintf(theirs, sizeof theirs, fmt, ap2);
  va_end(ap2);
  va_end(ap);
  b.ours = ours;
  b.theirs = theirs;
  return b;
}

#define EXPECT_LIKE_LIBC_UNCHECKED(...)          \
  do {                                           \
    SCOPED_TRACE(#__VA_ARGS__);                  \
    const Both b = both_unchecked(__VA_ARGS__);  \
    EXPECT_EQ(b.n_ours, b.n_theirs);             \
    EXPECT_EQ(b.ours, b.theirs);                 \
  } while (0)

TEST(Format, SignedDecimal) {
  EXPECT_LIKE_LIBC("%d", 0);
  EXPECT_LIKE_LIBC("%d", 42);
  EXPECT_LIKE_LIBC("%d", -42);
  EXPECT_LIKE_LIBC("%i", INT_MAX);
  EXPECT_LIKE_LIBC("%i", INT_MIN);
  EXPECT_LIKE_LIBC("%5d|%-5d|%05d", 42, 42, 42);
  EXPECT_LIKE_LIBC("%05d|%+05d|% 05d", -42, 42, 42);
  EXPECT_LIKE_LIBC_UNCHECKED("%-05d|%-05d", -42, 42);
  EXPECT_LIKE_LIBC("%+d|%+d|% d|% d", 7, -7, 7, -7);
  EXPECT_LIKE_LIBC_UNCHECKED("%+ d|% +d|%+ d", 7, 7, -7);
  EXPECT_LIKE_LIBC("%.3d|%.3d|%8.3d|%-8.3d", 7, -7, 7, -7);
  EXPECT_LIKE_LIBC_UNCHECKED("%08.3d|%08.3d|%08.0d", 7, -7, 0);
  EXPECT_LIKE_LIBC("%.0d|%5.0d|%.0d|%+.0d", 0, 0, 1, 0);
  EXPECT_LIKE_LIBC("%.d", 0);
  EXPECT_LIKE_LIBC("%1d|%2d", 123, -123);
}

TEST(Format, LengthModifiers) {
  EXPECT_LIKE_LIBC("%hhd|%hhu|%hhx", static_cast<signed char>(-128),
                   static_cast<unsigned char>(255), static_cast<unsigned char>(0x7f));
  EXPECT_LIKE_LIBC("%hd|%hu", static_cast<short>(SHRT_MIN), static_cast<unsigned short>(65535));
  // An int argument is narrowed to the length the modifier names.
  EXPECT_LIKE_LIBC_UNCHECKED("%hhd|%hhd|%hhu|%hhx", 127, 300, -1, 0x1ff);
  EXPECT_LIKE_LIBC_UNCHECKED("%hd|%hd|%hu|%hx", 70000, -70000, -1, 0x12345);
  EXPECT_LIKE_LIBC("%ld|%lu|%lx", LONG_MIN, ULONG_MAX, 0xfeedfacecafebeefUL);
  EXPECT_LIKE_LIBC("%lld|%llu|%llo", LLONG_MIN, ULLONG_MAX, ULLONG_MAX);
  EXPECT_LIKE_LIBC("%zu|%zx|%zd", SIZE_MAX, static_cast<size_t>(0x1234), static_cast<ssize_t>(-5));
  EXPECT_LIKE_LIBC("%jd|%ju", INTMAX_MIN, UINTMAX_MAX);
  EXPECT_LIKE_LIBC("%td|%tx", static_cast<ptrdiff_t>(-99), static_cast<ptrdiff_t>(255));
}

TEST(Format, Unsigned) {
  EXPECT_LIKE_LIBC("%u|%u|%u", 0u, 1u, UINT_MAX);
  EXPECT_LIKE_LIBC("%x|%X|%x", 0xdeadbeefu, 0xdeadbeefu, 0u);
  EXPECT_LIKE_LIBC("%#x|%#X|%#x|%#o|%#o", 255u, 255u, 0u, 8u, 0u);
  EXPECT_LIKE_LIBC("%#10x|%#-10x|%#010x|%010X", 255u, 255u, 255u, 255u);
  EXPECT_LIKE_LIBC("%#.4x|%#.0x|%.0x|%#.0o|%.0o", 255u, 0u, 0u, 0u, 0u);
  EXPECT_LIKE_LIBC("%o|%o|%#o|%#.5o|%#5o", 8u, 0777u, 0777u, 07u, 07u);
  EXPECT_LIKE_LIBC("%#.3o|%#.2o", 0777u, 0777u);
  EXPECT_LIKE_LIBC("%-8.4u|%8u", 12u, 12u);
  EXPECT_LIKE_LIBC_UNCHECKED("%08.4u|%#08.0x|%-#08x", 12u, 0u, 255u);
  EXPECT_LIKE_LIBC("%.20u", 1u);
}

TEST(Format, CharsAndStrings) {
  EXPECT_LIKE_LIBC("%c%c%c", 'a', 'b', 'c');
  EXPECT_LIKE_LIBC("[%3c][%-3c]", 'x', 'y');
  EXPECT_LIKE_LIBC("%c", 0x141);
  EXPECT_LIKE_LIBC("%s|%s", "hello", "");
  EXPECT_LIKE_LIBC("[%10s][%-10s][%.2s][%5.1s][%-5.3s]", "abc", "abc", "abc", "abc", "abcdef");
  EXPECT_LIKE_LIBC("%.0s|%.10s", "abc", "abc");
  EXPECT_LIKE_LIBC("%s %s %s", "mixed", "with", "text");
  EXPECT_LIKE_LIBC("100%% done, %d%%", 50);
  EXPECT_LIKE_LIBC("no conversions at all");
  EXPECT_LIKE_LIBC("%s", "a\tb\nc");
}

TEST(Format, StarWidthAndPrecision) {
  EXPECT_LIKE_LIBC("[%*d]", 6, 42);
  EXPECT_LIKE_LIBC("[%*d]", -6, 42);
  EXPECT_LIKE_LIBC("[%-*d]", -6, 42);
  EXPECT_LIKE_LIBC("[%.*d]", 4, 42);
  EXPECT_LIKE_LIBC("[%.*d]", -4, 42);
  EXPECT_LIKE_LIBC_UNCHECKED("[%0*.*d]", 8, -1, 42);
  EXPECT_LIKE_LIBC_UNCHECKED("[%0*.*d]", 8, 3, 42);
  EXPECT_LIKE_LIBC("[%*.*s]", 8, 2, "abcdef");
  EXPECT_LIKE_LIBC("[%.*s]", 3, "abcdef");
}

TEST(Format, Pointers) {
  int x = 0;
  void* p = &x;
  EXPECT_LIKE_LIBC("%p", p);
  EXPECT_LIKE_LIBC("[%20p][%-20p]", p, p);
  EXPECT_LIKE_LIBC("%p", reinterpret_cast<void*>(0x1));
  EXPECT_LIKE_LIBC("%p", reinterpret_cast<void*>(UINTPTR_MAX));
  void* volatile null = nullptr;
  EXPECT_LIKE_LIBC("%p|[%8p]|[%-8p]", static_cast<void*>(null), static_cast<void*>(null),
                   static_cast<void*>(null));
}

TEST(Format, NullString) {
  const char* volatile null = nullptr;
  char buf[64];
  EXPECT_EQ(rt::snprintf(buf, sizeof buf, "%s", static_cast<const char*>(null)), 6);
  EXPECT_STREQ(buf, "(null)");
  EXPECT_EQ(rt::snprintf(buf, sizeof buf, "[%8s]", static_cast<const char*>(null)), 10);
  EXPECT_STREQ(buf, "[  (null)]");
  // Precision cuts the replacement text like any other string.
  EXPECT_EQ(rt::snprintf(buf, sizeof buf, "%.3s", static_cast<const char*>(null)), 3);
  EXPECT_STREQ(buf, "(nu");
}

TEST(Format, PrecisionDoesNotReadPastTheLimit) {
  // Not NUL-terminated: ASan catches a read of d[3].
  const char d[3] = {'x', 'y', 'z'};
  char buf[8];
  EXPECT_EQ(rt::snprintf(buf, sizeof buf, "%.3s", d), 3);
  EXPECT_STREQ(buf, "xyz");
}

TEST(Format, Truncation) {
  char buf[8];
  std::memset(buf, '#', sizeof buf);
  EXPECT_EQ(rt::snprintf(buf, 5, "%s-%d", "abcdef", 123), 10);
  EXPECT_STREQ(buf, "abcd");
  EXPECT_EQ(buf[5], '#') << "wrote past size";

  std::memset(buf, '#', sizeof buf);
  EXPECT_EQ(rt::snprintf(buf, 1, "hello"), 5);
  EXPECT_EQ(buf[0], '\0');
  EXPECT_EQ(buf[1], '#');

  std::memset(buf, '#', sizeof buf);
  EXPECT_EQ(rt::snprintf(buf, 0, "hello %d", 1), 7);
  EXPECT_EQ(buf[0], '#') << "size 0 must write nothing";
  EXPECT_EQ(rt::snprintf(nullptr, 0, "%08x", 1u), 8);

  // Exactly fitting: 7 characters and the NUL.
  EXPECT_EQ(rt::snprintf(buf, 8, "%7d", 5), 7);
  EXPECT_STREQ(buf, "      5");
  EXPECT_EQ(rt::snprintf(buf, 7, "%7d", 5), 7);
  EXPECT_STREQ(buf, "      ");
}

TEST(Format, TruncationMatchesLibcAtEverySize) {
  for (size_t size = 0; size <= 24; ++size) {
    char ours[32];
    char theirs[32];
    std::memset(ours, '#', sizeof ours);
    std::memset(theirs, '#', sizeof theirs);
    const int a = rt::snprintf(ours, size, "%s=%#x (%-6d)", "key", 0xabcu, -12);
    const int b = std::snprintf(theirs, size, "%s=%#x (%-6d)", "key", 0xabcu, -12);
    EXPECT_EQ(a, b) << "size " << size;
    EXPECT_EQ(0, std::memcmp(ours, theirs, sizeof ours)) << "size " << size;
  }
}

// Deliberately malformed formats go through an unchecked wrapper: the
// compiler would reject them as printf formats, rightly.
std::string unchecked(const char* fmt, ...) {
  char buf[128];
  va_list ap;
  va_start(ap, fmt);
  const int n = rt::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  EXPECT_EQ(static_cast<size_t>(n), std::strlen(buf));
  return buf;
}

TEST(Format, UnknownConversionsArePrintedLiterally) {
  EXPECT_EQ(unchecked("a%qb"), "a%qb");
  EXPECT_EQ(unchecked("%-08.3lq|%d", 5), "%-08.3lq|5");
  EXPECT_EQ(unchecked("%f", 1.5), "%f");
  EXPECT_EQ(unchecked("trailing %"), "trailing %");
  EXPECT_EQ(unchecked("trailing %-5l"), "trailing %-5l");
}

struct Chunks {
  std::string text;
  int calls = 0;
};

void collect(void* ctx, const char* s, size_t n) {
  auto* c = static_cast<Chunks*>(ctx);
  EXPECT_GT(n, 0u) << "empty chunks are pointless sink calls";
  c->text.append(s, n);
  ++c->calls;
}

int format_to(Chunks* c, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
int format_to(Chunks* c, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int n = rt::vformat(collect, c, fmt, ap);
  va_end(ap);
  return n;
}

TEST(Format, VformatCountsEverythingIncludingNul) {
  Chunks c;
  EXPECT_EQ(format_to(&c, "a%cb%40d", 0, 7), 43);
  EXPECT_EQ(c.text.size(), 43u);
  EXPECT_EQ(c.text[1], '\0');
  EXPECT_EQ(c.text.substr(3), std::string(39, ' ') + "7");
}

TEST(Format, VformatLeavesTheCallersListUsable) {
  // vformat works on a copy, so the caller's va_list is still at its start.
  struct Twice {
    static std::string run(const char* fmt, ...) {
      va_list ap;
      va_start(ap, fmt);
      Chunks a;
      Chunks b;
      rt::vformat(collect, &a, fmt, ap);
      rt::vformat(collect, &b, fmt, ap);
      va_end(ap);
      return a.text + "/" + b.text;
    }
  };
  EXPECT_EQ(Twice::run("%d-%s", 5, "x"), "5-x/5-x");
}

}  // namespace
