// efitest qmp: one conversation with a QEMU monitor over the two FIFOs of
// a "pipe" chardev (or one UNIX socket path given twice), for the
// snapshot code of scripts/run.
//
//   efitest qmp --in PATH --out PATH [--pid PID] [--timeout S]
//               [--migrate-wait S] COMMAND_JSON...
//
// --in is what QEMU writes (path.out of the chardev), --out what it reads
// (path.in). Each command is sent after the reply to the one before, and
// matched to its reply by id; events and the greeting are skipped. With
// --migrate-wait, query-migrate is then asked until the migration has
// completed, failed or been cancelled. Prints the last reply's "return"
// as JSON and exits 0, or prints why not (one line) and exits 1.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "proc.h"
#include "qmp.h"

namespace {

int open_end(const std::string& path, int flags) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a = {};
    a.sun_family = AF_UNIX;
    if (fd < 0 || path.size() >= sizeof(a.sun_path)) return -1;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }
  // Read-write opens of a FIFO do not wait for the other end.
  return open(path.c_str(), flags | O_CLOEXEC);
}

int say(int status, const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  return status;
}

}  // namespace

int cmd_qmp(int argc, char** argv) {
  std::string in, out;
  long pid = 0;
  double timeout = 10, migrate_wait = -1;
  std::vector<std::string> commands;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--in" && (v = value())) {
      in = v;
    } else if (a == "--out" && (v = value())) {
      out = v;
    } else if (a == "--pid" && (v = value())) {
      pid = std::strtol(v, nullptr, 10);
    } else if (a == "--timeout" && (v = value())) {
      timeout = std::strtod(v, nullptr);
    } else if (a == "--migrate-wait" && (v = value())) {
      migrate_wait = std::strtod(v, nullptr);
    } else if (!a.empty() && a[0] == '{') {
      commands.push_back(a);
    } else {
      std::fputs("usage: efitest qmp --in PATH --out PATH [--pid PID] [--timeout S] [--migrate-wait S] JSON...\n",
                 stderr);
      return 2;
    }
  }
  if (in.empty() || out.empty() || timeout <= 0) {
    std::fputs("efitest qmp: --in, --out and a positive --timeout are needed\n", stderr);
    return 2;
  }
  int in_fd = open_end(in, O_RDWR), out_fd = in == out ? in_fd : open_end(out, O_RDWR);
  if (in_fd < 0 || out_fd < 0) return say(1, "cannot open the QMP channel " + in);
  qmp::Client client(in_fd, out_fd);
  if (pid > 0) client.set_alive([pid] { return kill(static_cast<pid_t>(pid), 0) == 0; });
  qmp::Reply last;
  last.ok = true;
  for (const std::string& c : commands) {
    last = client.execute_json(c, timeout);
    if (!last.ok) return say(1, "QMP: " + last.error.substr(0, 160));
  }
  if (migrate_wait >= 0) {
    const double deadline = proc::now() + migrate_wait;
    for (;;) {
      last = client.execute("query-migrate", nullptr, timeout);
      if (!last.ok) return say(1, "QMP: " + last.error.substr(0, 160));
      const std::string status = last.value.value("status", std::string());
      if (status == "completed") break;
      if (status == "failed" || status == "cancelled")
        return say(1, "migration failed: " + last.value.dump().substr(0, 160));
      if (proc::now() >= deadline) {
        char b[32];
        std::snprintf(b, sizeof(b), "%g", migrate_wait);
        return say(1, std::string("saving did not finish within ") + b + "s");
      }
      const struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
  }
  return say(0, last.value.is_null() ? "{}" : last.value.dump());
}
