#include "result/text.h"

#include "rt/format.h"

namespace result {

Str Str::of(const char* s) {
  size_t n = 0;
  while (s && s[n]) ++n;
  return Str(s, n);
}

bool Str::operator==(const Str& o) const {
  if (n != o.n) return false;
  for (size_t i = 0; i < n; ++i)
    if (p[i] != o.p[i]) return false;
  return true;
}

bool Str::starts_with(const char* s) const {
  Str t = of(s);
  return t.n <= n && Str(p, t.n) == t;
}

void TextBuf::put(Str s) {
  // One byte stays free for the terminating NUL.
  for (size_t i = 0; i < s.n; ++i) {
    if (len_ + 1 >= cap_) {
      if (!sink_ || len_ == 0) {
        overflow_ = true;
        return;
      }
      flush();
    }
    buf_[len_++] = s.p[i];
  }
  if (cap_) buf_[len_] = 0;
}

void TextBuf::flush() {
  if (sink_ && len_) sink_(sink_ctx_, buf_, len_);
  len_ = 0;
  if (cap_) buf_[0] = 0;
}

namespace {
void sink(void* ctx, const char* s, size_t n) { static_cast<TextBuf*>(ctx)->put(Str(s, n)); }
}  // namespace

void TextBuf::vprintf(const char* fmt, va_list ap) { rt::vformat(sink, this, fmt, ap); }

void TextBuf::printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

void TextBuf::put_xml(Str s) {
  for (size_t i = 0; i < s.n; ++i) {
    unsigned char c = static_cast<unsigned char>(s.p[i]);
    switch (c) {
      case '&': put("&amp;"); break;
      case '<': put("&lt;"); break;
      case '>': put("&gt;"); break;
      case '"': put("&quot;"); break;
      case '\'': put("&apos;"); break;
      default:
        if (c >= 0x20 || c == '\t' || c == '\n') putc(static_cast<char>(c));
    }
  }
}

void TextBuf::put_tap(Str s) {
  for (size_t i = 0; i < s.n; ++i) {
    char c = s.p[i];
    if (c == '#' || c == '\\') putc('\\');
    putc(c == '\n' || c == '\r' ? ' ' : c);
  }
}

void TextBuf::put_yaml(Str s) {
  putc('\'');
  for (size_t i = 0; i < s.n; ++i) {
    char c = s.p[i];
    if (c == '\'') putc('\'');
    putc(c == '\n' || c == '\r' ? ' ' : c);
  }
  putc('\'');
}

}  // namespace result
