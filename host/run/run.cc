#include "run.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "../accel.h"
#include "../commands.h"
#include "../proc.h"
#include "qemu_cmdline.h"
#include "rt/verdict.h"
#include "../selection.h"
#include "gdb.h"
#include "snapshot.h"
#include "supervisor.h"
#include "symbolize.h"
#include "verdict.h"

namespace run {

namespace {

using result::Outcome;

// Removed at exit, however the run ends.
std::string g_work;
void remove_work() {
  if (g_work.empty()) return;
  for (const std::string& f : proc::list_dir(g_work)) unlink((g_work + "/" + f).c_str());
  rmdir(g_work.c_str());
  g_work.clear();
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "scripts/run: %s\n", msg.c_str());
  remove_work();
  std::exit(kExitError);
}
[[noreturn]] void die_plain(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
  remove_work();
  std::exit(kExitError);
}

bool is_file(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}
std::string strip_suffix(std::string s, const char* suffix) {
  if (ends_with(s, suffix)) s.resize(s.size() - std::strlen(suffix));
  return s;
}
std::string strip_prefix(std::string s, const char* prefix) {
  if (s.rfind(prefix, 0) == 0) s.erase(0, std::strlen(prefix));
  return s;
}
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Names of the images built under x86/, e.g. "msr" or "negative/fail".
void list_images(const std::string& dir, const std::string& prefix, std::vector<std::string>* out) {
  for (const std::string& n : proc::list_dir(dir)) {
    const std::string path = dir + "/" + n;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      list_images(path, prefix + n + "/", out);
    } else if (S_ISREG(st.st_mode) && ends_with(n, ".efi")) {
      out->push_back(prefix + strip_suffix(n, ".efi"));
    }
  }
}

// The image for TEST, or the process ends with close matches.
std::string resolve_image(const std::string& top, const std::string& t, const std::string& entry) {
  if (is_file(t)) return t;
  const std::string n = strip_suffix(strip_suffix(strip_prefix(strip_prefix(t, "./"), "x86/"), ".efi"), ".elf");
  if (entry == "pvh" && is_file(top + "/x86/" + n + ".elf")) return top + "/x86/" + n + ".elf";
  if (entry == "efi" && is_file(top + "/x86/" + n + ".efi")) return top + "/x86/" + n + ".efi";
  std::string msg = "scripts/run: unknown test '" + t + "' (no " + t + ", no x86/" + n + ".efi)\n";
  if (is_file(top + "/x86/" + n + ".cc")) msg += "x86/" + n + ".cc exists but is not built: run ./configure && make\n";
  std::vector<std::string> images;
  if (is_dir(top + "/x86")) list_images(top + "/x86", "", &images);
  std::sort(images.begin(), images.end());
  const std::vector<std::string> close = selection::close_matches(n.substr(n.rfind('/') + 1), images);
  if (!close.empty()) {
    msg += "close matches:\n";
    for (const std::string& c : close) msg += "  " + c + "\n";
  }
  std::fputs(msg.c_str(), stderr);
  std::exit(kExitError);
}

void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  size_t n = s.size();
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stderr);
  std::fflush(stderr);
}

class Run {
 public:
  explicit Run(const Options& o) : o_(o) {}
  int go();

 private:
  // The record of this run so far, with its outcome.
  Record record(Outcome o, const std::string& detail) const;
  int finish(Outcome o, const std::string& detail, bool counts = true);
  [[noreturn]] void interrupted(int sig);
  Boot boot_guest(std::vector<std::string> argv, bool warm, int state_fd);

  const Options& o_;
  std::string name_, accel_, timeout_text_, boot_, boot_reason_;
  double timeout_s_ = 0;
  result::Counts counts_;
  const Symbolizer* symbolizer_ = nullptr;
  // --gdb: the gdbstub's socket, the symbols gdb loads, the image.
  std::string gdb_socket_, gdb_symbols_, gdb_image_;
  bool gdb_announced_ = false;
};

Record Run::record(Outcome o, const std::string& detail) const {
  Record r;
  r.outcome = o;
  r.detail = detail;
  r.accel = accel_;
  r.timeout = timeout_text_;
  r.boot = boot_;
  r.boot_reason = boot_reason_;
  return r;
}

int Run::finish(Outcome o, const std::string& detail, bool counts) {
  say(std::string(result::outcome_str(o)) + " " + name_ + " (" + detail + ")");
  Record r = record(o, detail);
  r.have_counts = counts;
  r.counts = counts_;
  const std::string text = r.text();
  if (!o_.result_file.empty()) {
    std::ofstream out(o_.result_file, std::ios::trunc);
    out << text;
  }
  if (o_.record_fd >= 0) write_all(o_.record_fd, text);
  remove_work();
  return result::exit_status(o);
}

void Run::interrupted(int sig) {
  say(std::string("INTERRUPTED ") + name_ + " (SIG" + signal_word(sig) + ")");
  if (o_.record_fd >= 0) write_all(o_.record_fd, record(Outcome::interrupted, std::string("SIG") + signal_word(sig)).text());
  remove_work();
  std::exit(sig == SIGINT ? kExitInterrupted : kExitTerminated);
}

Boot Run::boot_guest(std::vector<std::string> argv, bool warm, int state_fd) {
  BootSpec spec;
  spec.argv = std::move(argv);
  spec.timeout_s = timeout_s_;
  // Under KVM, stderr is watched while QEMU runs: KVM that fails in the
  // middle of a test pauses the VM, and the test ends at once as CRASH.
  spec.watch_kvm = accel_ == "kvm";
  spec.state_fd = state_fd;
  if (warm) spec.qmp_base = g_work + "/qmp";
  spec.symbolizer = symbolizer_;
  if (o_.gdb) {
    spec.on_serial_line = [this](const std::string& line) {
      uint64_t base = 0;
      if (!gdb_announced_ && gdb::parse_wait_line(line, &base)) {
        gdb_announced_ = true;
        // The .elf runs where it is linked; the .debug is linked at 0.
        say("gdb: " + gdb::command(gdb_socket_, gdb_symbols_, gdb_symbols_ == gdb_image_ ? 0 : base));
      }
    };
  }
  Boot b = boot(spec);
  if (b.interrupted) interrupted(b.interrupted);
  if (!b.stderr_text.empty()) {
    std::fputs(b.stderr_text.c_str(), stderr);
    if (b.stderr_text.back() != '\n') std::fputc('\n', stderr);
    std::fflush(stderr);
  }
  return b;
}

int Run::go() {
  const std::string& top = o_.top;
  // The boot entry: UEFI (x86/NAME.efi under OVMF), or PVH (x86/NAME.elf
  // with -kernel and no firmware, docs/pvh.md). An .elf path means PVH.
  std::string entry = env("BOOT").empty() ? "efi" : env("BOOT");
  if (ends_with(o_.test, ".elf")) entry = "pvh";
  if (entry != "efi" && entry != "pvh") die("BOOT must be efi or pvh, not '" + entry + "'");
  const std::string image = resolve_image(top, o_.test, entry);
  if (ends_with(image, ".elf")) entry = "pvh";
  const bool pvh = entry == "pvh";
  name_ = strip_suffix(strip_suffix(image.substr(image.rfind('/') + 1), ".efi"), ".elf");
  // The .debug file describes the .efi's link (at 0), not the .elf's.
  std::string debug_file = strip_suffix(image, ".efi") + ".debug";
  if (pvh || !is_file(debug_file)) debug_file.clear();
  Symbolizer symbolizer(debug_file);
  symbolizer_ = &symbolizer;

  UserArgs user;
  std::string error;
  if (!parse_user_args(o_.qemu_args, &user, &error)) die(error);
  Settings settings(top + "/config.mak");
  // One-file firmware: the bios profile with this file.
  if (!user.bios.empty()) {
    settings.set("FIRMWARE", "bios");
    settings.set("BIOS", user.bios);
  }
  Tools tools;
  if (!find_tools(top, settings, &tools, &error)) die_plain(error);

  // A debugging session lasts as long as the user wants, unless TIMEOUT says.
  const std::string timeout_in = !env("TIMEOUT").empty() ? env("TIMEOUT") : o_.gdb ? "0" : "90s";
  if (!parse_run_duration(timeout_in, &timeout_s_)) die("bad TIMEOUT '" + timeout_in + "' (use e.g. 90, 90s, 2m)");
  timeout_text_ = seconds_text(timeout_s_);

  // A PVH boot runs no UEFI firmware: the machine keeps its own (SeaBIOS
  // and its PVH option ROM on q35, qboot on microvm).
  const std::vector<std::string> extra = split_blanks(env("QEMU_EXTRA"));
  std::vector<std::string> machine =
      machine_args(base_args(pvh ? std::vector<std::string>{} : tools.firmware_args), user, extra);

  // The accelerator: KVM only where the probe VM ran under it with this
  // machine type and CPU model (accel.h). An accelerator among the user's
  // arguments is theirs, but KVM is still probed, so that a host whose KVM
  // cannot run the guest gives a reason instead of a hang.
  std::string accel_why;
  if (!user.have_accel || user.user_accel == "kvm") {
    accel::Env aenv = accel_env();
    aenv.qemu = tools.qemu;
    aenv.probe_rom = top + "/build/accel-probe.rom";
    if (env("ACCEL_CACHE").empty()) aenv.cache = top + "/build/accel-probe.cache";
    const std::string want = user.have_accel ? "kvm" : (env("ACCEL").empty() ? "auto" : env("ACCEL"));
    accel::Decision d = accel::resolve(aenv, want, accel::shape_of(machine));
    if (d.status == 1) return finish(Outcome::error, "KVM was asked for, but " + d.why, false);
    if (d.status != 0) die_plain("error: " + (d.why.empty() ? "the accelerator could not be decided" : d.why));
    accel_ = d.used;
    accel_why = d.why;
    if (!user.have_accel) machine.insert(machine.end(), {"-accel", accel_});
  } else {
    accel_ = user.user_accel;
    accel_why = "given with the QEMU arguments";
  }
  say("accel: " + accel_ + " (" + accel_why + ")");
  // The stub drops a first word equal to the image name and makes it
  // argv[0], so the name goes first even without test arguments.
  const std::string guest_cmdline = name_ + (user.test_args.empty() ? "" : " " + user.test_args);
  {
    char tmpl[4096];
    std::snprintf(tmpl, sizeof(tmpl), "%s/ktest-run.XXXXXX", env("TMPDIR").empty() ? "/tmp" : env("TMPDIR").c_str());
    if (!mkdtemp(tmpl)) die("cannot create a temporary directory");
    g_work = tmpl;
  }
  install_signal_handlers();
  std::atexit(remove_work);
  if (o_.gdb) {
    gdb_image_ = image;
    gdb_symbols_ = pvh ? image : strip_suffix(image, ".efi") + ".debug";
    if (!is_file(gdb_symbols_)) die("--gdb needs " + gdb_symbols_ + " (run make)");
    gdb_socket_ = g_work + "/gdb.sock";
  }

  // The image the firmware starts: under the secboot profile a signed copy.
  std::string boot_image = image;
  if (!pvh && !firmware_image(tools, image, g_work + "/" + name_ + ".efi", &boot_image, &error)) {
    say(error);
    return finish(Outcome::error, "cannot sign the image for Secure Boot", false);
  }
  std::vector<std::string> cold_cmd = {tools.qemu};
  cold_cmd.insert(cold_cmd.end(), machine.begin(), machine.end());
  cold_cmd.insert(cold_cmd.end(), {"-kernel", boot_image, "-append", guest_cmdline});

  // --- cold or warm ----------------------------------------------------------
  // Warm: restore the snapshot of this VM shape (run/snapshot.h) and hand
  // the image over on fw_cfg. Anything that keeps the fast path from
  // applying leaves a one-line reason and boots cold; both paths end in
  // the same verdict.
  boot_ = "cold";
  const std::string loader = top + "/efi/loader.efi";
  const std::string dir = env("SNAPSHOT_DIR").empty() ? top + "/build/snapshots" : env("SNAPSHOT_DIR");
  const std::string cold_env = env("COLD_BOOT");
  if (pvh) {
    boot_reason_ = "PVH: no firmware to snapshot";
  } else if (!cold_env.empty() && cold_env != "0") {
    boot_reason_ = "COLD_BOOT=" + cold_env;
  } else if (!is_file(loader)) {
    boot_reason_ = "efi/loader.efi is not built (run make)";
  } else {
    std::vector<std::string> keyed = extra;
    keyed.insert(keyed.end(), user.args.begin(), user.args.end());
    boot_reason_ = snapshot::args_reason(keyed);
  }
  if (boot_reason_.empty() && !is_dir(dir) && !proc::make_dirs(dir))
    boot_reason_ = "cannot create the snapshot directory " + dir;
  std::string key, state;
  std::vector<std::string> warm_cmd;
  if (boot_reason_.empty()) {
    snapshot::ShapeInput in;
    in.dir = dir;
    in.qemu_path = tools.qemu_path;
    in.firmware = tools.firmware;
    in.firmware_files = tools.firmware_files;
    if (tools.firmware == "secboot") in.signed_by = tools.secboot_cert;
    in.loader = loader;
    in.machine = machine;
    std::string shape;
    if (!snapshot::key(in, &key, &shape)) {
      boot_reason_ = "cannot compute the snapshot key (QEMU or firmware unreadable)";
    } else {
      warm_cmd = {tools.qemu};
      warm_cmd.insert(warm_cmd.end(), machine.begin(), machine.end());
      warm_cmd.insert(warm_cmd.end(), {"-kernel", snapshot::file(dir, key, "loader.efi")});
      snapshot::Build b;
      b.dir = dir;
      b.key = key;
      b.shape = shape;
      b.loader = loader;
      b.qemu_cmd = warm_cmd;
      b.tools = &tools;
      const std::string bt = env("SNAPSHOT_BUILD_TIMEOUT").empty() ? "120" : env("SNAPSHOT_BUILD_TIMEOUT");
      if (!parse_run_duration(bt, &b.timeout_s)) die("bad SNAPSHOT_BUILD_TIMEOUT '" + bt + "'");
      const std::string keep = env("SNAPSHOT_KEEP").empty() ? "32" : env("SNAPSHOT_KEEP");
      if (keep[0] == '0' || keep.find_first_not_of("0123456789") != std::string::npos || keep.size() > 9)
        die("bad SNAPSHOT_KEEP '" + keep + "'");
      b.keep = static_cast<unsigned>(std::stoul(keep));
      std::string reason;
      switch (snapshot::prepare(b, &reason)) {
        case snapshot::Prepared::ready:
          boot_ = "warm";
          state = snapshot::file(dir, key, "state");
          break;
        case snapshot::Prepared::failed: boot_reason_ = reason; break;
        case snapshot::Prepared::interrupted: interrupted(pending_signal() ? pending_signal() : SIGTERM);
      }
    }
  }
  if (pending_signal()) interrupted(pending_signal());

  Boot b;
  if (boot_ == "warm") {
    {
      std::ofstream out(g_work + "/cmdline", std::ios::binary);
      out << guest_cmdline;
    }
    std::vector<std::string> run_cmd = warm_cmd, ram;
    snapshot::ram_args(snapshot::file(dir, key, "ram"), false, machine, &ram);
    run_cmd.insert(run_cmd.end(), ram.begin(), ram.end());
    run_cmd.insert(run_cmd.end(),
                   {"-fw_cfg", std::string("name=") + snapshot::kFwCfgImage + ",file=" + qemu_escape(boot_image),
                    "-fw_cfg", std::string("name=") + snapshot::kFwCfgCmdline + ",file=" + qemu_escape(g_work) + "/cmdline",
                    "-chardev", "pipe,id=efitest-qmp,path=" + qemu_escape(g_work) + "/qmp", "-mon",
                    "chardev=efitest-qmp,mode=control", "-incoming", "defer"});
    if (o_.gdb) for (std::string& a : gdb::qemu_args(gdb_socket_)) run_cmd.push_back(std::move(a));
    say("boot: warm (snapshot " + state + ")");
    say(shell_quote(run_cmd) + " 3<" + shell_quote({state}));
    const int state_fd = open(state.c_str(), O_RDONLY | O_CLOEXEC);
    if (mkfifo((g_work + "/qmp.in").c_str(), 0600) != 0 || mkfifo((g_work + "/qmp.out").c_str(), 0600) != 0 ||
        state_fd < 0) {
      if (state_fd >= 0) close(state_fd);
      snapshot::forget(dir, key);
      boot_ = "cold";
      boot_reason_ = "restoring the snapshot failed: cannot open " + state + "; retried cold";
    } else {
      b = boot_guest(run_cmd, true, state_fd);
      close(state_fd);
      // Only failures of the fast path itself are retried: a restore QEMU
      // refused before the guest said anything, or the loader's own
      // ERROR. Whatever the test did stands, exactly as in a cold boot.
      const result::Str loader_error = b.scan.loader_error();
      if (!b.kvm_failure.empty()) {
        // KVM itself failed: the verdict below says so, a cold boot would too.
      } else if (!b.restore_error.empty() || (!b.timed_out && b.status == 1 && b.raw_bytes == 0)) {
        std::string qerr = last_message(b.stderr_text, false);
        if (!b.restore_error.empty()) qerr = b.restore_error + (qerr.empty() ? "" : " (" + qerr + ")");
        snapshot::forget(dir, key);
        boot_ = "cold";
        boot_reason_ = "restoring the snapshot failed" + (qerr.empty() ? "" : ": " + qerr) + "; retried cold";
      } else if (loader_error.n) {
        boot_ = "cold";
        boot_reason_ = "the loader failed: " + std::string(loader_error.p, loader_error.n) + "; retried cold";
      }
    }
  }
  if (boot_ == "cold") {
    if (pvh) {
      say("boot: pvh (cold, -kernel " + strip_prefix(image, (top + "/").c_str()) + ", no UEFI firmware)");
    } else {
      say("boot: cold (" + boot_reason_ + ")");
    }
    if (o_.gdb) for (std::string& a : gdb::qemu_args(gdb_socket_)) cold_cmd.push_back(std::move(a));
    say(shell_quote(cold_cmd));
    b = boot_guest(cold_cmd, false, -1);
  }

  VerdictInput vin;
  vin.status = b.status;
  vin.timed_out = b.timed_out;
  vin.timeout = timeout_text_;
  vin.kvm_failure = b.kvm_failure;
  vin.qemu_stderr = b.stderr_text;
  take_scan(b.scan, &vin);
  counts_ = vin.counts;
  const VerdictResult v = decide(vin);
  return finish(v.outcome, v.detail);
}

}  // namespace

int run_test(const Options& o) {
  Run r(o);
  return r.go();
}

}  // namespace run
