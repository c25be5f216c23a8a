// A command line to argv. The rules (argv[0], word splitting, quoting,
// escapes) are the contract in cmdline.h; this file only adds the choices
// the header leaves open, next to the code they affect.
#include "boot/cmdline.h"

namespace boot {
namespace {

class Reader {
 public:
  Reader(const char* text, size_t size) : text_(text), size_(text ? size : 0) {}

  // The text ends at the first NUL or at the end of the buffer.
  bool at_end() const { return pos_ >= size_ || text_[pos_] == '\0'; }
  size_t mark() const { return pos_; }
  void rewind(size_t mark) { pos_ = mark; }
  // Call only when !at_end().
  char next() { return text_[pos_++]; }

 private:
  const char* text_;
  size_t size_;
  size_t pos_ = 0;
};

class Writer {
 public:
  Writer(char* buf, size_t size) : buf_(buf), size_(buf ? size : 0) {}

  size_t pos() const { return pos_; }
  void truncate(size_t pos) { pos_ = pos; }
  bool overflowed() const { return overflow_; }
  char* at(size_t pos) const { return buf_ + pos; }

  void byte(char b) {
    if (pos_ >= size_) {
      overflow_ = true;
      return;
    }
    buf_[pos_++] = b;
  }

 private:
  char* buf_;
  size_t size_;
  size_t pos_ = 0;
  bool overflow_ = false;
};

constexpr bool is_separator(char c) { return c == ' ' || c == '\t'; }

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

ArgvStatus fail(ArgvStatus s, char** argv, int max_args, Argv* out) {
  if (max_args >= 0) argv[0] = nullptr;
  out->argc = 0;
  out->argv = argv;
  return s;
}

}  // namespace

// On failure *out is {0, argv} with argv[0] == nullptr, so a caller that
// ignores the status still sees an empty, terminated vector. The first word
// is copied into buf before it is known to be the program name, so buf
// needs room for it even when it is then dropped.
ArgvStatus parse_cmdline(const char* text, size_t size, const char* program_name, char* buf,
                         size_t buf_size, char** argv, int max_args, Argv* out) {
  if (max_args < 1) return fail(ArgvStatus::too_many_args, argv, max_args, out);
  if (program_name == nullptr) program_name = "";

  Writer w(buf, buf_size);
  for (const char* p = program_name; *p != '\0'; ++p) w.byte(*p);
  w.byte(0);
  if (w.overflowed()) return fail(ArgvStatus::too_long, argv, max_args, out);
  argv[0] = w.at(0);
  int argc = 1;

  Reader r(text, size);
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
      char c = r.next();
      if (c == '^') {
        // A trailing ^ has nothing to escape and stays literal. Before a
        // multi-byte character it escapes the lead byte; the continuation
        // bytes that follow are never special, so the character is kept.
        if (!r.at_end()) c = r.next();
      } else if (c == '"') {
        quoted = !quoted;
        continue;
      } else if (!quoted && is_separator(c)) {
        break;
      }
      w.byte(c);
    }
    if (quoted) return fail(ArgvStatus::unterminated_quote, argv, max_args, out);
    w.byte(0);
    if (w.overflowed()) return fail(ArgvStatus::too_long, argv, max_args, out);

    if (first_word) {
      first_word = false;
      if (names_program(w.at(start), program_name)) {
        w.truncate(start);
        continue;
      }
    }
    if (argc >= max_args) return fail(ArgvStatus::too_many_args, argv, max_args, out);
    argv[argc++] = w.at(start);
  }

  argv[argc] = nullptr;
  out->argc = argc;
  out->argv = argv;
  return ArgvStatus::ok;
}

const char* argv_status_str(ArgvStatus s) {
  if (s == ArgvStatus::ok) return "ok";
  if (s == ArgvStatus::too_long) return "command line too long";
  if (s == ArgvStatus::too_many_args) return "too many arguments";
  if (s == ArgvStatus::unterminated_quote) return "unterminated quote";
  return "unknown command-line status";
}

}  // namespace boot
