// efitest bench: what the fast path (docs/running.md, "Fast runs") and the
// PVH entry (docs/pvh.md) buy, measured in one run (`make bench`,
// scripts/bench):
//
//   - the firmware floor (efi/null.efi) cold and warm, and beside the warm
//     run, interleaved with it, QEMU alone doing what that warm run makes
//     it do: restore the snapshot and run efi/null.efi, started from the
//     very command line scripts/run prints, with the restore begun over
//     QMP as scripts/run begins it; the difference is the runner's own
//     cost per test;
//   - selftest cold, warm and through the PVH entry (BOOT=pvh);
//   - what the KVM probe costs (docs/running.md, "The accelerator");
//   - the default suite cold, warm and under --boot pvh;
//
// as medians, then the ratios. Snapshots are built by untimed first runs,
// so "warm" means a warm cache. Never part of `make check`: shared
// machines are too noisy for timing assertions.
//
//   efitest bench --top DIR [-n RUNS] [-s SUITE_RUNS] [-j JOBS]
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "proc.h"
#include "qmp.h"
#include "rt/verdict.h"
#include "run/snapshot.h"
#include "textutil.h"

namespace {

const char kUsage[] =
    "usage: scripts/bench [-n RUNS] [-s SUITE_RUNS] [-j JOBS]\n"
    "\n"
    "  -n RUNS        runs per single test (default $BENCH_RUNS or 5)\n"
    "  -s SUITE_RUNS  runs of the suite (default $BENCH_SUITE_RUNS or 3)\n"
    "  -j JOBS        run_tests.sh -j (default $BENCH_JOBS or 2)\n"
    "\n"
    "efi/null.efi ends at once without a SUMMARY line, so scripts/run calls it\n"
    "ERROR; only its time matters. \"QEMU alone\" runs the warm QEMU command\n"
    "line that scripts/run prints for efi/null.efi, restore over QMP included,\n"
    "without scripts/run. The suite is ./run_tests.sh -j JOBS, with --cold for\n"
    "the cold column (its verdicts must match the warm ones) and --boot pvh for\n"
    "the PVH column (tests that need UEFI skip there).\n";


// Bounds: no run of one test may take longer than this, nor a suite.
constexpr unsigned kTestBound = 900;
constexpr unsigned kSuiteBound = 3 * 3600;

// The child being waited for, so that a timeout or Ctrl-C can end it.
volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_stop = 0;      // the signal that asks us to stop
volatile sig_atomic_t g_alarmed = 0;   // 1: SIGTERM sent at the bound, 2: SIGKILL

void on_stop(int sig) {
  g_stop = sig;
  // The child is in our process group and got a Ctrl-C itself; a SIGTERM
  // sent to us alone is passed on.
  if (g_child > 0 && sig == SIGTERM) kill(static_cast<pid_t>(g_child), SIGTERM);
}

void on_alarm(int) {
  if (g_child <= 0) return;
  if (g_alarmed == 0) {
    g_alarmed = 1;
    kill(static_cast<pid_t>(g_child), SIGTERM);
    alarm(5);
  } else {
    g_alarmed = 2;
    kill(static_cast<pid_t>(g_child), SIGKILL);
  }
}

// What a child's environment changes: "NAME=VALUE" sets, "-NAME" unsets.
using EnvChanges = std::vector<std::string>;

struct Spawn {
  std::vector<std::string> argv;
  EnvChanges env;
  std::string err_path;  // stderr goes here ("" : /dev/null)
  std::string fd3_path;  // opened read-only as descriptor 3 if set
};

pid_t spawn(const Spawn& s) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGALRM, SIG_DFL);
  int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(null, 1);
  int err = s.err_path.empty() ? null : open(s.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(err < 0 ? null : err, 2);
  if (!s.fd3_path.empty()) {
    int fd = open(s.fd3_path.c_str(), O_RDONLY);
    if (fd < 0 || dup2(fd, 3) < 0) _exit(127);
    if (fd != 3) close(fd);
  }
  for (const std::string& e : s.env) {
    if (!e.empty() && e[0] == '-') {
      unsetenv(e.c_str() + 1);
    } else if (size_t eq = e.find('='); eq != std::string::npos) {
      setenv(e.substr(0, eq).c_str(), e.c_str() + eq + 1, 1);
    }
  }
  std::vector<char*> args;
  for (const std::string& a : s.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

// Waits for pid, ending it (SIGTERM, then SIGKILL 5 s later) at the bound.
// Returns the wait status; *bounded tells whether the bound ended it.
int wait_bounded(pid_t pid, unsigned bound_s, bool* bounded = nullptr) {
  g_alarmed = 0;
  g_child = pid;
  alarm(bound_s);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  alarm(0);
  g_child = 0;
  if (bounded) *bounded = g_alarmed != 0;
  return st;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// The words of a command line quoted as scripts/run quotes it (bare
// words, '...' with '\'' for a quote; "..." and backslashes as a shell
// reads them, for good measure). False on an unterminated quote.
bool shell_words(const std::string& s, std::vector<std::string>* out) {
  out->clear();
  std::string w;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ' || c == '\t') {
      if (in_word) out->push_back(w);
      w.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      const size_t end = s.find('\'', i + 1);
      if (end == std::string::npos) return false;
      w += s.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && std::strchr("\"\\$`", s[i + 1])) ++i;
        w += s[i];
      }
      if (i >= s.size()) return false;
    } else if (c == '\\' && i + 1 < s.size()) {
      w += s[++i];
    } else {
      w += c;
    }
  }
  if (in_word) out->push_back(w);
  return true;
}

// The warm QEMU command line of a scripts/run, as it printed it on stderr
// (the line after "boot: warm (...)", ending in "3<STATE").
struct WarmCommand {
  std::vector<std::string> argv;
  std::string state;
  std::string run_dir;  // scripts/run's temporary directory (path=DIR/qmp)
};

bool warm_command(const std::string& err_text, WarmCommand* w, std::string* why) {
  const std::vector<std::string> lines = lines_of(err_text);
  size_t i = 0;
  while (i < lines.size() && lines[i].rfind("boot: warm (", 0) != 0) ++i;
  if (i + 1 >= lines.size()) {
    *why = "scripts/run efi/null.efi did not boot warm";
    for (const std::string& l : lines)
      if (l.rfind("boot: ", 0) == 0) *why += " (" + l + ")";
    return false;
  }
  std::vector<std::string> words;
  if (!shell_words(lines[i + 1], &words) || words.size() < 2 || words.back().rfind("3<", 0) != 0) {
    *why = "the line after \"boot: warm\" is not a command ending in 3<STATE";
    return false;
  }
  w->state = words.back().substr(2);
  words.pop_back();
  w->argv = words;
  for (const std::string& a : w->argv)
    for (const std::string& kv : text::split(a, ','))
      if (kv.rfind("path=", 0) == 0 && kv.size() > 9 && kv.compare(kv.size() - 4, 4, "/qmp") == 0)
        w->run_dir = kv.substr(5, kv.size() - 9);
  if (w->run_dir.empty()) {
    *why = "the warm command line has no QMP pipe chardev (path=DIR/qmp)";
    return false;
  }
  return true;
}

// Every occurrence of from in s replaced by to.
std::string replaced(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}

class Bench {
 public:
  Bench(std::string top, std::string work, unsigned runs, unsigned suite_runs, unsigned jobs)
      : top_(std::move(top)), work_(std::move(work)), runs_(runs), suite_runs_(suite_runs), jobs_(jobs) {}
  int run();

 private:
  // One timed run: the wall time in seconds; its stderr is in last.err.
  double timed(const std::vector<std::string>& argv, const EnvChanges& env, unsigned bound);
  void record(const std::string& label, unsigned i, unsigned n, double t);
  void measure(const std::string& label, unsigned n, const std::vector<std::string>& argv, const EnvChanges& env,
               unsigned bound = kTestBound);
  std::vector<std::string> suite(const std::string& dir, std::vector<std::string> extra);
  // QEMU alone, once: the wall time, or < 0 with *why set.
  double qemu_alone(const WarmCommand& w, std::string* why);
  std::string med(const std::string& label) const;
  double median_of(const std::string& label) const;
  void stop_if_asked();

  std::string top_, work_;
  unsigned runs_, suite_runs_, jobs_;
  std::map<std::string, std::vector<double>> times_;
};

void Bench::stop_if_asked() {
  if (!g_stop) return;
  std::fputs("bench: interrupted\n", stderr);
  std::error_code ec;
  std::filesystem::remove_all(work_, ec);
  std::exit(g_stop == SIGINT ? kExitInterrupted : kExitTerminated);
}

double Bench::timed(const std::vector<std::string>& argv, const EnvChanges& env, unsigned bound) {
  const double t0 = proc::now();
  const pid_t pid = spawn({argv, env, work_ + "/last.err", ""});
  if (pid > 0) wait_bounded(pid, bound);
  const double t = proc::now() - t0;
  stop_if_asked();
  return t;
}

void Bench::record(const std::string& label, unsigned i, unsigned n, double t) {
  times_[label].push_back(t);
  std::fprintf(stderr, "  %-24s run %u/%u: %6.2fs\n", label.c_str(), i, n, t);
}

void Bench::measure(const std::string& label, unsigned n, const std::vector<std::string>& argv,
                    const EnvChanges& env, unsigned bound) {
  for (unsigned i = 1; i <= n; ++i) record(label, i, n, timed(argv, env, bound));
}

std::vector<std::string> Bench::suite(const std::string& dir, std::vector<std::string> extra) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::vector<std::string> argv = {top_ + "/run_tests.sh", "-j", std::to_string(jobs_), "--log-dir", dir};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

double Bench::median_of(const std::string& label) const {
  auto it = times_.find(label);
  if (it == times_.end() || it->second.empty()) return -1;
  std::vector<double> v = it->second;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Bench::med(const std::string& label) const {
  const double m = median_of(label);
  if (m < 0) return "-";
  char b[32];
  std::snprintf(b, sizeof(b), "%.2f", m);
  return b;
}

double Bench::qemu_alone(const WarmCommand& w, std::string* why) {
  // A directory of our own in place of scripts/run's, which is gone: the
  // QMP FIFOs and the guest's command line file, as scripts/run makes
  // them (argv[0] is the image's name, "null"; no arguments).
  const std::string dir = work_ + "/qemu-alone";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!proc::make_dirs(dir) || mkfifo((dir + "/qmp.in").c_str(), 0600) != 0 ||
      mkfifo((dir + "/qmp.out").c_str(), 0600) != 0) {
    *why = "cannot make " + dir + " and its FIFOs";
    return -1;
  }
  std::ofstream(dir + "/cmdline") << "null";
  Spawn s;
  for (const std::string& a : w.argv) {
    std::string b = replaced(a, w.run_dir + "/", dir + "/");
    s.argv.push_back(b);
    // Nothing else of scripts/run's directory may be needed.
    for (size_t at = 0; (at = b.find(dir + "/", at)) != std::string::npos; at += dir.size()) {
      const std::string rest = b.substr(at + dir.size() + 1);
      if (rest.rfind("qmp", 0) != 0 && rest.rfind("cmdline", 0) != 0) {
        *why = "the warm command line needs " + w.run_dir + "/" + rest + ", which the bench cannot make";
        return -1;
      }
    }
  }
  s.err_path = dir + "/stderr";
  s.fd3_path = w.state;
  // Read-write opens of a FIFO do not wait for the other end.
  const int qin = open((dir + "/qmp.in").c_str(), O_RDWR | O_CLOEXEC);
  const int qout = open((dir + "/qmp.out").c_str(), O_RDWR | O_CLOEXEC);
  if (qin < 0 || qout < 0) {
    *why = "cannot open the QMP FIFOs";
    if (qin >= 0) close(qin);
    if (qout >= 0) close(qout);
    return -1;
  }
  const double t0 = proc::now();
  const pid_t pid = spawn(s);
  int status = 0;
  bool reaped = false;
  qmp::Client client(qout, qin);
  client.set_alive([&] {
    if (!reaped && waitpid(pid, &status, WNOHANG) == pid) reaped = true;
    return !reaped;
  });
  std::string qmp_error;
  for (const char* c : run::snapshot::kRestoreQmp) {
    const qmp::Reply r = client.execute_json(c, 30);
    if (!r.ok) {
      qmp_error = "QMP: " + r.error.substr(0, 160);
      if (!reaped) kill(pid, SIGTERM);
      break;
    }
  }
  close(qin);
  close(qout);
  bool bounded = false;
  if (!reaped) status = wait_bounded(pid, kTestBound, &bounded);
  const double t = proc::now() - t0;
  stop_if_asked();
  // efi/null.efi's PASS through isa-debug-exit.
  const int want = static_cast<int>(debug_exit_value(Verdict::pass) << 1 | 1);
  if (!qmp_error.empty() || bounded || !WIFEXITED(status) || WEXITSTATUS(status) != want) {
    std::string last;
    for (const std::string& l : lines_of(proc::read_file(s.err_path)))
      if (!l.empty()) last = l;
    *why = !qmp_error.empty() ? qmp_error
           : bounded          ? "QEMU did not end within " + std::to_string(kTestBound) + "s"
           : WIFEXITED(status) ? "QEMU exited " + std::to_string(WEXITSTATUS(status)) + ", not " +
                                     std::to_string(want) + " (efi/null.efi's PASS)"
                               : "QEMU was killed by signal " + std::to_string(WTERMSIG(status));
    if (!last.empty()) *why += ": " + last.substr(0, 160);
    return -1;
  }
  return t;
}

std::string ratio(double a, double b) {
  if (a < 0 || b <= 0) return "-";
  char s[32];
  std::snprintf(s, sizeof(s), "%.2f", a / b);
  return s;
}

// "VERDICT name (detail)" lines of a suite's summary.txt.
std::vector<std::string> verdicts(const std::string& dir) { return lines_of(proc::read_file(dir + "/summary.txt")); }

int Bench::run() {
  for (const char* f : {"efi/null.efi", "efi/loader.efi", "x86/selftest.efi", "x86/selftest.elf",
                        "build/accel-probe.rom"}) {
    if (access((top_ + "/" + f).c_str(), R_OK) != 0) {
      std::fprintf(stderr, "scripts/bench: %s is not built (run make)\n", f);
      return kExitError;
    }
  }
  const std::string script = top_ + "/scripts/run", null_efi = top_ + "/efi/null.efi";
  const EnvChanges warm = {"-COLD_BOOT", "-BOOT"}, cold = {"COLD_BOOT=1", "-BOOT"};

  std::fputs("warming the snapshot cache (untimed)...\n", stderr);
  timed({script, null_efi}, warm, kTestBound);
  const std::string null_err = proc::read_file(work_ + "/last.err");
  timed({script, "selftest"}, warm, kTestBound);
  timed({script, "selftest"}, {"BOOT=pvh", "-COLD_BOOT"}, kTestBound);
  timed(suite(work_ + "/prime", {}), warm, kSuiteBound);

  measure("null cold", runs_, {script, null_efi}, cold);
  // The warm floor and QEMU alone, in turns, so that both see the same
  // load.
  WarmCommand wc;
  std::string alone_why;
  const bool have_warm = warm_command(null_err, &wc, &alone_why);
  bool alone_failed = false;
  for (unsigned i = 1; i <= runs_; ++i) {
    record("null warm", i, runs_, timed({script, null_efi}, warm, kTestBound));
    if (!have_warm || alone_failed) continue;
    const double t = qemu_alone(wc, &alone_why);
    if (t < 0) {
      alone_failed = true;
      std::fprintf(stderr, "  QEMU alone: %s\n", alone_why.c_str());
    } else {
      record("qemu alone", i, runs_, t);
    }
  }
  if (alone_failed) times_.erase("qemu alone");
  measure("selftest cold", runs_, {script, "selftest"}, cold);
  measure("selftest warm", runs_, {script, "selftest"}, warm);
  measure("selftest pvh", runs_, {script, "selftest"}, {"BOOT=pvh", "-COLD_BOOT"});
  // The accelerator's cost: a warm selftest with ACCEL=tcg (no probe), with
  // the probe's cached result, and with the probe run afresh every time; and
  // the probe VM itself under TCG, which is what a probe on a working KVM
  // costs too (QEMU's start dominates both).
  measure("selftest warm tcg", runs_, {script, "selftest"}, {"-COLD_BOOT", "-BOOT", "ACCEL=tcg"});
  measure("selftest warm auto", runs_, {script, "selftest"}, warm);
  std::string accel_line = "accel: ?";
  for (const std::string& l : lines_of(proc::read_file(work_ + "/last.err")))
    if (l.rfind("accel: ", 0) == 0) {
      accel_line = l;
      break;
    }
  for (unsigned i = 1; i <= runs_; ++i) {
    const std::string cache = work_ + "/probe." + std::to_string(i);
    record("selftest warm probing", i, runs_,
           timed({script, "selftest"}, {"-COLD_BOOT", "-BOOT", "ACCEL_CACHE=" + cache}, kTestBound));
  }
  const char* qemu_env = std::getenv("QEMU");
  const std::string qemu = qemu_env && *qemu_env ? qemu_env : "qemu-system-x86_64";
  measure("probe ROM under tcg", runs_,
          {qemu, "-nodefaults", "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-bios",
           top_ + "/build/accel-probe.rom", "-m", "16M", "-display", "none", "-serial", "none", "-monitor", "none",
           "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"},
          {});
  measure("suite cold", suite_runs_, suite(work_ + "/suite-cold", {"--cold"}), warm, kSuiteBound);
  const std::vector<std::string> v_cold = verdicts(work_ + "/suite-cold");
  measure("suite warm", suite_runs_, suite(work_ + "/suite-warm", {}), warm, kSuiteBound);
  const std::vector<std::string> v_warm = verdicts(work_ + "/suite-warm");
  measure("suite pvh", suite_runs_, suite(work_ + "/suite-pvh", {"--boot", "pvh"}), {"-COLD_BOOT", "-BOOT"},
          kSuiteBound);
  const std::vector<std::string> v_pvh = verdicts(work_ + "/suite-pvh");

  unsigned warm_boots = 0;
  for (const std::string& f : proc::list_dir(work_ + "/suite-warm")) {
    if (f.size() < 4 || f.compare(f.size() - 4, 4, ".log") != 0) continue;
    for (const std::string& l : lines_of(proc::read_file(work_ + "/suite-warm/" + f)))
      warm_boots += l.rfind("boot: warm", 0) == 0;
  }
  std::vector<std::string> sc = v_cold, sw = v_warm;
  std::sort(sc.begin(), sc.end());
  std::sort(sw.begin(), sw.end());
  const bool same = sc == sw && !sw.empty();
  // PVH against warm EFI, by verdict alone: the details of a SKIP differ.
  auto by_name = [](const std::vector<std::string>& v) {
    std::map<std::string, std::string> m;
    for (const std::string& l : v) {
      const size_t sp = l.find(' ');
      if (sp == std::string::npos) continue;
      const size_t end = l.find(' ', sp + 1);
      m[l.substr(sp + 1, end == std::string::npos ? std::string::npos : end - sp - 1)] = l.substr(0, sp);
    }
    return m;
  };
  const auto efi_v = by_name(v_warm), pvh_v = by_name(v_pvh);
  std::vector<std::string> pvh_diff;
  for (const auto& [name, v] : efi_v) {
    auto it = pvh_v.find(name);
    const std::string p = it == pvh_v.end() ? "absent" : it->second;
    if (p != v) pvh_diff.push_back(name + ": EFI " + v + ", PVH " + p);
  }
  for (const auto& [name, v] : pvh_v)
    if (!efi_v.count(name)) pvh_diff.push_back(name + ": EFI absent, PVH " + v);

  char host[256] = "?";
  gethostname(host, sizeof(host) - 1);
  std::printf("\nmedian wall time (%u runs per test, %u per suite; run_tests.sh -j %u; %s, %ld CPUs)\n", runs_,
              suite_runs_, jobs_, host, sysconf(_SC_NPROCESSORS_ONLN));
  auto row = [](const std::string& what, const std::string& v) {
    std::printf("  %-40s %8s\n", what.c_str(), v.c_str());
  };
  row("what", "seconds");
  row("efi/null.efi cold (floor)", med("null cold"));
  row("efi/null.efi warm (scripts/run)", med("null warm"));
  row("QEMU alone: restore + efi/null.efi", med("qemu alone"));
  row("selftest cold", med("selftest cold"));
  row("selftest warm", med("selftest warm"));
  row("selftest PVH (BOOT=pvh)", med("selftest pvh"));
  row("suite cold (" + std::to_string(v_cold.size()) + " tests)", med("suite cold"));
  row("suite warm (" + std::to_string(warm_boots) + " warm boots)", med("suite warm"));
  row("suite PVH (--boot pvh, " + std::to_string(v_pvh.size()) + " tests)", med("suite pvh"));
  row("selftest warm, ACCEL=tcg", med("selftest warm tcg"));
  row("selftest warm, probe cached", med("selftest warm auto"));
  row("selftest warm, probe afresh", med("selftest warm probing"));
  row("probe ROM alone, under TCG", med("probe ROM under tcg"));
  std::printf("  (%s)\n", accel_line.c_str());
  if (!have_warm || alone_failed) std::printf("  (QEMU alone: %s)\n", alone_why.c_str());
  std::printf("ratios\n");
  auto rrow = [](const std::string& what, const std::string& v) {
    std::printf("  %-40s %8s\n", what.c_str(), v.c_str());
  };
  rrow("selftest warm / cold", ratio(median_of("selftest warm"), median_of("selftest cold")));
  rrow("suite cold / warm (speedup)", ratio(median_of("suite cold"), median_of("suite warm")));
  rrow("firmware floor / selftest cold", ratio(median_of("null cold"), median_of("selftest cold")));
  rrow("probe cached / ACCEL=tcg", ratio(median_of("selftest warm auto"), median_of("selftest warm tcg")));
  rrow("probe afresh / ACCEL=tcg", ratio(median_of("selftest warm probing"), median_of("selftest warm tcg")));
  rrow("selftest PVH / warm EFI", ratio(median_of("selftest pvh"), median_of("selftest warm")));
  rrow("suite PVH / warm EFI", ratio(median_of("suite pvh"), median_of("suite warm")));
  const double nw = median_of("null warm"), qa = median_of("qemu alone");
  std::string overhead = "-";
  if (nw >= 0 && qa > 0) {
    char b[32];
    std::snprintf(b, sizeof(b), "%.0f%%", (nw - qa) / qa * 100);
    overhead = b;
  }
  rrow("runner overhead (warm - alone) / alone", overhead);
  std::printf("suite verdicts identical cold and warm: %s\n", same ? "yes" : "no");
  if (!same) {
    std::vector<std::string> d;
    std::set_symmetric_difference(sc.begin(), sc.end(), sw.begin(), sw.end(), std::back_inserter(d));
    for (const std::string& l : d)
      std::printf("  %s %s\n", std::binary_search(sc.begin(), sc.end(), l) ? "cold:" : "warm:", l.c_str());
  }
  std::printf("PVH verdicts differing from warm EFI: %zu\n", pvh_diff.size());
  for (const std::string& l : pvh_diff) std::printf("  %s\n", l.c_str());
  std::fflush(stdout);
  return same && !alone_failed ? 0 : 1;
}

bool positive(const char* s, unsigned* out) {
  if (!s || !*s || *s == '0') return false;
  for (const char* p = s; *p; ++p)
    if (*p < '0' || *p > '9') return false;
  const unsigned long v = std::strtoul(s, nullptr, 10);
  if (v > 10000) return false;
  *out = static_cast<unsigned>(v);
  return true;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  std::string top;
  const char* n = std::getenv("BENCH_RUNS");
  const char* s = std::getenv("BENCH_SUITE_RUNS");
  const char* j = std::getenv("BENCH_JOBS");
  n = n && *n ? n : "5";
  s = s && *s ? s : "3";
  j = j && *j ? j : "2";
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--top" && v) {
      top = v;
    } else if (a == "-n" && v) {
      n = v;
    } else if (a == "-s" && v) {
      s = v;
    } else if (a == "-j" && v) {
      j = v;
    } else if (a == "--") {
      continue;
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
    ++i;
  }
  unsigned runs = 0, suite_runs = 0, jobs = 0;
  if (!positive(n, &runs) || !positive(s, &suite_runs) || !positive(j, &jobs)) {
    std::fputs("scripts/bench: counts must be positive numbers\n", stderr);
    return 2;
  }
  if (top.empty()) {
    std::fputs("efitest bench: --top DIR is needed\n", stderr);
    return 2;
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string work = std::string(tmp && *tmp ? tmp : "/tmp") + "/efitest-bench.XXXXXX";
  if (!mkdtemp(work.data())) {
    std::fprintf(stderr, "scripts/bench: cannot make %s\n", work.c_str());
    return kExitError;
  }
  struct sigaction sa = {};
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, nullptr);
  Bench b(top, work, runs, suite_runs, jobs);
  const int rc = b.run();
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  return rc;
}
