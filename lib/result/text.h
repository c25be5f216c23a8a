// Text building shared by the guest's ESP runner and the host runner: a
// caller-owned buffer that never overflows, plus the escapes TAP and XML
// need. Without a sink, excess output is dropped and remembered (the ESP
// runner's fixed buffers); with one, a full buffer is handed to the sink
// and reused, so the host streams reports of any size through a small
// buffer. Portable: no allocation, no libc.
#pragma once

#include <cstdarg>
#include <cstddef>

namespace result {

// A byte range that is not NUL-terminated.
struct Str {
  const char* p = nullptr;
  size_t n = 0;

  constexpr Str() = default;
  constexpr Str(const char* s, size_t len) : p(s), n(len) {}
  // From a NUL-terminated string.
  static Str of(const char* s);
  bool operator==(const Str& o) const;
  bool equals(const char* s) const { return *this == of(s); }
  bool starts_with(const char* s) const;
};

class TextBuf {
 public:
  TextBuf(char* buf, size_t cap) : buf_(buf), cap_(cap) {
    if (cap_) buf_[0] = 0;
  }
  // Where full buffers go. flush() hands over what is buffered now.
  using Sink = void (*)(void* ctx, const char* p, size_t n);
  void set_sink(Sink sink, void* ctx) {
    sink_ = sink;
    sink_ctx_ = ctx;
  }
  void flush();
  // Drops what is buffered (not what a sink already took).
  void clear() {
    len_ = 0;
    overflow_ = false;
    if (cap_) buf_[0] = 0;
  }
  void put(Str s);
  void put(const char* s) { put(Str::of(s)); }
  void putc(char c) { put(Str(&c, 1)); }
  void printf(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void vprintf(const char* fmt, va_list ap);
  // XML character data and attribute values: & < > " ' escaped, and
  // control characters other than tab dropped (XML 1.0 §2.2 does not
  // allow them at all).
  void put_xml(Str s);
  // A TAP description: '#' would start a directive (TAP 13), so it and
  // the backslash are escaped; newlines become spaces.
  void put_tap(Str s);
  // A YAML single-quoted scalar, quotes included.
  void put_yaml(Str s);

  const char* data() const { return buf_; }
  size_t size() const { return len_; }
  bool overflowed() const { return overflow_; }

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
  bool overflow_ = false;
  Sink sink_ = nullptr;
  void* sink_ctx_ = nullptr;
};

}  // namespace result
