#include "esp/manifest.h"

namespace esp {

uint32_t fnv1a32(Str data) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < data.n; ++i) {
    h ^= static_cast<unsigned char>(data.p[i]);
    h *= 16777619u;
  }
  return h;
}

namespace {

// Splits off the field before the next TAB; the last field takes the rest.
Str next_field(Str& rest, bool last) {
  if (last) {
    Str f = rest;
    rest = Str(rest.p + rest.n, 0);
    return f;
  }
  size_t i = 0;
  while (i < rest.n && rest.p[i] != '\t') ++i;
  Str f(rest.p, i);
  rest = i < rest.n ? Str(rest.p + i + 1, rest.n - i - 1) : Str(rest.p + i, 0);
  return f;
}

size_t count_tabs(Str s) {
  size_t n = 0;
  for (size_t i = 0; i < s.n; ++i) n += s.p[i] == '\t';
  return n;
}

bool parse_seconds(Str s, uint32_t* out) {
  if (s.n == 0 || s.n > 7) return false;
  uint32_t v = 0;
  for (size_t i = 0; i < s.n; ++i) {
    if (s.p[i] < '0' || s.p[i] > '9') return false;
    v = v * 10 + static_cast<uint32_t>(s.p[i] - '0');
  }
  if (v == 0) return false;
  *out = v;
  return true;
}

bool has_blank(Str s) {
  for (size_t i = 0; i < s.n; ++i)
    if (s.p[i] == ' ' || s.p[i] == '\t') return true;
  return false;
}

}  // namespace

bool parse_manifest(Str text, ManifestEntry* entries, uint32_t capacity, Manifest* out,
                    ManifestError* err) {
  *out = Manifest{};
  out->hash = fnv1a32(text);
  uint32_t lineno = 0;
  bool header = false, end_seen = false;
  auto fail = [&](const char* msg) {
    err->line = lineno;
    err->message = msg;
    return false;
  };
  size_t pos = 0;
  while (pos < text.n) {
    size_t e = pos;
    while (e < text.n && text.p[e] != '\n') ++e;
    Str line(text.p + pos, e - pos);
    pos = e + 1;
    ++lineno;
    if (line.n && line.p[line.n - 1] == '\r') --line.n;
    if (!header) {
      if (!line.equals("efitest-manifest 1")) return fail("not an efitest manifest (version 1)");
      header = true;
      continue;
    }
    if (line.n == 0 || line.p[0] == '#') continue;
    Str rest = line;
    Str kind = next_field(rest, false);
    if (kind.equals("end")) {
      if (end_seen) return fail("'end' given twice");
      end_seen = true;
      if (rest.equals("poweroff")) out->end = EndAction::poweroff;
      else if (rest.equals("wait")) out->end = EndAction::wait;
      else return fail("'end' must be poweroff or wait");
      continue;
    }
    bool is_test = kind.equals("test");
    if (!is_test && !kind.equals("skip")) return fail("unknown record (test, skip, end)");
    if (count_tabs(rest) < (is_test ? 3u : 1u)) return fail("too few fields");
    if (out->count == capacity) return fail("too many tests");
    ManifestEntry& m = entries[out->count];
    m = ManifestEntry{};
    m.name = next_field(rest, false);
    if (m.name.n == 0 || has_blank(m.name)) return fail("bad test name");
    if (is_test) {
      if (!parse_seconds(next_field(rest, false), &m.timeout_s))
        return fail("timeout must be whole seconds > 0");
      m.image = next_field(rest, false);
      if (m.image.n < 2 || m.image.p[0] != '\\' || has_blank(m.image))
        return fail("image must be an absolute ESP path with backslashes");
      m.cmdline = next_field(rest, true);
      if (m.cmdline.n == 0) return fail("empty command line (the image name comes first)");
    } else {
      m.skip_reason = next_field(rest, true);
      if (m.skip_reason.n == 0) return fail("a skip record needs a reason");
    }
    ++out->count;
  }
  if (!header) return fail("empty manifest");
  return true;
}

}  // namespace esp
