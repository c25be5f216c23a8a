#include "accel.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "proc.h"
#include "textutil.h"

namespace accel {

namespace {

using text::join;
using text::split;

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// stat -L -c '%d:%i:%s:%Y:%t:%T' in the same words, for files that exist.
std::string file_id(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "";
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%lu:%lu:%lld:%lld:%x:%x", static_cast<unsigned long>(st.st_dev),
                static_cast<unsigned long>(st.st_ino), static_cast<long long>(st.st_size),
                static_cast<long long>(st.st_mtime), major(st.st_rdev), minor(st.st_rdev));
  return buf;
}

std::string trim_message(std::string s) {
  if (s.size() > 160) s.resize(160);
  return s;
}

// The last line of QEMU's stderr worth quoting: not empty, not a warning,
// not QEMU's own note that it was signalled.
std::string last_useful_line(const std::string& log) {
  std::string last;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.find("terminating on signal") != std::string::npos ||
        line.find("warning: ") != std::string::npos)
      continue;
    last = line;
  }
  return strip_qemu_prefix(trim_message(last));
}

// The step a probe ROM reports when it goes wrong (scripts/accel/probe.S,
// FAIL_*): QEMU exits with (code << 1) | 1.
const char* probe_step(int status) {
  switch (status) {
    case (1 << 1) | 1: return "INT3 did not reach its handler through the IDT";
    case (2 << 1) | 1: return "UD2 did not reach its handler through the IDT";
    case (3 << 1) | 1: return "the local APIC version register read wrong over MMIO";
    case (4 << 1) | 1: return "a self-IPI through the local APIC was not delivered";
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> shape_of(const std::vector<std::string>& args) {
  std::vector<std::string> shape;
  std::string cpu;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-machine" || a == "-M") {
      std::string value = i + 1 < args.size() ? args[i + 1] : "";
      std::vector<std::string> kept;
      for (const std::string& p : split(value, ','))
        if (p.rfind("accel=", 0) != 0 && !p.empty()) kept.push_back(p);
      if (!kept.empty()) {
        shape.push_back("-machine");
        shape.push_back(join(kept, ","));
      }
      ++i;
    } else if (a == "-cpu") {
      cpu = i + 1 < args.size() ? args[i + 1] : "";
      ++i;
    }
  }
  if (!cpu.empty()) {
    shape.push_back("-cpu");
    shape.push_back(cpu);
  }
  return shape;
}

bool is_kvm_failure(const std::string& line) {
  for (const char* s : {"KVM internal error", "emulation failure", "failed to set MSR", "kvm run failed"})
    if (line.find(s) != std::string::npos) return true;
  return false;
}

std::string strip_qemu_prefix(const std::string& line) {
  static constexpr char kPrefix[] = "qemu-system-x86_64: ";
  size_t at = line.find(kPrefix);
  return at == std::string::npos ? line : line.substr(at + sizeof(kPrefix) - 1);
}

std::string host_key(const Env& env) {
  std::string release = read_first_line("/proc/sys/kernel/osrelease");
  std::string qemu = proc::find_program(env.qemu);
  if (qemu.empty()) qemu = env.qemu;
  std::vector<std::string> ids;
  // The probe ROM too: a probe that checks more must not inherit the
  // answers of one that checked less.
  for (const std::string& f : {qemu, env.kvm_device, env.probe_rom}) {
    std::string id = file_id(f);
    if (!id.empty()) ids.push_back(id);
  }
  std::vector<std::string> mods;
  struct stat st;
  if (stat("/sys/module/kvm", &st) == 0) mods.push_back("kvm");
  for (const std::string& m : proc::list_dir("/sys/module"))
    if (m.rfind("kvm_", 0) == 0) mods.push_back(m);
  return "kernel=" + release + " qemu=" + qemu + " ids=" + join(ids, " ") + " modules=" + join(mods, " ");
}

std::string probe(const Env& env, const std::vector<std::string>& shape) {
  std::vector<std::string> argv = {env.qemu, "-nodefaults"};
  argv.insert(argv.end(), shape.begin(), shape.end());
  for (const char* a : {"-accel", "kvm", "-bios"}) argv.push_back(a);
  argv.push_back(env.probe_rom);
  for (const char* a : {"-m", "16M", "-display", "none", "-serial", "none", "-monitor", "none",
                        "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"})
    argv.push_back(a);
  std::string failure;
  proc::Run r = proc::run_watching_stderr(argv, env.probe_timeout_s, [&](const std::string& line) {
    if (failure.empty() && is_kvm_failure(line)) failure = strip_qemu_prefix(line);
    return failure.empty();  // false: end QEMU now
  });
  if (!failure.empty()) return failure;
  if (r.spawn_error) return "cannot run " + env.qemu;
  if (!r.timed_out && r.exited && r.status == kProbeStatus) return "";
  std::string msg;
  char bound[32];
  std::snprintf(bound, sizeof(bound), "%g", env.probe_timeout_s);
  if (r.timed_out) {
    msg = std::string("the probe VM did not reach its end within ") + bound + "s";
  } else if (r.exited && r.status == 0) {
    msg = "the probe VM reset instead of finishing";
  } else if (r.exited && probe_step(r.status)) {
    msg = std::string("the probe VM failed a step: ") + probe_step(r.status);
  } else if (!r.exited) {
    msg = "QEMU was killed by signal " + std::to_string(r.signal);
  } else {
    msg = "QEMU exited " + std::to_string(r.status);
  }
  std::string last = last_useful_line(r.stderr_text);
  if (!last.empty()) msg += ": " + last;
  return msg;
}

namespace {

// The last cached answer for `key`, if any.
bool cache_lookup(const std::string& file, const std::string& key, std::string* why) {
  std::ifstream in(file);
  std::string line;
  bool found = false;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    if (line.compare(0, tab, key) == 0 && tab == key.size()) {
      *why = line.substr(tab + 1);
      found = true;
    }
  }
  return found;
}

}  // namespace

std::string kvm_blocker(const Env& env, const std::vector<std::string>& shape) {
  if (access(env.kvm_device.c_str(), F_OK) != 0) return "no " + env.kvm_device;
  if (access(env.kvm_device.c_str(), R_OK | W_OK) != 0)
    return env.kvm_device + " is not readable and writable by this user";
  struct stat st;
  if (stat(env.probe_rom.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::string base = env.probe_rom.substr(env.probe_rom.rfind('/') + 1);
    return "the KVM probe " + base + " is not built (run make)";
  }
  std::string key = host_key(env) + " shape=" + join(shape, " ");
  for (char& c : key)
    if (c == '\t' || c == '\n') c = ' ';
  std::string why;
  if (cache_lookup(env.cache, key, &why)) return why;
  std::string dir = env.cache.substr(0, env.cache.rfind('/'));
  if (!dir.empty() && dir != env.cache) proc::make_dirs(dir);
  int lock = open((env.cache + ".lock").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (lock >= 0) {
    // Bounded: a stuck holder costs at most 60 s, then we probe anyway.
    for (int i = 0; i < 600 && flock(lock, LOCK_EX | LOCK_NB) != 0; ++i) {
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
  }
  // Another run may have probed while this one waited.
  if (!cache_lookup(env.cache, key, &why)) {
    std::string msg = probe(env, shape);
    why = msg.empty() ? "" : "KVM cannot run this guest: " + msg;
    std::string line = key + "\t" + why + "\n";
    int fd = open(env.cache.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      // One write of one line: appends from several runs do not interleave.
      if (write(fd, line.data(), line.size()) < 0) {
      }
      close(fd);
    }
  }
  if (lock >= 0) close(lock);
  return why;
}

Decision resolve(const Env& env, const std::string& want, const std::vector<std::string>& shape) {
  Decision d;
  if (want.empty() || want == "auto") {
    d.why = kvm_blocker(env, shape);
    d.used = d.why.empty() ? "kvm" : "tcg";
    if (d.why.empty()) d.why = "the KVM probe ran";
  } else if (want == "kvm") {
    d.used = "kvm";
    d.why = kvm_blocker(env, shape);
    if (!d.why.empty()) {
      d.status = 1;
    } else {
      d.why = "ACCEL=kvm, the KVM probe ran";
    }
  } else if (want == "tcg") {
    d.used = "tcg";
    d.why = "ACCEL=tcg";
  } else {
    d.status = 2;
    d.why = "ACCEL must be kvm, tcg or auto, not '" + want + "'";
  }
  return d;
}

}  // namespace accel
