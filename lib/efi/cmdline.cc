// LoadOptions to argv. The rules (argv[0], word splitting, quoting, escapes,
// UTF-16 decoding) are the contract in cmdline.h; this file only adds the
// choices the header leaves open, next to the code they affect.
#include "efi/cmdline.h"

namespace efi {
namespace {

constexpr uint32_t kReplacementChar = 0xfffd;

// UTF-16 code units read byte by byte: LoadOptions carries no alignment
// guarantee (UEFI 2.10 §9.1 types it as VOID*), and an odd trailing byte is
// not a unit at all.
class Utf16Reader {
 public:
  Utf16Reader(const void* data, size_t size_bytes)
      : bytes_(static_cast<const unsigned char*>(data)), units_(data ? size_bytes / 2 : 0) {}

  // The text ends at the first NUL unit or at the end of the buffer.
  bool at_end() const { return pos_ >= units_ || unit(pos_) == 0; }
  size_t mark() const { return pos_; }
  void rewind(size_t mark) { pos_ = mark; }

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
  void truncate(size_t pos) { pos_ = pos; }
  bool overflowed() const { return overflow_; }
  char* at(size_t pos) const { return buf_ + pos; }

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

constexpr bool is_separator(uint32_t cp) { return cp == ' ' || cp == '\t'; }

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

size_t length(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

bool equal_ignoring_case(const char* a, const char* b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// True when `word` names the program: its last path component (after the
// last '\', '/' or volume ':', as in "fs0:\x86\selftest.efi"), minus one
// trailing ".efi", equals `name`, ASCII case folded as the FAT file system
// the shell loads from does.
bool names_program(const char* word, const char* name) {
  const char* base = word;
  for (const char* p = word; *p != '\0'; ++p)
    if (*p == '\\' || *p == '/' || *p == ':') base = p + 1;
  size_t n = length(base);
  if (n >= 4 && equal_ignoring_case(base + n - 4, ".efi", 4)) n -= 4;
  const size_t name_len = length(name);
  return name_len != 0 && n == name_len && equal_ignoring_case(base, name, n);
}

CmdlineStatus fail(CmdlineStatus s, char** argv, int max_args, Cmdline* out) {
  if (max_args >= 0) argv[0] = nullptr;
  out->argc = 0;
  out->argv = argv;
  return s;
}

}  // namespace

// On failure *out is {0, argv} with argv[0] == nullptr, so a caller that
// ignores the status still sees an empty, terminated vector. The first word
// is decoded into buf before it is known to be the program name, so buf
// needs room for it even when it is then dropped.
CmdlineStatus parse_load_options(const void* load_options, size_t size_bytes,
                                 const char* program_name, char* buf, size_t buf_size,
                                 char** argv, int max_args, Cmdline* out) {
  if (max_args < 1) return fail(CmdlineStatus::too_many_args, argv, max_args, out);
  if (program_name == nullptr) program_name = "";

  Utf8Writer w(buf, buf_size);
  for (const char* p = program_name; *p != '\0'; ++p) w.byte(static_cast<unsigned char>(*p));
  w.byte(0);
  if (w.overflowed()) return fail(CmdlineStatus::too_long, argv, max_args, out);
  argv[0] = w.at(0);
  int argc = 1;

  Utf16Reader r(load_options, size_bytes);
  bool first_word = true;
  for (;;) {
    while (!r.at_end()) {
      const size_t m = r.mark();
      if (!is_separator(r.next())) {
        r.rewind(m);
        break;
      }
    }
    if (r.at_end()) break;

    const size_t start = w.pos();
    bool quoted = false;
    while (!r.at_end()) {
      uint32_t cp = r.next();
      if (cp == '^') {
        // A trailing ^ has nothing to escape and stays literal.
        if (!r.at_end()) cp = r.next();
      } else if (cp == '"') {
        quoted = !quoted;
        continue;
      } else if (!quoted && is_separator(cp)) {
        break;
      }
      w.code_point(cp);
    }
    if (quoted) return fail(CmdlineStatus::unterminated_quote, argv, max_args, out);
    w.byte(0);
    if (w.overflowed()) return fail(CmdlineStatus::too_long, argv, max_args, out);

    if (first_word) {
      first_word = false;
      if (names_program(w.at(start), program_name)) {
        w.truncate(start);
        continue;
      }
    }
    if (argc >= max_args) return fail(CmdlineStatus::too_many_args, argv, max_args, out);
    argv[argc++] = w.at(start);
  }

  argv[argc] = nullptr;
  out->argc = argc;
  out->argv = argv;
  return CmdlineStatus::ok;
}

const char* cmdline_status_str(CmdlineStatus s) {
  if (s == CmdlineStatus::ok) return "ok";
  if (s == CmdlineStatus::too_long) return "command line too long";
  if (s == CmdlineStatus::too_many_args) return "too many arguments";
  if (s == CmdlineStatus::unterminated_quote) return "unterminated quote";
  return "unknown command-line status";
}

}  // namespace efi
