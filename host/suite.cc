// efitest suite: the runner behind ./run_tests.sh. It reads unittests.cfg,
// selects, orders and shards the tests, runs each with a bound, -j at a
// time, streams their output into per-test logs (and to the terminal with
// -v), and writes the human lines, TAP, JUnit, the summary and the
// durations of the run. Ctrl-C ends the running tests and still prints the
// partial summary.
//
// Each test runs in a child of this process that calls the per-test runner
// (run/run.h) directly: nothing is exec'd but QEMU. The child's stdout and
// stderr are the test's log; its one result is the Record it writes on a
// pipe of its own, from which the test's outcome is taken.
//
//   efitest suite --top DIR -- [run_tests.sh's options and names]
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "accel.h"
#include "cfg/cfgparse.h"
#include "commands.h"
#include "proc.h"
#include "result/guest_output.h"
#include "result/outcome.h"
#include "result/writers.h"
#include "run/qemu_cmdline.h"
#include "run/run.h"
#include "selection.h"
#include "textutil.h"

namespace {

using proc::read_file;

using result::Outcome;
using result::Str;

constexpr const char* kProg = "run_tests.sh";
constexpr double kDefaultTimeout = 90;
constexpr double kTcgTimeoutScale = 3;

const char kUsage[] = R"(usage: ./run_tests.sh [OPTIONS] [TEST...]

Runs the tests of unittests.cfg. TEST names a section (shell patterns such
as 'vmx*' work); with TEST or -g, only the matching tests run, otherwise
all tests outside the group nodefault.

  -g GROUP[,GROUP]   run the tests of these groups (repeatable)
  -j N               run N tests at a time (default 1)
  -t                 TAP 13 on stdout (human output goes to stderr)
  -v                 show the guest output (live with -j 1, per test after
                     it ends otherwise)
  -l                 list the selected tests and exit
  --list-format F    with -l: names (default), or json: each test with the
                     scripts/run command line it gets (docs/running.md)
  --shard I/N        run the I-th of N disjoint parts of the selection
                     (for N CI runners; balanced by --durations)
  --durations FILE   "name seconds" lines that balance --shard (every
                     shard must be given the same file, or none)
  --junit FILE       also write JUnit XML to FILE
  --log-dir DIR      per-test logs in DIR (default: logs/<timestamp>/, with
                     logs/latest pointing at the newest run)
  --timeout DUR      timeout for every test, replacing the cfg values and
                     the scale (DUR: 90, 90s, 2m, 1h)
  --timeout-scale X  multiply cfg timeouts by X (default: 1 with KVM,
                     3 under TCG; env TIMEOUT_SCALE)
  --cold             boot every test cold (firmware included) instead of
                     restoring a saved VM; the same as COLD_BOOT=1
  --boot ENTRY       efi (default): x86/<name>.efi under UEFI firmware; pvh:
                     x86/<name>.elf through the PVH entry, no firmware (the
                     same as BOOT=ENTRY; docs/pvh.md)
  --firmware NAME    firmware profile: pflash (default), bios or secboot
                     (the same as FIRMWARE=NAME; docs/running.md)
  --config FILE      the test list (default: unittests.cfg beside this
                     script; images are looked up in x86/ beside FILE)
  -h                 this help

Each test leaves DIR/<name>.log: the QEMU command line, the serial output
and the result line. DIR/results.tap holds the TAP stream of the run.

Environment: TIMEOUT (as --timeout), TIMEOUT_SCALE, ACCEL, QEMU, FIRMWARE,
OVMF_CODE, OVMF_VARS, BIOS, SECBOOT_*, QEMU_EXTRA, COLD_BOOT, SNAPSHOT_DIR
(see scripts/run -h), MAX_SMP
(what smp = $MAX_SMP means; default: the host's CPU count).

Tests boot from a saved VM when they can (docs/running.md, "Fast runs");
each log says how its test booted and, for a cold boot, why.

Exit status: 0 when every test passed or was skipped, 1 when any ended
FAIL, ERROR, CRASH or TIMEOUT, 2 on a usage error, 99 when the cfg is
broken or nothing matched, 130 when interrupted.
)";

[[noreturn]] void die_usage(const std::string& msg) {
  std::fprintf(stderr, "%s: %s\ntry ./run_tests.sh -h\n", kProg, msg.c_str());
  std::exit(2);
}
[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "%s: %s\n", kProg, msg.c_str());
  std::exit(kExitError);
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

std::string basename_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}
std::string dirname_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "." : s == 0 ? "/" : p.substr(0, s);
}
std::string absolute(const std::string& p) {
  char buf[4096];
  if (realpath(p.c_str(), buf)) return buf;
  return p;
}

bool is_positive_number(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789.") != std::string::npos || s.front() == '.' ||
      s.back() == '.' || std::count(s.begin(), s.end(), '.') > 1)
    return false;
  return std::strtod(s.c_str(), nullptr) > 0;
}

// Seconds as the runner writes them: whole numbers plainly, others %g.
using run::seconds_text;

using text::join;

std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof(b), "\\u%04x", c);
          out += b;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}
std::string json_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_str(v[i]);
  return out + "]";
}

bool write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}
void append_file(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, text.data(), text.size());
  close(fd);
}

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

struct Options {
  std::vector<std::string> groups, names;
  unsigned jobs = 1;
  bool tap = false, verbose = false, list = false, cold = false;
  std::string list_format = "names";
  std::string junit, log_dir, cfg_file, timeout_override, timeout_scale, shard, durations;
  std::string boot = "efi";
};

Options parse_options(const std::vector<std::string>& args, const std::string& top) {
  Options o;
  o.cfg_file = top + "/unittests.cfg";
  o.timeout_override = env_or("TIMEOUT", "");
  o.timeout_scale = env_or("TIMEOUT_SCALE", "");
  o.boot = env_or("BOOT", "efi");
  std::string jobs = "1";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const std::string& opt) -> std::string {
      if (i + 1 >= args.size()) die_usage(opt + " needs an argument");
      return args[++i];
    };
    auto eq = [&](const char* opt, std::string* out) {
      std::string p = std::string(opt) + "=";
      if (a.rfind(p, 0) != 0) return false;
      *out = a.substr(p.size());
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "-g") {
      for (const std::string& g : text::split(value(a), ',')) o.groups.push_back(g);
    } else if (a.size() > 2 && a.rfind("-g", 0) == 0) {
      for (const std::string& g : text::split(a.substr(2), ',')) o.groups.push_back(g);
    } else if (a == "-j") {
      jobs = value(a);
    } else if (a.size() > 2 && a.rfind("-j", 0) == 0) {
      jobs = a.substr(2);
    } else if (a == "-t") {
      o.tap = true;
    } else if (a == "-v") {
      o.verbose = true;
    } else if (a == "-l") {
      o.list = true;
    } else if (a == "--junit") {
      o.junit = value(a);
    } else if (eq("--junit", &o.junit)) {
    } else if (a == "--log-dir") {
      o.log_dir = value(a);
    } else if (eq("--log-dir", &o.log_dir)) {
    } else if (a == "--timeout") {
      o.timeout_override = value(a);
    } else if (eq("--timeout", &o.timeout_override)) {
    } else if (a == "--timeout-scale") {
      o.timeout_scale = value(a);
    } else if (eq("--timeout-scale", &o.timeout_scale)) {
    } else if (a == "--config") {
      o.cfg_file = value(a);
    } else if (eq("--config", &o.cfg_file)) {
    } else if (a == "--cold") {
      o.cold = true;
    } else if (a == "--firmware") {
      setenv("FIRMWARE", value(a).c_str(), 1);
    } else if (eq("--firmware", &v)) {
      setenv("FIRMWARE", v.c_str(), 1);
    } else if (a == "--boot") {
      o.boot = value(a);
    } else if (eq("--boot", &o.boot)) {
    } else if (a == "--list-format") {
      o.list_format = value(a);
    } else if (eq("--list-format", &o.list_format)) {
    } else if (a == "--shard") {
      o.shard = value(a);
    } else if (eq("--shard", &o.shard)) {
    } else if (a == "--durations") {
      o.durations = value(a);
    } else if (eq("--durations", &o.durations)) {
    } else if (a == "--") {
      for (++i; i < args.size(); ++i) o.names.push_back(args[i]);
    } else if (!a.empty() && a[0] == '-') {
      die_usage("unknown option '" + a + "'");
    } else {
      o.names.push_back(a);
    }
  }
  if (jobs.empty() || jobs[0] == '0' || jobs.find_first_not_of("0123456789") != std::string::npos ||
      jobs.size() > 4)
    die_usage("-j needs a positive number, not '" + jobs + "'");
  o.jobs = static_cast<unsigned>(std::stoul(jobs));
  double unused;
  if (!o.timeout_override.empty() && !parse_duration(o.timeout_override, &unused))
    die_usage("bad timeout '" + o.timeout_override + "'");
  if (!o.timeout_scale.empty() && !is_positive_number(o.timeout_scale))
    die_usage("timeout scale must be a positive number, not '" + o.timeout_scale + "'");
  if (o.boot != "efi" && o.boot != "pvh") die_usage("--boot is efi or pvh, not '" + o.boot + "'");
  if (o.list_format != "names" && o.list_format != "json")
    die_usage("--list-format is names or json, not '" + o.list_format + "'");
  return o;
}

// One test of the run.
struct Slot {
  size_t test;                  // index into the cfg's tests
  std::vector<std::string> args;  // the run's QEMU arguments (scripts/run's after the image)
  std::string log;
  pid_t pid = 0;
  int out_fd = -1;     // the child's stdout and stderr
  int record_fd = -1;  // the run's Record
  double started = 0;
  std::string partial;  // output not yet ending in a newline, for -v
};

class Suite {
 public:
  Suite(std::string top, Options o) : top_(std::move(top)), o_(std::move(o)) {}
  int run();

 private:
  void load();
  void list_json();
  void find_tools();
  void open_logs();
  std::string color(Outcome o) const;
  void show_status();
  void clear_status();
  void human(const std::string& s);
  std::string precheck(const cfg::Test& t);
  void launch(size_t index);
  void pump(int timeout_ms);
  void reap(Slot& s, int wstatus);
  void record(size_t index, Outcome o, const std::string& detail, uint64_t ms);
  void print_summary();
  void save_durations();
  void interrupt();
  void remove_work() {
    for (const std::string& f : proc::list_dir(work_)) unlink((work_ + "/" + f).c_str());
    rmdir(work_.c_str());
  }
  std::vector<std::string> base_args(const cfg::Test& t) const;
  std::string image_of(const cfg::Test& t) const;

  std::string top_;
  Options o_;
  std::vector<cfg::Test> tests_;
  std::vector<size_t> order_;
  std::string image_dir_, log_dir_, tap_file_, work_;
  int human_fd_ = 1;
  bool tty_ = false;
  std::string c_red_, c_green_, c_yellow_, c_bold_, c_off_;
  bool status_shown_ = false;
  std::vector<Slot> running_;
  size_t done_ = 0;
  bool any_bad_ = false;
  uint32_t by_outcome_[result::kOutcomeCount] = {};
  std::map<std::string, unsigned> boots_;
  std::set<std::string> accel_shown_;
  std::vector<std::pair<std::string, std::string>> finished_;  // name, seconds
  selection::Durations prev_;
  std::vector<std::string> qemu_extra_;
  std::string max_smp_;
  double run_start_ = 0;
  time_t run_start_wall_ = 0;
  accel::Env accel_env_;
  std::string junit_records_;
};

void Suite::load() {
  struct stat st;
  if (stat(o_.cfg_file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) die("no test list: " + o_.cfg_file);
  const std::string cfg_dir = absolute(dirname_of(o_.cfg_file));
  image_dir_ = cfg_dir + "/x86";
  cfg::ParseResult r = cfg::parse(read_file(o_.cfg_file));
  if (r.ok() && !o_.list) {
    for (const cfg::Test& t : r.tests) {
      if (!t.skip_reason.empty() || (!t.arch.empty() && t.arch != "x86_64")) continue;
      if (!t.boot.empty() && t.boot != o_.boot) continue;
      struct stat is;
      const std::string image = image_of(t);
      std::string path = image_dir_ + "/" + image;
      if (stat(path.c_str(), &is) != 0 || !S_ISREG(is.st_mode))
        r.errors.push_back({t.file_line, "[" + t.name + "]: image '" + image + "' not found in " +
                                             image_dir_ + " (not built? run make)"});
    }
  }
  if (!r.ok()) {
    for (const cfg::Error& e : r.errors) std::fprintf(stderr, "%s\n", cfg::format_error(o_.cfg_file, e).c_str());
    die(basename_of(o_.cfg_file) + " has errors; nothing was run");
  }
  tests_ = std::move(r.tests);
  selection::Result sel = selection::select(tests_, {o_.names, o_.groups});
  if (!sel.unknown_names.empty()) {
    const std::string& pat = sel.unknown_names.front();
    std::fprintf(stderr, "%s: no test named '%s' in %s\n", kProg, pat.c_str(), basename_of(o_.cfg_file).c_str());
    std::vector<std::string> names;
    for (const cfg::Test& t : tests_) names.push_back(t.name);
    std::vector<std::string> close = selection::close_matches(pat, names);
    if (!close.empty()) std::fprintf(stderr, "close matches: %s \n", join(close, " ").c_str());
    std::exit(kExitError);
  }
  for (const std::string& g : sel.empty_groups)
    std::fprintf(stderr, "%s: warning: no test in group '%s'\n", kProg, g.c_str());
  if (sel.picked.empty()) die("no test selected");
  order_ = sel.picked;
  if (!o_.shard.empty()) {
    selection::Shard sh;
    if (!selection::parse_shard(o_.shard, &sh))
      die_usage("--shard needs I/N with 1 <= I <= N, not '" + o_.shard + "'");
    selection::Durations d;
    if (!o_.durations.empty()) {
      if (access(o_.durations.c_str(), R_OK) != 0) die("cannot read durations file " + o_.durations);
      d = selection::read_durations(o_.durations);
    }
    order_ = selection::shard(tests_, order_, sh, d);
    if (order_.empty()) die("shard " + o_.shard + " has no test (the selection has " +
                            std::to_string(sel.picked.size()) + ")");
  }
}

// The image of a test for the run's entry: x86/<name>.efi, or the .elf
// built from the same objects for PVH.
std::string Suite::image_of(const cfg::Test& t) const {
  if (o_.boot != "pvh") return t.file;
  std::string f = t.file;
  if (f.size() > 4 && f.compare(f.size() - 4, 4, ".efi") == 0) f.resize(f.size() - 4);
  return f + ".elf";
}

std::vector<std::string> Suite::base_args(const cfg::Test& t) const {
  std::vector<std::string> args;
  if (!t.smp.empty()) {
    args.push_back("-smp");
    args.push_back(t.smp == "$MAX_SMP" ? max_smp_ : t.smp);
  }
  if (!t.memory.empty()) {
    args.push_back("-m");
    args.push_back(t.memory);
  }
  args.insert(args.end(), t.extra_params.begin(), t.extra_params.end());
  return args;
}

void Suite::list_json() {
  std::string out = "[\n";
  for (size_t k = 0; k < order_.size(); ++k) {
    const cfg::Test& t = tests_[order_[k]];
    std::vector<std::string> run = {"scripts/run", "x86/" + image_of(t)};
    std::vector<std::string> args = base_args(t);
    run.insert(run.end(), args.begin(), args.end());
    if (!t.test_args.empty()) {
      run.push_back("-append");
      run.push_back(t.test_args);
    }
    double base = kDefaultTimeout;
    if (!t.timeout.empty()) parse_duration(t.timeout, &base);
    out += "  {\"name\": " + json_str(t.name) + ", \"file\": " + json_str("x86/" + t.file) +
           ", \"groups\": " + json_list(t.groups) + ",\n   \"run\": " + json_list(run) +
           ",\n   \"test_args\": " + json_str(t.test_args) + ", \"accel\": " + json_str(t.accel) +
           ", \"timeout_s\": {\"kvm\": " + seconds_text(base) + ", \"tcg\": " +
           seconds_text(base * kTcgTimeoutScale) + "},\n   \"skip_reason\": " + json_str(t.skip_reason) +
           ", \"arch\": " + json_str(t.arch) + ", \"boot\": " + json_str(t.boot) + ", \"checks\": " + json_list(t.checks) +
           ", \"cfg_line\": " + std::to_string(t.line) + "}" + (k + 1 < order_.size() ? ",\n" : "\n");
  }
  out += "]\n";
  std::fputs(out.c_str(), stdout);
}

// The QEMU binary and the firmware profile, settled once for the run by
// the code every run uses (run/qemu_cmdline.h), and handed to the runs
// through the environment.
void Suite::find_tools() {
  run::Tools t;
  std::string error;
  if (!run::find_tools(top_, run::Settings(top_ + "/config.mak"), &t, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    std::exit(kExitError);
  }
  for (const char* v : run::kToolVars) {
    auto it = t.vars.find(v);
    if (it != t.vars.end() && !it->second.empty()) setenv(v, it->second.c_str(), 1);
  }
}

void Suite::open_logs() {
  if (o_.log_dir.empty()) {
    char stamp[32];
    time_t now = time(nullptr);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    const std::string logs = top_ + "/logs";
    proc::make_dirs(logs);
    std::string chosen;
    // mkdir fails if the directory exists, so a second run in the same
    // second gets its own suffix instead of sharing the directory.
    for (const char* suffix : {"", "-2", "-3", "-4", "-5", "-6", "-7", "-8", "-9"}) {
      std::string d = logs + "/" + stamp + suffix;
      if (mkdir(d.c_str(), 0755) == 0) {
        chosen = std::string(stamp) + suffix;
        break;
      }
    }
    if (chosen.empty()) die("cannot create a log directory under " + logs);
    log_dir_ = logs + "/" + chosen;
    std::string tmp = logs + "/.latest." + std::to_string(getpid());
    unlink(tmp.c_str());
    if (symlink(chosen.c_str(), tmp.c_str()) == 0) rename(tmp.c_str(), (logs + "/latest").c_str());
  } else {
    if (!proc::make_dirs(o_.log_dir)) die("cannot create " + o_.log_dir);
    log_dir_ = absolute(o_.log_dir);
  }
  tap_file_ = log_dir_ + "/results.tap";
  int fd = open(tap_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
}

std::string Suite::color(Outcome o) const {
  switch (o) {
    case Outcome::pass: return c_green_;
    case Outcome::skip: return c_yellow_;
    default: return c_red_;
  }
}

void Suite::clear_status() {
  if (status_shown_) {
    write_all(human_fd_, "\r\x1b[K", 4);
    status_shown_ = false;
  }
}

void Suite::show_status() {
  if (!tty_ || (o_.verbose && o_.jobs == 1) || running_.empty()) return;
  std::string names;
  for (const Slot& s : running_) names += " " + tests_[s.test].name;
  if (names.size() > 60) names.resize(60);
  std::string line = "\r\x1b[K[" + std::to_string(done_) + "/" + std::to_string(order_.size()) +
                     "] running:" + names;
  write_all(human_fd_, line.data(), line.size());
  status_shown_ = true;
}

void Suite::human(const std::string& s) {
  clear_status();
  write_all(human_fd_, s.data(), s.size());
}

std::string Suite::precheck(const cfg::Test& t) {
  if (!t.skip_reason.empty()) return t.skip_reason;
  if (!t.boot.empty() && t.boot != o_.boot)
    return "boot = " + t.boot + ": runs only through the " + (t.boot == "pvh" ? "PVH" : "EFI") + " entry";
  if (!t.arch.empty() && t.arch != "x86_64") return "arch " + t.arch + " is not built";
  for (const std::string& c : t.checks) {
    size_t eq = c.find('=');
    std::string path = c.substr(0, eq), want = eq == std::string::npos ? c : c.substr(eq + 1);
    std::string have;
    if (access(path.c_str(), R_OK) == 0) {
      have = read_file(path, 4096);
      have.erase(std::remove(have.begin(), have.end(), '\n'), have.end());
    }
    if (have != want) return "check " + c + " failed (found \"" + have + "\")";
  }
  return "";
}

void Suite::record(size_t index, Outcome o, const std::string& detail, uint64_t ms) {
  const cfg::Test& t = tests_[index];
  const std::string log = log_dir_ + "/" + t.name + ".log";
  char secs[32];
  std::snprintf(secs, sizeof(secs), "%lu.%03lu", static_cast<unsigned long>(ms / 1000),
                static_cast<unsigned long>(ms % 1000));
  const char* v = result::outcome_str(o);
  append_file(log, std::string("RESULT: ") + v + " " + t.name + " (" + detail + ")\n");
  finished_.push_back({t.name, o == Outcome::interrupted ? "" : secs});
  ++by_outcome_[static_cast<unsigned>(o)];
  ++done_;
  if (!result::is_good(o)) any_bad_ = true;
  const std::string group = t.groups.empty() ? "" : t.groups.front();
  for (const std::string& f : {t.name, std::string(v), detail, std::to_string(ms), group, log}) {
    junit_records_ += f;
    junit_records_.push_back('\0');
  }

  // TAP: the checks in the log as a subtest, then the test's line.
  std::string tap;
  {
    char space[1 << 14];
    result::TextBuf tb(space, sizeof(space));
    tb.set_sink([](void* ctx, const char* p, size_t n) { static_cast<std::string*>(ctx)->append(p, n); }, &tap);
    result::TapSubtest sub(tb, Str(t.name.data(), t.name.size()));
    std::ifstream in(log, std::ios::binary);
    std::string line;
    result::Check check;
    result::Bench bench;
    std::string cleaned_log;
    std::vector<std::pair<std::string, std::string>> benches;
    while (std::getline(in, line)) {
      line.resize(result::clean_line(line.data(), line.size()));
      const Str l(line.data(), line.size());
      if (result::parse_check(l, &check)) sub.add(check);
      if (result::parse_bench(l, &bench))
        benches.push_back({std::string(bench.name.p, bench.name.n), std::string(bench.value.p, bench.value.n)});
      if (o_.verbose && o_.jobs > 1) cleaned_log += line + "\n";
    }
    std::vector<result::Bench> bench_list;
    for (const auto& [n, v] : benches) bench_list.push_back({Str(n.data(), n.size()), Str(v.data(), v.size())});
    sub.finish();
    result::TestReport r;
    r.name = Str(t.name.data(), t.name.size());
    r.outcome = o;
    r.detail = Str(detail.data(), detail.size());
    r.ms = ms;
    r.log = Str(log.data(), log.size());
    r.bench = bench_list.data();
    r.bench_count = bench_list.size();
    result::tap_test(tb, static_cast<uint32_t>(done_), r);
    tb.flush();
    append_file(tap_file_, tap);
    if (o_.tap) write_all(1, tap.data(), tap.size());
    if (!cleaned_log.empty()) human(cleaned_log);
  }
  std::string shown = o_.verbose ? std::string(" [") + secs + "s]" : "";
  human(color(o) + v + c_off_ + " " + t.name + " (" + detail + ")" + shown + "\n");
  append_file(log_dir_ + "/summary.txt", std::string(v) + " " + t.name + " (" + detail + ")\n");
}

void Suite::launch(size_t index) {
  const cfg::Test& t = tests_[index];
  const std::string log = log_dir_ + "/" + t.name + ".log";
  {
    std::string head = "# " + t.name + ": unittests.cfg line " + std::to_string(t.line) + ", file " + t.file +
                       ", groups " + (t.groups.empty() ? "(none)" : join(t.groups, " ")) + "\n";
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      write_all(fd, head.data(), head.size());
      close(fd);
    }
  }
  std::string reason = precheck(t);
  if (!reason.empty()) {
    append_file(log, "# skipped before boot: " + reason + "\n");
    record(index, Outcome::skip, reason, 0);
    return;
  }
  std::vector<std::string> args = base_args(t);

  // The accelerator, decided the way the run will decide it (the probe's
  // cache makes the second decision free).
  std::string want = env_or("ACCEL", "auto");
  if (!t.accel.empty()) want = t.accel;
  std::vector<std::string> shape_args = {"-machine", "q35", "-cpu", "max"};
  shape_args.insert(shape_args.end(), qemu_extra_.begin(), qemu_extra_.end());
  shape_args.insert(shape_args.end(), args.begin(), args.end());
  accel::Decision d = accel::resolve(accel_env_, want, accel::shape_of(shape_args));
  std::string accel_used = d.used, accel_why = d.why;
  if (d.status == 1) {
    if (!t.accel.empty()) {
      std::string why = "needs KVM: " + d.why;
      append_file(log, "# skipped before boot: " + why + "\n");
      record(index, Outcome::skip, why, 0);
      return;
    }
    // ACCEL=kvm that cannot work: the run reports it as ERROR.
    accel_used = "kvm";
  }
  if (want == "auto" && accel_used == "tcg" && !accel_shown_.count(accel_why)) {
    accel_shown_.insert(accel_why);
    human("accel: tcg (" + accel_why + ")\n");
  }

  double secs = 0;
  if (!o_.timeout_override.empty()) {
    parse_duration(o_.timeout_override, &secs);
  } else {
    double base = kDefaultTimeout;
    if (!t.timeout.empty()) parse_duration(t.timeout, &base);
    double scale = o_.timeout_scale.empty() ? (accel_used == "kvm" ? 1 : kTcgTimeoutScale)
                                            : std::strtod(o_.timeout_scale.c_str(), nullptr);
    secs = base * scale;
  }
  const std::string timeout = seconds_text(secs);
  if (!t.test_args.empty()) {
    args.push_back("-append");
    args.push_back(t.test_args);
  }
  append_file(log, "# timeout " + timeout + "s, accel " + accel_used + " (" + accel_why + ")\n");

  Slot s;
  s.test = index;
  s.log = log;
  s.args = args;
  int fds[2], rec[2];
  if (pipe2(fds, O_CLOEXEC) != 0 || pipe2(rec, O_CLOEXEC) != 0) die("cannot create a pipe");
  const std::string image = image_dir_ + "/" + image_of(t);
  s.started = proc::now();
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) die("cannot start a test");
  if (pid == 0) {
    // Its own process group: the terminal's Ctrl-C reaches the runner,
    // which ends each test with SIGTERM; the run then ends its QEMU.
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    for (const Slot& other : running_) {
      if (other.out_fd >= 0) close(other.out_fd);
      if (other.record_fd >= 0) close(other.record_fd);
    }
    close(fds[0]);
    close(rec[0]);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) dup2(null, 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    setenv("ACCEL", accel_used.c_str(), 1);
    setenv("TIMEOUT", (timeout + "s").c_str(), 1);
    setenv("BOOT", o_.boot.c_str(), 1);
    unsetenv("RUN_RESULT_FILE");
    run::Options ro;
    ro.top = top_;
    ro.test = image;
    ro.qemu_args = s.args;
    ro.record_fd = rec[1];
    const int code = run::run_test(ro);
    std::fflush(nullptr);
    _exit(code);
  }
  setpgid(pid, pid);
  close(fds[1]);
  close(rec[1]);
  s.pid = pid;
  s.out_fd = fds[0];
  s.record_fd = rec[0];
  running_.push_back(std::move(s));
  show_status();
}

// Moves the children's output into their logs (and, with -v -j 1, to the
// terminal as it comes), for up to timeout_ms.
void Suite::pump(int timeout_ms) {
  std::vector<pollfd> fds;
  for (const Slot& s : running_)
    if (s.out_fd >= 0) fds.push_back({s.out_fd, POLLIN, 0});
  if (fds.empty()) {
    struct timespec ts = {0, static_cast<long>(timeout_ms) * 1000000L};
    nanosleep(&ts, nullptr);
    return;
  }
  if (poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
  for (const pollfd& p : fds) {
    if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
    for (Slot& s : running_) {
      if (s.out_fd != p.fd) continue;
      char buf[16384];
      ssize_t n = read(s.out_fd, buf, sizeof(buf));
      if (n <= 0) {
        if (n < 0 && errno == EINTR) break;
        close(s.out_fd);
        s.out_fd = -1;
        break;
      }
      append_file(s.log, std::string(buf, static_cast<size_t>(n)));
      if (o_.verbose && o_.jobs == 1) write_all(human_fd_, buf, static_cast<size_t>(n));
      break;
    }
  }
}

void Suite::reap(Slot& s, int wstatus) {
  // The rest of its output first; something it left behind that still
  // holds the pipe is not waited for beyond two seconds.
  const double until = proc::now() + 2;
  while (s.out_fd >= 0) {
    pollfd p = {s.out_fd, POLLIN, 0};
    char buf[16384];
    ssize_t n = -1;
    if (poll(&p, 1, 100) > 0) n = read(s.out_fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (n < 0 && proc::now() > until)) {
      close(s.out_fd);
      s.out_fd = -1;
      break;
    }
    if (n < 0) continue;
    append_file(s.log, std::string(buf, static_cast<size_t>(n)));
    if (o_.verbose && o_.jobs == 1) write_all(human_fd_, buf, static_cast<size_t>(n));
  }
  const uint64_t ms = static_cast<uint64_t>((proc::now() - s.started) * 1000);
  const int st = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  // The run's Record is its result; without one (a run that could not
  // start its test), the exit status is all there is.
  std::string text;
  if (s.record_fd >= 0) {
    char buf[4096];
    ssize_t n;
    while ((n = read(s.record_fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) text.append(buf, static_cast<size_t>(n));
    close(s.record_fd);
    s.record_fd = -1;
  }
  run::Record rec;
  Outcome o;
  std::string detail;
  if (run::Record::parse(text, &rec)) {
    o = rec.outcome;
    detail = o == Outcome::interrupted ? "stopped by the runner" : rec.detail;
    if (!rec.boot.empty()) ++boots_[rec.boot];
  } else {
    o = result::outcome_of_status(st);
    detail = o == Outcome::interrupted ? "stopped by the runner"
                                       : "the run exited " + std::to_string(st) + " without a verdict; see the log";
  }
  record(s.test, o, detail, ms);
}

void Suite::print_summary() {
  const uint64_t ms = static_cast<uint64_t>((proc::now() - run_start_) * 1000);
  char wall[32];
  std::snprintf(wall, sizeof(wall), "%lu.%lu", static_cast<unsigned long>(ms / 1000),
                static_cast<unsigned long>(ms % 1000 / 100));
  std::string parts;
  for (Outcome o : result::kTallyOrder) {
    uint32_t n = by_outcome_[static_cast<unsigned>(o)];
    if (!n) continue;
    parts += (parts.empty() ? "" : ", ") + color(o) + std::to_string(n) + " " + result::outcome_str(o) + c_off_;
  }
  if (done_ < order_.size()) parts += (parts.empty() ? "" : ", ") + std::to_string(order_.size() - done_) + " not run";
  std::string boots;
  if (!boots_.empty())
    boots = "; " + std::to_string(boots_["warm"]) + " warm, " + std::to_string(boots_["cold"]) + " cold boots";
  human(c_bold_ + std::to_string(order_.size()) + " tests" + c_off_ + ": " + parts + " in " + wall + "s" + boots +
        "; logs in " + log_dir_ + "\n");
  if (!o_.junit.empty()) {
    const std::string records = work_ + "/junit.records";
    int fd = open(records.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      write_all(fd, junit_records_.data(), junit_records_.size());
      close(fd);
    }
    struct utsname u;
    std::string host = uname(&u) == 0 ? u.nodename : "unknown";
    std::string wall_ms = std::to_string(ms), started = std::to_string(run_start_wall_);
    std::vector<std::string> a = {o_.junit, "unittests", wall_ms, started, host, records};
    std::vector<char*> argv;
    for (std::string& x : a) argv.push_back(x.data());
    if (cmd_junit(static_cast<int>(argv.size()), argv.data()) != 0)
      human(std::string(kProg) + ": could not write " + o_.junit + "\n");
  }
}

void Suite::save_durations() {
  const std::string file = top_ + "/build/test-durations";
  for (const auto& [name, secs] : finished_)
    if (!secs.empty()) prev_[name] = std::strtod(secs.c_str(), nullptr);
  if (!proc::make_dirs(top_ + "/build")) return;
  const std::string tmp = file + ".tmp." + std::to_string(getpid());
  std::string out;
  char buf[64];
  for (const auto& [name, secs] : prev_) {
    std::snprintf(buf, sizeof(buf), " %.3f\n", secs);
    out += name + buf;
  }
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  bool ok = write_all(fd, out.data(), out.size());
  close(fd);
  if (!ok || rename(tmp.c_str(), file.c_str()) != 0) unlink(tmp.c_str());
}

void Suite::interrupt() {
  const int sig = g_signal;
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  for (Slot& s : running_) kill(s.pid, SIGTERM);
  // Each run ends its QEMU and exits; a test that does not follow within
  // 30 s loses its whole process group.
  const double give_up = proc::now() + 30;
  while (!running_.empty()) {
    pump(50);
    for (size_t k = 0; k < running_.size();) {
      int ws = 0;
      pid_t w = waitpid(running_[k].pid, &ws, WNOHANG);
      if (w == running_[k].pid) {
        reap(running_[k], ws);
        running_.erase(running_.begin() + static_cast<long>(k));
      } else {
        if (proc::now() > give_up) kill(-running_[k].pid, SIGKILL);
        ++k;
      }
    }
  }
  clear_status();
  human(std::string(kProg) + ": interrupted by SIG" + (sig == SIGINT ? "INT" : "TERM") + "\n");
  print_summary();
  remove_work();
  std::exit(130);
}

int Suite::run() {
  load();
  if (o_.list) {
    if (o_.list_format == "json") {
      list_json();
      return 0;
    }
    for (size_t i : order_) {
      const cfg::Test& t = tests_[i];
      if (o_.verbose) {
        std::printf("%s\t%s\t%s\n", t.name.c_str(), t.file.c_str(), join(t.groups, " ").c_str());
      } else {
        std::printf("%s\n", t.name.c_str());
      }
    }
    return 0;
  }
  // Each run decides cold or warm; --cold only forces its hand.
  if (o_.cold) setenv("COLD_BOOT", "1", 1);
  find_tools();
  accel_env_ = accel_env();
  accel_env_.probe_rom = top_ + "/build/accel-probe.rom";
  if (!std::getenv("ACCEL_CACHE")) accel_env_.cache = top_ + "/build/accel-probe.cache";
  const std::string want = env_or("ACCEL", "auto");
  if (want != "auto" && want != "kvm" && want != "tcg") die("ACCEL must be kvm, tcg or auto, not '" + want + "'");

  char tmpl[4096];
  std::snprintf(tmpl, sizeof(tmpl), "%s/ktest-suite.XXXXXX", env_or("TMPDIR", "/tmp").c_str());
  if (!mkdtemp(tmpl)) die("cannot create a temporary directory");
  work_ = tmpl;

  // With several jobs the longest tests start first, by their durations
  // in earlier runs, so that one long test does not end up running alone
  // at the end. Tests never timed before start first of all.
  prev_ = selection::read_durations(top_ + "/build/test-durations");
  if (o_.jobs > 1 && !prev_.empty()) order_ = selection::longest_first(tests_, order_, prev_);

  open_logs();
  human_fd_ = o_.tap ? 2 : 1;
  tty_ = isatty(human_fd_);
  const std::string term = env_or("TERM", "dumb");
  if (tty_ && !std::getenv("NO_COLOR") && term != "dumb") {
    c_red_ = "\x1b[31m", c_green_ = "\x1b[32m", c_yellow_ = "\x1b[33m", c_bold_ = "\x1b[1m", c_off_ = "\x1b[0m";
  }
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  max_smp_ = env_or("MAX_SMP", std::to_string(ncpu > 0 ? ncpu : 1));
  {
    std::istringstream in(env_or("QEMU_EXTRA", ""));
    std::string w;
    while (in >> w) qemu_extra_.push_back(w);
  }

  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  run_start_ = proc::now();
  run_start_wall_ = time(nullptr);
  {
    std::string plan = "TAP version 13\n1.." + std::to_string(order_.size()) + "\n";
    append_file(tap_file_, plan);
    if (o_.tap) write_all(1, plan.data(), plan.size());
  }
  size_t next = 0;
  while (next < order_.size() || !running_.empty()) {
    if (g_signal) interrupt();
    while (next < order_.size() && running_.size() < o_.jobs && !g_signal) launch(order_[next++]);
    if (running_.empty()) continue;
    pump(100);
    for (size_t k = 0; k < running_.size();) {
      int ws = 0;
      pid_t w = waitpid(running_[k].pid, &ws, WNOHANG);
      if (w == running_[k].pid) {
        Slot s = std::move(running_[k]);
        running_.erase(running_.begin() + static_cast<long>(k));
        reap(s, ws);
        show_status();
      } else {
        ++k;
      }
    }
  }
  save_durations();
  print_summary();
  remove_work();
  return any_bad_ ? 1 : 0;
}

}  // namespace

int cmd_suite(int argc, char** argv) {
  std::string top;
  int i = 0;
  if (i + 1 < argc && std::strcmp(argv[i], "--top") == 0) {
    top = argv[i + 1];
    i += 2;
  }
  if (top.empty() || i >= argc || std::strcmp(argv[i], "--") != 0) {
    std::fputs("usage: efitest suite --top DIR -- [run_tests.sh arguments]\n", stderr);
    return 2;
  }
  std::vector<std::string> args(argv + i + 1, argv + argc);
  Suite suite(absolute(top), parse_options(args, top));
  return suite.run();
}
