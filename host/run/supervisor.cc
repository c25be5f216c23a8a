#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "../accel.h"
#include "../proc.h"
#include "../qmp.h"
#include "snapshot.h"
#include "symbolize.h"

namespace run {

namespace {

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) {
  if (!g_signal) g_signal = sig;
}

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

void write_out(int fd, const std::string& s, bool* broken) {
  const char* p = s.data();
  size_t n = s.size();
  while (n && !*broken) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      *broken = true;
      return;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads what is there into `buf`; false at EOF or on an error.
bool read_some(int fd, std::string* buf) {
  char chunk[16384];
  ssize_t n = read(fd, chunk, sizeof(chunk));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  buf->append(chunk, static_cast<size_t>(n));
  return true;
}


}  // namespace

void install_signal_handlers() {
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int pending_signal() { return g_signal; }

const char* signal_word(int sig) { return sig == SIGINT ? "INT" : "TERM"; }

bool Child::start(const Spawn& s) {
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    setpgid(0, 0);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD}) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Out of the way of 0..3 first, so that no target clobbers a source.
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    auto high = [&](int fd) { return fcntl(fd >= 0 ? fd : null, F_DUPFD_CLOEXEC, 10); };
    int in = high(-1), out = high(s.stdout_fd), err = high(s.stderr_fd), three = s.fd3 >= 0 ? high(s.fd3) : -1;
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (three >= 0) dup2(three, 3);
    std::vector<char*> args;
    for (const std::string& a : s.argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid_, pid_);
#ifdef SYS_pidfd_open
  if (pidfd_ >= 0) close(pidfd_);
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd_ >= 0) fcntl(pidfd_, F_SETFD, FD_CLOEXEC);
#endif
  done_ = false;
  return true;
}

Child::~Child() {
  if (pidfd_ >= 0) close(pidfd_);
}

bool Child::poll() {
  if (done_ || pid_ <= 0) return true;
  int ws = 0;
  pid_t w = waitpid(pid_, &ws, WNOHANG);
  if (w != pid_) return false;
  done_ = true;
  signaled_ = WIFSIGNALED(ws);
  status_ = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  return true;
}

void Child::signal_group(int sig) {
  if (done_ || pid_ <= 0) return;
  kill(-pid_, sig);
  kill(pid_, sig);
}

void Child::end(double grace) {
  if (poll()) return;
  signal_group(SIGTERM);
  const double until = proc::now() + grace;
  while (!poll() && proc::now() < until) sleep_ms(20);
  if (done_) return;
  signal_group(SIGKILL);
  int ws = 0;
  while (waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
  }
  done_ = true;
  signaled_ = WIFSIGNALED(ws);
  status_ = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

Captured capture(const std::vector<std::string>& argv, bool with_stderr, double timeout_s) {
  Captured c;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return c;
  Child ch;
  if (!ch.start({argv, fds[1], with_stderr ? fds[1] : -1, -1})) {
    close(fds[0]);
    close(fds[1]);
    return c;
  }
  close(fds[1]);
  const double until = proc::now() + timeout_s;
  bool open_pipe = true;
  while (open_pipe && proc::now() < until) {
    pollfd p = {fds[0], POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) open_pipe = read_some(fds[0], &c.out);
  }
  close(fds[0]);
  const bool in_time = !open_pipe;
  ch.end(in_time ? 5 : 0);
  c.status = in_time ? ch.status() : -1;
  return c;
}

std::string last_message(const std::string& text, bool skip_warnings) {
  std::string best;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r\f\v") == std::string::npos) continue;
    if (skip_warnings && line.find("warning: ") != std::string::npos) continue;
    best = line;
  }
  return best.substr(0, 160);
}

Boot boot(const BootSpec& spec) {
  Boot b;
  int serial[2], err[2];
  if (pipe2(serial, O_CLOEXEC) != 0) {
    b.status = 127;
    return b;
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(serial[0]);
    close(serial[1]);
    b.status = 127;
    return b;
  }
  // Read-write opens of a FIFO do not wait for the other end, so QEMU's
  // opens of the chardev never block.
  int qin = -1, qout = -1;
  if (!spec.qmp_base.empty()) {
    qin = open((spec.qmp_base + ".in").c_str(), O_RDWR | O_CLOEXEC);
    qout = open((spec.qmp_base + ".out").c_str(), O_RDWR | O_CLOEXEC);
  }
  Child q;
  const bool started = q.start({spec.argv, serial[1], err[1], spec.state_fd});
  close(serial[1]);
  close(err[1]);
  if (!started) {
    close(serial[0]);
    close(err[0]);
    if (qin >= 0) close(qin);
    if (qout >= 0) close(qout);
    b.status = 127;
    b.stderr_text = "cannot start " + spec.argv[0] + "\n";
    return b;
  }
  if (!spec.qmp_base.empty()) {
    if (qin < 0 || qout < 0) {
      b.restore_error = "cannot open the QMP channel " + spec.qmp_base;
    } else {
      qmp::Client client(qout, qin);
      client.set_alive([&q] { return !pending_signal() && !q.poll(); });
      for (const char* cmd : snapshot::kRestoreQmp) {
        qmp::Reply r = client.execute_json(cmd, 30);
        if (!r.ok) {
          b.restore_error = ("QMP: " + r.error.substr(0, 160)).substr(0, 160);
          break;
        }
      }
    }
    if (!b.restore_error.empty()) q.signal_group(SIGTERM);
    if (qin >= 0) close(qin);
    if (qout >= 0) close(qout);
  }

  const double start = proc::now();
  double kill_at = 0, drain_until = 0;
  bool serial_open = true, err_open = true, stdout_broken = false;
  std::string serial_buf, err_line;
  auto serial_line = [&](const std::string& line) {
    b.raw += line;
    b.raw += '\n';
    b.raw_bytes += line.size() + 1;
    if (spec.on_serial_line) spec.on_serial_line(line);
    std::string clean = line;
    clean.resize(result::clean_line(clean.data(), clean.size()));
    b.scan.feed(result::Str(clean.data(), clean.size()));
    std::string shown = spec.symbolizer ? spec.symbolizer->annotate(line) : line;
    // OVMF clears the screen on the serial console; that stays out of
    // the terminal (the raw copy keeps it).
    write_out(1, strip_terminal_escapes(shown) + "\n", &stdout_broken);
  };
  auto err_text = [&](const std::string& line) {
    if (spec.watch_kvm && b.kvm_failure.empty() && accel::is_kvm_failure(line)) {
      // KVM that fails pauses the VM: waiting out the timeout would not help.
      b.kvm_failure = accel::strip_qemu_prefix(line);
      q.signal_group(SIGTERM);
    }
  };
  while (serial_open || err_open || !q.done()) {
    if (const int sig = pending_signal()) {
      b.interrupted = sig;
      q.end(5);
      break;
    }
    const double now = proc::now();
    if (spec.timeout_s > 0 && !b.timed_out && !q.done() && now - start >= spec.timeout_s) {
      b.timed_out = true;
      q.signal_group(SIGTERM);
      kill_at = now + 5;
    }
    if (kill_at && now >= kill_at && !q.done()) {
      q.signal_group(SIGKILL);
      kill_at = 0;
    }
    if (q.done()) {
      // Something QEMU left behind that still holds a pipe is not waited
      // for beyond two seconds.
      if (!drain_until) drain_until = now + 2;
      if (now > drain_until) break;
    }
    // QEMU's exit is waited for on its pidfd, so that the run ends the
    // moment QEMU does rather than at the next nap.
    pollfd fds[3];
    nfds_t n = 0;
    if (serial_open) fds[n++] = {serial[0], POLLIN, 0};
    if (err_open) fds[n++] = {err[0], POLLIN, 0};
    if (q.exit_fd() >= 0) fds[n++] = {q.exit_fd(), POLLIN, 0};
    if (n == 0) {
      sleep_ms(20);
    } else if (::poll(fds, n, 50) > 0) {
      for (nfds_t i = 0; i < n; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (fds[i].fd == q.exit_fd()) {
          q.poll();
        } else if (fds[i].fd == serial[0]) {
          serial_open = read_some(serial[0], &serial_buf);
          size_t nl;
          while ((nl = serial_buf.find('\n')) != std::string::npos) {
            std::string line = serial_buf.substr(0, nl);
            serial_buf.erase(0, nl + 1);
            serial_line(line);
          }
        } else {
          const size_t before = b.stderr_text.size();
          err_open = read_some(err[0], &b.stderr_text);
          for (size_t k = before; k < b.stderr_text.size(); ++k) {
            if (b.stderr_text[k] == '\n') {
              err_text(err_line);
              err_line.clear();
            } else {
              err_line.push_back(b.stderr_text[k]);
            }
          }
        }
      }
    }
    q.poll();
  }
  if (!serial_buf.empty() && !b.interrupted) serial_line(serial_buf);
  if (!err_line.empty()) err_text(err_line);
  close(serial[0]);
  close(err[0]);
  if (!q.done()) q.end(5);
  b.status = q.status();
  return b;
}

}  // namespace run
