// Building a snapshot (run/snapshot.h): boot the loader once, wait for its
// ready line, save the VM through QMP and rename the files into place.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "image/pe.h"
#include "../proc.h"
#include "qemu_cmdline.h"
#include "../qmp.h"
#include "snapshot.h"
#include "supervisor.h"
#include "../accel.h"
#include "result/guest_output.h"

namespace run::snapshot {

namespace {

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

void remove_tree(const std::string& dir) {
  for (const std::string& f : proc::list_dir(dir)) unlink((dir + "/" + f).c_str());
  rmdir(dir.c_str());
}

// The last "ERROR: " line of the serial output, cleaned.
std::string last_guest_error(const std::string& serial) {
  std::istringstream in(serial);
  std::string line, last;
  while (std::getline(in, line)) {
    line.resize(result::clean_line(line.data(), line.size()));
    if (line.rfind("ERROR: ", 0) == 0) last = line;
  }
  return last;
}

// The loader as an EFI boot-service driver (PE subsystem 10 -> 11, checksum
// updated), through petool's PE code. The firmware then loads it into
// boot-services memory, which a test sees as free after ExitBootServices,
// exactly as if no loader had been there; as an application it would stay
// loader memory and split a usable range of the test's memory map. OVMF
// starts either kind through -kernel.
bool driver_copy(const std::string& src, const std::string& dst) {
  pe::Image img;
  if (!pe::parse(src.c_str(), img)) return false;
  if (img.u16(img.opt + pe::kOptSubsystem) != pe::kSubsystemEfiApplication) return false;
  img.put16(img.opt + pe::kOptSubsystem, pe::kSubsystemEfiBootServiceDriver);
  img.put32(img.opt + pe::kOptCheckSum, pe::checksum(img));
  std::string error;
  return pe::write(img, dst, &error);
}

// A path inside `exec:` for QEMU's shell: single-quoted.
std::string exec_uri(const std::string& path) {
  std::string q = "'";
  for (char c : path) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return "exec:cat > " + q + "'";
}

// Boots cmd, waits for the ready line, saves the VM to `out` and ends
// QEMU; the RAM file then holds the RAM. "" on success, else why not;
// *interrupted when the runner was asked to stop.
std::string build(const std::string& out, double t, std::vector<std::string> cmd, bool* interrupted) {
  char tmpl[4096];
  const char* tmpdir = std::getenv("TMPDIR");
  std::snprintf(tmpl, sizeof(tmpl), "%s/efitest-snap.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(tmpl)) return "cannot create a temporary directory";
  const std::string tmp = tmpl;
  const std::string base = tmp + "/qmp";
  if (mkfifo((base + ".in").c_str(), 0600) != 0 || mkfifo((base + ".out").c_str(), 0600) != 0) {
    remove_tree(tmp);
    return "cannot create the QMP FIFOs";
  }
  // The monitor talks over a pair of FIFOs (QEMU's pipe chardev).
  // Read-write opens of a FIFO do not wait for the other end.
  int qin = open((base + ".in").c_str(), O_RDWR | O_CLOEXEC);
  int qout = open((base + ".out").c_str(), O_RDWR | O_CLOEXEC);
  int serial = open((tmp + "/serial").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = open((tmp + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cmd.insert(cmd.end(), {"-chardev", "pipe,id=efitest-qmp,path=" + qemu_escape(base), "-mon",
                         "chardev=efitest-qmp,mode=control"});
  Child q;
  std::string reason;
  const bool started = qin >= 0 && qout >= 0 && serial >= 0 && err >= 0 && q.start({cmd, serial, err, -1});
  if (serial >= 0) close(serial);
  if (err >= 0) close(err);
  if (!started) reason = "cannot start QEMU";
  const double deadline = proc::now() + t;
  const std::string limit = seconds_text(t);
  while (reason.empty()) {
    if (pending_signal()) {
      *interrupted = true;
      reason = "interrupted";
      break;
    }
    const std::string text = proc::read_file(tmp + "/serial");
    if (text.find(kReadyLine) != std::string::npos) break;
    if (q.poll()) {
      std::string why = last_guest_error(text);
      if (why.empty()) why = last_message(proc::read_file(tmp + "/stderr"), false);
      reason = "QEMU exited before the loader was ready" + (why.empty() ? "" : ": " + why.substr(0, 160));
      break;
    }
    // KVM that fails pauses the VM: waiting out the deadline would not help.
    {
      std::istringstream in(proc::read_file(tmp + "/stderr"));
      std::string line;
      while (reason.empty() && std::getline(in, line))
        if (accel::is_kvm_failure(line)) reason = "KVM failed while the firmware booted: " + line.substr(0, 160);
      if (!reason.empty()) break;
    }
    if (proc::now() >= deadline) {
      reason = "the loader was not ready within " + limit + "s";
      break;
    }
    sleep_ms(50);
  }
  if (reason.empty()) {
    qmp::Client client(qout, qin);
    client.set_alive([&q] { return !pending_signal() && !q.poll(); });
    // The default bandwidth cap (32 MiB/s) would make saving take seconds;
    // guest RAM stays in the shared RAM file, out of the stream.
    const std::string commands[] = {
        R"({"execute":"qmp_capabilities"})",
        R"({"execute":"migrate-set-parameters","arguments":{"max-bandwidth":107374182400}})",
        R"({"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}})",
        qmp::Json{{"execute", "migrate"}, {"arguments", {{"uri", exec_uri(out)}}}}.dump(),
    };
    for (const std::string& c : commands) {
      qmp::Reply r = client.execute_json(c, 10);
      if (!r.ok) {
        reason = "QMP: " + r.error.substr(0, 160);
        break;
      }
    }
    const double left = deadline - proc::now() > 1 ? deadline - proc::now() : 1;
    const double save_deadline = proc::now() + left;
    while (reason.empty()) {
      qmp::Reply r = client.execute("query-migrate", nullptr, 10);
      if (!r.ok) {
        reason = "QMP: " + r.error.substr(0, 160);
        break;
      }
      const std::string status = r.value.value("status", std::string());
      if (status == "completed") break;
      if (status == "failed" || status == "cancelled") {
        reason = "migration failed: " + r.value.dump().substr(0, 160);
        break;
      }
      if (proc::now() >= save_deadline) {
        reason = "saving did not finish within " + limit + "s";
        break;
      }
      sleep_ms(20);
    }
    if (pending_signal()) *interrupted = true;
    if (reason.empty()) client.execute("quit", nullptr, 10);
  }
  if (qin >= 0) close(qin);
  if (qout >= 0) close(qout);
  q.end(5);
  remove_tree(tmp);
  struct stat st;
  if (reason.empty() && (stat(out.c_str(), &st) != 0 || st.st_size == 0)) reason = "QEMU wrote an empty snapshot";
  return reason;
}

// The lock, waited for at most t seconds.
int lock_file(const std::string& path, double t, bool* timed_out) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  const double until = proc::now() + t;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || proc::now() >= until || pending_signal()) {
      close(fd);
      *timed_out = true;
      return -1;
    }
    sleep_ms(50);
  }
  return fd;
}

}  // namespace

Prepared prepare(const Build& b, std::string* reason) {
  const std::string base = b.dir + "/" + b.key;
  if (complete(b.dir, b.key)) return Prepared::ready;
  bool lock_timeout = false;
  const int lock = lock_file(base + ".lock", b.timeout_s, &lock_timeout);
  if (lock < 0) {
    if (pending_signal()) return Prepared::interrupted;
    *reason = lock_timeout ? "another run held the snapshot lock for more than " + seconds_text(b.timeout_s) + "s"
                           : "cannot write " + base + ".lock";
    return Prepared::failed;
  }
  auto fail = [&](const std::string& why) {
    close(lock);
    *reason = why;
    return Prepared::failed;
  };
  // Under the lock: another run may have finished the build meanwhile.
  if (complete(b.dir, b.key)) {
    close(lock);
    return Prepared::ready;
  }
  struct stat st;
  const std::string failed = base + ".failed";
  if (stat(failed.c_str(), &st) == 0 && time(nullptr) - st.st_mtime < kFailedTtlMin * 60) {
    std::string why = proc::read_file(failed).substr(0, 200);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return fail("building this snapshot failed minutes ago: " + why + " (remove " + failed + " to retry)");
  }
  // Whatever is here without a marker is the remains of a build that died.
  unlink((base + ".state").c_str());
  unlink((base + ".ram").c_str());
  for (const std::string& n : proc::list_dir(b.dir))
    if (n.rfind(b.key + ".", 0) == 0 && n.find(".tmp.") != std::string::npos) unlink((b.dir + "/" + n).c_str());
  const std::string pid = std::to_string(getpid());
  const std::string tmp_state = base + ".state.tmp." + pid, tmp_ram = base + ".ram.tmp." + pid,
                    tmp_shape = base + ".shape.tmp." + pid;
  std::vector<std::string> ram;
  // The machine arguments are the command without QEMU and -kernel.
  if (!ram_args(tmp_ram, true, b.qemu_cmd, &ram)) return fail("the machine has no plain -m size for the RAM file");
  const std::string loader = base + ".loader.efi";
  if (!driver_copy(b.loader, loader)) return fail(b.loader + " is not a PE32+ EFI application");
  // Under Secure Boot the firmware starts only a signed loader.
  std::string signed_loader, sign_error;
  if (!firmware_image(*b.tools, loader, loader, &signed_loader, &sign_error)) {
    unlink(loader.c_str());
    return fail("signing the loader failed: " + sign_error);
  }
  // Said once per build, so that a slow first run explains itself.
  std::fprintf(stderr, "boot: building snapshot %s for this VM shape (one cold boot)\n", b.key.c_str());
  std::fflush(stderr);
  std::vector<std::string> cmd = b.qemu_cmd;
  cmd.insert(cmd.end(), ram.begin(), ram.end());
  bool interrupted = false;
  const std::string why = build(tmp_state, b.timeout_s, cmd, &interrupted);
  if (interrupted) {
    unlink(tmp_state.c_str());
    unlink(tmp_ram.c_str());
    close(lock);
    return Prepared::interrupted;
  }
  if (!why.empty()) {
    unlink(tmp_state.c_str());
    unlink(tmp_ram.c_str());
    std::ofstream(failed, std::ios::trunc) << why << "\n";
    return fail("building the snapshot failed: " + why);
  }
  unlink(failed.c_str());
  {
    std::ofstream out(tmp_shape, std::ios::trunc);
    out << b.shape << "\n";
  }
  const bool moved = rename(tmp_ram.c_str(), (base + ".ram").c_str()) == 0 &&
                     rename(tmp_state.c_str(), (base + ".state").c_str()) == 0 &&
                     rename(tmp_shape.c_str(), (base + ".shape").c_str()) == 0;
  close(lock);
  if (!moved) {
    unlink(tmp_state.c_str());
    unlink(tmp_ram.c_str());
    unlink(tmp_shape.c_str());
    *reason = "cannot move the snapshot into " + b.dir;
    return Prepared::failed;
  }
  prune(b.dir, b.keep);
  return Prepared::ready;
}

}  // namespace run::snapshot
