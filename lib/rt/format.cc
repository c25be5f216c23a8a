// The printf engine. Conversions follow C17 §7.21.6.1 for the subset listed
// in format.h; %p follows glibc (0x-prefixed lowercase hex, "(nil)" for a
// null pointer) so that host tests can compare against the host's printf.
// Integer-only: guest code is built with -mgeneral-regs-only.
#include "rt/format.h"

#include <cstdint>
#include <type_traits>

namespace rt {
namespace {

class Output {
 public:
  Output(FormatSink sink, void* ctx) : sink_(sink), ctx_(ctx) {}

  void put(const char* s, size_t n) {
    if (n == 0) return;
    sink_(ctx_, s, n);
    count_ += n;
  }

  void repeat(char c, int n) {
    char chunk[16];
    for (char& x : chunk) x = c;
    while (n > 0) {
      const int k = n < 16 ? n : 16;
      put(chunk, static_cast<size_t>(k));
      n -= k;
    }
  }

  int count() const { return static_cast<int>(count_); }

 private:
  FormatSink sink_;
  void* ctx_;
  size_t count_ = 0;
};

enum class Length { none, hh, h, l, ll, z, j, t };

struct Spec {
  bool left = false;
  bool zero = false;
  bool plus = false;
  bool space = false;
  bool alt = false;
  int width = 0;
  int precision = -1;  // -1: none given
  Length length = Length::none;
};

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Width and precision digits, saturating rather than overflowing.
int parse_number(const char*& p) {
  int v = 0;
  while (is_digit(*p)) {
    const int d = *p++ - '0';
    v = v > (INT32_MAX - d) / 10 ? INT32_MAX : v * 10 + d;
  }
  return v;
}

void pad_field(Output& out, const Spec& spec, const char* s, size_t n) {
  const int fill = spec.width > static_cast<int>(n) ? spec.width - static_cast<int>(n) : 0;
  if (!spec.left) out.repeat(' ', fill);
  out.put(s, n);
  if (spec.left) out.repeat(' ', fill);
}

void format_string(Output& out, const Spec& spec, const char* s) {
  if (s == nullptr) s = "(null)";
  // Never look past the precision: the argument need not be NUL-terminated
  // (C17 §7.21.6.1p8, "s").
  size_t n = 0;
  while ((spec.precision < 0 || n < static_cast<size_t>(spec.precision)) && s[n] != '\0') ++n;
  pad_field(out, spec, s, n);
}

// `prefix` is the sign or 0x/0X; precision, '0' and width interplay as in
// C17 §7.21.6.1p6.
void format_integer(Output& out, const Spec& spec, uint64_t magnitude, unsigned base, bool upper,
                    const char* prefix) {
  const char* digit_chars = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char digits[24];  // 22 octal digits cover 2^64 - 1
  int ndigits = 0;
  // An explicit zero precision prints no digits for a zero value.
  if (magnitude != 0 || spec.precision != 0) {
    char tmp[24];
    int k = 0;
    do {
      tmp[k++] = digit_chars[magnitude % base];
      magnitude /= base;
    } while (magnitude != 0);
    while (k > 0) digits[ndigits++] = tmp[--k];
  }

  int min_digits = spec.precision < 0 ? 1 : spec.precision;
  if (spec.precision < 0 && ndigits == 0) min_digits = 0;
  // '#' with o: "increases the precision, if and only if necessary, to
  // force the first digit of the result to be a zero".
  if (base == 8 && spec.alt && (ndigits == 0 || digits[0] != '0') && min_digits <= ndigits)
    min_digits = ndigits + 1;

  int prefix_len = 0;
  while (prefix[prefix_len] != '\0') ++prefix_len;

  int zeros = min_digits > ndigits ? min_digits - ndigits : 0;
  const int body = prefix_len + zeros + ndigits;
  int spaces = spec.width > body ? spec.width - body : 0;
  // '0' pads with zeros after the sign/prefix, unless '-' is given or a
  // precision is given for an integer conversion.
  if (spec.zero && !spec.left && spec.precision < 0) {
    zeros += spaces;
    spaces = 0;
  }

  if (!spec.left) out.repeat(' ', spaces);
  out.put(prefix, static_cast<size_t>(prefix_len));
  out.repeat('0', zeros);
  out.put(digits, static_cast<size_t>(ndigits));
  if (spec.left) out.repeat(' ', spaces);
}

// Default argument promotions turn char and short into int (C17 §6.5.2.2p6),
// so hh and h read an int and narrow it.
int64_t fetch_signed(va_list& ap, Length len) {
  if (len == Length::hh) return static_cast<signed char>(va_arg(ap, int));
  if (len == Length::h) return static_cast<short>(va_arg(ap, int));
  if (len == Length::l) return va_arg(ap, long);
  if (len == Length::ll) return va_arg(ap, long long);
  if (len == Length::z) return va_arg(ap, std::make_signed_t<size_t>);
  if (len == Length::j) return va_arg(ap, intmax_t);
  if (len == Length::t) return va_arg(ap, ptrdiff_t);
  return va_arg(ap, int);
}

uint64_t fetch_unsigned(va_list& ap, Length len) {
  if (len == Length::hh) return static_cast<unsigned char>(va_arg(ap, unsigned));
  if (len == Length::h) return static_cast<unsigned short>(va_arg(ap, unsigned));
  if (len == Length::l) return va_arg(ap, unsigned long);
  if (len == Length::ll) return va_arg(ap, unsigned long long);
  if (len == Length::z) return va_arg(ap, size_t);
  if (len == Length::j) return va_arg(ap, uintmax_t);
  if (len == Length::t) return va_arg(ap, std::make_unsigned_t<ptrdiff_t>);
  return va_arg(ap, unsigned);
}

Length parse_length(const char*& p) {
  if (*p == 'h') {
    ++p;
    if (*p == 'h') {
      ++p;
      return Length::hh;
    }
    return Length::h;
  }
  if (*p == 'l') {
    ++p;
    if (*p == 'l') {
      ++p;
      return Length::ll;
    }
    return Length::l;
  }
  if (*p == 'z') {
    ++p;
    return Length::z;
  }
  if (*p == 'j') {
    ++p;
    return Length::j;
  }
  if (*p == 't') {
    ++p;
    return Length::t;
  }
  return Length::none;
}

int vformat_list(FormatSink sink, void* ctx, const char* fmt, va_list& ap) {
  Output out(sink, ctx);
  const char* p = fmt;
  while (*p != '\0') {
    const char* lit = p;
    while (*p != '\0' && *p != '%') ++p;
    out.put(lit, static_cast<size_t>(p - lit));
    if (*p == '\0') break;

    const char* spec_start = p++;
    Spec spec;
    for (;; ++p) {
      if (*p == '-') spec.left = true;
      else if (*p == '0') spec.zero = true;
      else if (*p == '+') spec.plus = true;
      else if (*p == ' ') spec.space = true;
      else if (*p == '#') spec.alt = true;
      else break;
    }
    if (*p == '*') {
      ++p;
      const int w = va_arg(ap, int);
      // A negative '*' width is a '-' flag plus a positive width (p5).
      if (w < 0) {
        spec.left = true;
        spec.width = w == INT32_MIN ? INT32_MAX : -w;
      } else {
        spec.width = w;
      }
    } else {
      spec.width = parse_number(p);
    }
    if (*p == '.') {
      ++p;
      if (*p == '*') {
        ++p;
        const int prec = va_arg(ap, int);
        spec.precision = prec < 0 ? -1 : prec;  // negative: as if omitted
      } else {
        spec.precision = parse_number(p);
      }
    }
    spec.length = parse_length(p);

    const char conv = *p;
    if (conv == '\0') {
      out.put(spec_start, static_cast<size_t>(p - spec_start));
      break;
    }
    ++p;

    if (conv == 'd' || conv == 'i') {
      const int64_t v = fetch_signed(ap, spec.length);
      const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
      const char* sign = v < 0 ? "-" : spec.plus ? "+" : spec.space ? " " : "";
      format_integer(out, spec, magnitude, 10, false, sign);
    } else if (conv == 'u') {
      format_integer(out, spec, fetch_unsigned(ap, spec.length), 10, false, "");
    } else if (conv == 'x' || conv == 'X') {
      const uint64_t v = fetch_unsigned(ap, spec.length);
      const bool upper = conv == 'X';
      const char* prefix = (spec.alt && v != 0) ? (upper ? "0X" : "0x") : "";
      format_integer(out, spec, v, 16, upper, prefix);
    } else if (conv == 'o') {
      format_integer(out, spec, fetch_unsigned(ap, spec.length), 8, false, "");
    } else if (conv == 'p') {
      const auto v = reinterpret_cast<uintptr_t>(va_arg(ap, void*));
      if (v == 0) {
        Spec s = spec;
        s.precision = -1;
        format_string(out, s, "(nil)");
      } else {
        format_integer(out, spec, v, 16, false, "0x");
      }
    } else if (conv == 'c') {
      const char c = static_cast<char>(static_cast<unsigned char>(va_arg(ap, int)));
      pad_field(out, spec, &c, 1);
    } else if (conv == 's') {
      format_string(out, spec, va_arg(ap, const char*));
    } else if (conv == '%') {
      out.put("%", 1);
    } else {
      // Unknown conversion: echo the directive so the mistake is visible.
      out.put(spec_start, static_cast<size_t>(p - spec_start));
    }
  }
  return out.count();
}

struct BufferSink {
  char* buf;
  size_t size;  // capacity, NUL included
  size_t len;   // bytes stored so far, NUL excluded
};

void buffer_sink(void* ctx, const char* s, size_t n) {
  auto* b = static_cast<BufferSink*>(ctx);
  if (b->size == 0) return;
  const size_t room = b->size - 1 - b->len;
  const size_t k = n < room ? n : room;
  for (size_t i = 0; i < k; ++i) b->buf[b->len + i] = s[i];
  b->len += k;
}

}  // namespace

int vformat(FormatSink sink, void* ctx, const char* fmt, va_list ap) {
  va_list args;
  va_copy(args, ap);
  const int n = vformat_list(sink, ctx, fmt, args);
  va_end(args);
  return n;
}

int vsnprintf(char* buf, size_t size, const char* fmt, va_list ap) {
  BufferSink b{buf, buf != nullptr ? size : 0, 0};
  const int n = vformat(buffer_sink, &b, fmt, ap);
  if (b.size > 0) b.buf[b.len] = '\0';
  return n;
}

int snprintf(char* buf, size_t size, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

}  // namespace rt
