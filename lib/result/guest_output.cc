#include "result/guest_output.h"

namespace result {

namespace {

// Length of the UTF-8 sequence starting at p[i] (RFC 3629 §4: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 when it is invalid.
size_t utf8_length(const unsigned char* p, size_t i, size_t n) {
  unsigned char c = p[i];
  size_t len;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  if (p[i + 1] < lo || p[i + 1] > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if (p[i + k] < 0x80 || p[i + k] > 0xbf) return 0;
  return len;
}

bool parse_u32(const char*& p, const char* end, uint32_t* out) {
  if (p == end || *p < '0' || *p > '9') return false;
  uint64_t v = 0;
  while (p != end && *p >= '0' && *p <= '9') {
    v = v * 10 + static_cast<uint64_t>(*p++ - '0');
    if (v > 0xffffffffu) return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

bool eat(const char*& p, const char* end, const char* lit) {
  const char* q = p;
  for (; *lit; ++lit, ++q)
    if (q == end || *q != *lit) return false;
  p = q;
  return true;
}

}  // namespace

size_t clean_line(char* p, size_t n) {
  auto* u = reinterpret_cast<unsigned char*>(p);
  size_t out = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = u[i];
    if (c == 0x1b && i + 1 < n && u[i + 1] == '[') {
      // CSI: parameter and intermediate bytes, then one final byte
      // (ECMA-48 §5.4).
      size_t k = i + 2;
      while (k < n && u[k] >= 0x20 && u[k] <= 0x3f) ++k;
      i = k < n ? k + 1 : n;
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      if (c == '\t') u[out++] = c;
      ++i;
      continue;
    }
    size_t len = utf8_length(u, i, n);
    if (!len) {
      ++i;
      continue;
    }
    for (size_t k = 0; k < len; ++k) u[out++] = u[i + k];
    i += len;
  }
  return out;
}

bool parse_check(Str line, Check* out) {
  static constexpr struct {
    const char* prefix;
    CheckKind kind;
  } kKinds[] = {{"PASS: ", CheckKind::pass},
                {"FAIL: ", CheckKind::fail},
                {"SKIP: ", CheckKind::skip},
                {"XFAIL: ", CheckKind::xfail},
                {"XPASS: ", CheckKind::xpass}};
  for (const auto& k : kKinds)
    if (line.starts_with(k.prefix)) {
      size_t skip = Str::of(k.prefix).n;
      *out = {k.kind, Str(line.p + skip, line.n - skip)};
      return true;
    }
  return false;
}

bool parse_summary(Str line, Counts* out) {
  const char* p = line.p;
  const char* end = line.p + line.n;
  Counts c;
  if (!eat(p, end, "SUMMARY: ") || !parse_u32(p, end, &c.tests) || !eat(p, end, " tests, ") ||
      !parse_u32(p, end, &c.failures) || !eat(p, end, " unexpected failures, "))
    return false;
  uint32_t v = 0;
  if (!parse_u32(p, end, &v)) return false;
  if (eat(p, end, " expected failures, ")) {
    c.xfailures = v;
    if (!parse_u32(p, end, &v)) return false;
  }
  if (!eat(p, end, " skipped")) return false;
  c.skipped = v;
  *out = c;
  return true;
}

bool parse_bench(Str line, Bench* out) {
  if (!line.starts_with("BENCH ")) return false;
  size_t i = 6, name_start = i;
  while (i < line.n && line.p[i] != ' ' && line.p[i] != '\t') ++i;
  if (i == name_start || i == line.n) return false;
  Str name(line.p + name_start, i - name_start);
  ++i;
  size_t value_start = i, dots = 0;
  for (; i < line.n; ++i) {
    char c = line.p[i];
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  if (i == value_start || dots > 1 || line.p[value_start] == '.' || line.p[line.n - 1] == '.') return false;
  *out = {name, Str(line.p + value_start, line.n - value_start)};
  return true;
}

size_t OutputScan::keep(char* dst, size_t cap, Str s) {
  size_t n = s.n < cap ? s.n : cap;
  for (size_t i = 0; i < n; ++i) dst[i] = s.p[i];
  return n;
}

void OutputScan::feed(Str line) {
  Check check;
  if (parse_check(line, &check)) {
    ++check_lines_;
    if (check.kind == CheckKind::fail || check.kind == CheckKind::xpass) ++fail_lines_;
    return;
  }
  if (line.starts_with("SUMMARY: ")) {
    // The last SUMMARY line is the one that counts, even when it is
    // malformed: then there is no summary.
    summary_len_ = keep(summary_, sizeof(summary_), line);
    Counts c;
    have_summary_ = parse_summary(line, &c);
    counts_ = have_summary_ ? c : Counts{};
    return;
  }
  if (line.starts_with("ERROR: ")) {
    Str msg(line.p + 7, line.n - 7);
    error_len_ = keep(error_, sizeof(error_), msg);
    if (msg.starts_with("loader: "))
      loader_len_ = keep(loader_, sizeof(loader_), Str(msg.p + 8, msg.n - 8));
  }
}

}  // namespace result
