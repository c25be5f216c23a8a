// The result subcommands: reading guest output and writing TAP and JUnit,
// all through lib/result.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "result/guest_output.h"
#include "result/outcome.h"
#include "result/writers.h"

namespace {

using result::Str;
using result::TextBuf;

Str str(const std::string& s) { return Str(s.data(), s.size()); }

// A TextBuf that streams into a FILE.
class FileOut {
 public:
  explicit FileOut(std::FILE* f) : f_(f), buf_(space_, sizeof(space_)) {
    buf_.set_sink(
        [](void* ctx, const char* p, size_t n) {
          auto* self = static_cast<FileOut*>(ctx);
          if (std::fwrite(p, 1, n, self->f_) != n) self->failed_ = true;
        },
        this);
  }
  TextBuf& buf() { return buf_; }
  // Flushes everything; false when a write failed.
  bool close() {
    buf_.flush();
    return std::fflush(f_) == 0 && !failed_ && !std::ferror(f_);
  }

 private:
  std::FILE* f_;
  char space_[1 << 16];
  TextBuf buf_;
  bool failed_ = false;
};

// Calls fn(line) for each line of `path`, cleaned (clean_line). A missing
// file has no lines.
template <typename Fn>
void each_clean_line(const char* path, Fn&& fn) {
  std::FILE* f = std::fopen(path, "rb");
  if (!f) return;
  std::string line;
  int c;
  auto emit = [&] {
    line.resize(result::clean_line(line.data(), line.size()));
    fn(str(line));
    line.clear();
  };
  while ((c = std::getc(f)) != EOF) {
    if (c == '\n') {
      emit();
    } else {
      line.push_back(static_cast<char>(c));
    }
  }
  if (!line.empty()) emit();
  std::fclose(f);
}

bool parse_u64(const char* s, uint64_t* out) {
  if (!*s) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || *end || *s == '-') return false;
  *out = v;
  return true;
}

// One value per line, for `while IFS='=' read -r key val`.
void put_kv(TextBuf& out, const char* key, Str value) {
  out.printf("%s=", key);
  for (size_t i = 0; i < value.n; ++i) out.putc(value.p[i] == '\n' ? ' ' : value.p[i]);
  out.putc('\n');
}

}  // namespace

// efitest scan LOG: what the guest's output in LOG says, as key=value
// lines: have_summary, tests, failures, xfailures, skipped, counts (the
// shared wording), fail_lines, summary (the last SUMMARY line), last_error,
// loader_error.
int cmd_scan(int argc, char** argv) {
  if (argc != 1) {
    std::fputs("usage: efitest scan LOG\n", stderr);
    return 2;
  }
  result::OutputScan scan;
  each_clean_line(argv[0], [&](Str line) { scan.feed(line); });
  FileOut fo(stdout);
  TextBuf& out = fo.buf();
  const result::Counts& c = scan.counts();
  out.printf("have_summary=%d\ntests=%u\nfailures=%u\nxfailures=%u\nskipped=%u\n",
             scan.have_summary() ? 1 : 0, c.tests, c.failures, c.xfailures, c.skipped);
  out.put("counts=");
  result::put_counts(out, c);
  out.printf("\nfail_lines=%u\n", scan.fail_lines());
  put_kv(out, "summary", scan.summary_line());
  put_kv(out, "last_error", scan.last_error());
  put_kv(out, "loader_error", scan.loader_error());
  return fo.close() ? 0 : 1;
}

// efitest clean LOG: LOG's lines as clean_line leaves them (what -v shows
// of a test that ran in parallel).
int cmd_clean(int argc, char** argv) {
  if (argc != 1) {
    std::fputs("usage: efitest clean LOG\n", stderr);
    return 2;
  }
  FileOut fo(stdout);
  each_clean_line(argv[0], [&](Str line) {
    fo.buf().put(line);
    fo.buf().putc('\n');
  });
  return fo.close() ? 0 : 1;
}

// efitest tap-test N NAME VERDICT DETAIL LOG MS: test number N's TAP
// lines: the guest's checks from LOG as a subtest, then its own line and,
// for anything but a pass, the YAML block.
int cmd_tap_test(int argc, char** argv) {
  uint64_t number = 0, ms = 0;
  result::TestReport r;
  if (argc != 6 || !parse_u64(argv[0], &number) || number > UINT32_MAX ||
      !result::parse_outcome(Str::of(argv[2]), &r.outcome) || !parse_u64(argv[5], &ms)) {
    std::fputs("usage: efitest tap-test NUMBER NAME VERDICT DETAIL LOG MILLISECONDS\n", stderr);
    return 2;
  }
  r.name = Str::of(argv[1]);
  r.detail = Str::of(argv[3]);
  r.log = Str::of(argv[4]);
  r.ms = ms;
  FileOut fo(stdout);
  result::TapSubtest sub(fo.buf(), r.name);
  result::Check check;
  each_clean_line(argv[4], [&](Str line) {
    if (result::parse_check(line, &check)) sub.add(check);
  });
  sub.finish();
  result::tap_test(fo.buf(), static_cast<uint32_t>(number), r);
  return fo.close() ? 0 : 1;
}

// efitest junit OUT SUITE WALL_MS STARTED HOST RECORDS: JUnit XML in OUT
// (written under a temporary name and renamed). RECORDS holds six
// NUL-terminated fields per test, in completion order: name, verdict,
// detail, milliseconds, group, log. Each test's log becomes its
// <system-out>; its classname is SUITE.GROUP.
int cmd_junit(int argc, char** argv) {
  uint64_t wall_ms = 0, started = 0;
  if (argc != 6 || !parse_u64(argv[2], &wall_ms) || !parse_u64(argv[3], &started)) {
    std::fputs("usage: efitest junit OUT SUITE WALL_MS STARTED HOST RECORDS\n", stderr);
    return 2;
  }
  const std::string out_path = argv[0], suite = argv[1];
  std::vector<std::string> fields;
  if (std::FILE* f = std::fopen(argv[5], "rb")) {
    std::string cur;
    int c;
    while ((c = std::getc(f)) != EOF) {
      if (c == 0) {
        fields.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(static_cast<char>(c));
      }
    }
    std::fclose(f);
  } else if (errno != ENOENT) {
    std::fprintf(stderr, "efitest junit: cannot read %s: %s\n", argv[5], std::strerror(errno));
    return 1;
  }
  constexpr size_t kFields = 6;
  if (fields.size() % kFields) {
    std::fprintf(stderr, "efitest junit: %s: a record is cut short\n", argv[5]);
    return 1;
  }
  struct Row {
    result::TestReport report;
    std::string classname;
  };
  std::vector<Row> rows(fields.size() / kFields);
  result::JUnitSuite s;
  s.name = str(suite);
  s.wall_ms = wall_ms;
  s.started = started;
  s.hostname = Str::of(argv[4]);
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string* f = &fields[i * kFields];
    result::TestReport& r = rows[i].report;
    uint64_t ms = 0;
    if (!result::parse_outcome(str(f[1]), &r.outcome) || !parse_u64(f[3].c_str(), &ms)) {
      std::fprintf(stderr, "efitest junit: %s: bad record for '%s'\n", argv[5], f[0].c_str());
      return 1;
    }
    rows[i].classname = suite + "." + (f[4].empty() ? "default" : f[4]);
    r.name = str(f[0]);
    r.detail = str(f[2]);
    r.ms = ms;
    r.log = str(f[5]);
    s.count(r.outcome);
  }
  const std::string tmp = out_path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    std::fprintf(stderr, "efitest junit: cannot write %s: %s\n", tmp.c_str(), std::strerror(errno));
    return 1;
  }
  FileOut fo(f);
  TextBuf& out = fo.buf();
  result::junit_begin(out, s);
  for (Row& row : rows) {
    row.report.classname = str(row.classname);
    result::junit_case_begin(out, row.report);
    std::string log(row.report.log.p, row.report.log.n);
    if (std::FILE* lf = std::fopen(log.c_str(), "rb")) {
      std::fclose(lf);
      result::junit_output_begin(out);
      each_clean_line(log.c_str(), [&](Str line) { result::junit_output_line(out, line); });
      result::junit_output_end(out);
    }
    result::junit_case_end(out);
  }
  result::junit_end(out);
  bool ok = fo.close();
  if (std::fclose(f) != 0) ok = false;
  if (!ok || std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::fprintf(stderr, "efitest junit: cannot write %s\n", out_path.c_str());
    std::remove(tmp.c_str());
    return 1;
  }
  return 0;
}
