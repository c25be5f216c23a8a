#include "efi/utf16.h"

#include <cstdint>

namespace efi {
namespace {

constexpr uint32_t kReplacementChar = 0xfffd;

class Utf16Reader {
 public:
  Utf16Reader(const void* data, size_t size_bytes)
      : bytes_(static_cast<const unsigned char*>(data)), units_(data ? size_bytes / 2 : 0) {}

  bool at_end() const { return pos_ >= units_ || unit(pos_) == 0; }

  // Next code point; call only when !at_end(). Well-formed pairs combine
  // (Unicode 15 §3.9, D91); any unpaired surrogate becomes U+FFFD.
  uint32_t next() {
    const uint32_t u = unit(pos_++);
    if (u >= 0xd800 && u <= 0xdbff) {
      if (pos_ < units_) {
        const uint32_t lo = unit(pos_);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          ++pos_;
          return 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        }
      }
      return kReplacementChar;
    }
    if (u >= 0xdc00 && u <= 0xdfff) return kReplacementChar;
    return u;
  }

 private:
  uint32_t unit(size_t i) const {
    return static_cast<uint32_t>(bytes_[2 * i]) | (static_cast<uint32_t>(bytes_[2 * i + 1]) << 8);
  }

  const unsigned char* bytes_;
  size_t units_;
  size_t pos_ = 0;
};

class Utf8Writer {
 public:
  Utf8Writer(char* buf, size_t size) : buf_(buf), size_(buf ? size : 0) {}

  size_t pos() const { return pos_; }
  bool overflowed() const { return overflow_; }

  void byte(uint32_t b) {
    if (pos_ >= size_) {
      overflow_ = true;
      return;
    }
    buf_[pos_++] = static_cast<char>(b);
  }

  // Unicode 15 §3.9, Table 3-6.
  void code_point(uint32_t cp) {
    if (cp < 0x80) {
      byte(cp);
    } else if (cp < 0x800) {
      byte(0xc0 | (cp >> 6));
      byte(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      byte(0xe0 | (cp >> 12));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    } else {
      byte(0xf0 | (cp >> 18));
      byte(0x80 | ((cp >> 12) & 0x3f));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    }
  }

 private:
  char* buf_;
  size_t size_;
  size_t pos_ = 0;
  bool overflow_ = false;
};

}  // namespace

bool utf16_to_utf8(const void* data, size_t size_bytes, char* out, size_t out_size, size_t* len) {
  *len = 0;
  Utf16Reader r(data, size_bytes);
  Utf8Writer w(out, out_size);
  while (!r.at_end() && !w.overflowed()) w.code_point(r.next());
  const size_t n = w.pos();
  w.byte(0);
  if (w.overflowed()) {
    if (out && out_size > 0) out[0] = '\0';
    return false;
  }
  *len = n;
  return true;
}

}  // namespace efi
