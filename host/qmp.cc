#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

namespace qmp {

namespace {

// A write that reports a peer that is gone as an error instead of raising
// SIGPIPE: send(MSG_NOSIGNAL) on a socket, and on a FIFO a write with
// SIGPIPE blocked, any SIGPIPE it caused taken back before unblocking.
ssize_t write_nosignal(int fd, const char* p, size_t n) {
  ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
  if (w >= 0 || errno != ENOTSOCK) return w;
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  w = write(fd, p, n);
  const int saved = errno;
  if (w < 0 && saved == EPIPE) {
    const struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return w;
}

}  // namespace

bool Client::write_line(const std::string& line, std::string* error) {
  std::string s = line + "\n";
  const char* p = s.data();
  size_t n = s.size();
  while (n) {
    ssize_t w = write_nosignal(out_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      *error = "cannot write to QMP";
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool Client::read_message(double deadline, Json* out, std::string* error) {
  for (;;) {
    size_t nl;
    while ((nl = buf_.find('\n')) != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      Json j = Json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        *error = "QMP sent something that is not a JSON object: " + line.substr(0, 120);
        return false;
      }
      *out = std::move(j);
      return true;
    }
    const double now = proc::now();
    if (now >= deadline) {
      *error = "no answer from QMP in time";
      return false;
    }
    if (alive_ && !alive_()) {
      *error = "QEMU exited before it answered";
      return false;
    }
    pollfd p = {in_, POLLIN, 0};
    int wait_ms = static_cast<int>((deadline - now) * 1000) + 1;
    if (wait_ms > 50) wait_ms = 50;
    int r = poll(&p, 1, wait_ms);
    if (r < 0 && errno != EINTR) {
      *error = "cannot read QMP";
      return false;
    }
    if (r <= 0) continue;
    char chunk[4096];
    ssize_t n = read(in_, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      *error = "QMP closed the connection";
      return false;
    }
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

bool Client::greeting(double timeout_s, std::string* error) {
  const double deadline = proc::now() + timeout_s;
  Json j;
  while (read_message(deadline, &j, error)) {
    if (j.contains("QMP")) return true;
    if (j.contains("event")) {
      events_.push_back(j);
      continue;
    }
    *error = "QMP did not greet: " + j.dump().substr(0, 120);
    return false;
  }
  return false;
}

Reply Client::execute(const std::string& name, const Json& args, double timeout_s) {
  Json cmd = {{"execute", name}};
  if (!args.is_null()) cmd["arguments"] = args;
  return execute_json(cmd.dump(), timeout_s);
}

Reply Client::execute_json(const std::string& command, double timeout_s) {
  Reply r;
  Json cmd = Json::parse(command, nullptr, false);
  if (cmd.is_discarded() || !cmd.is_object() || !cmd.contains("execute")) {
    r.error = "not a QMP command: " + command.substr(0, 120);
    return r;
  }
  const unsigned id = next_id_++;
  cmd["id"] = id;
  if (!write_line(cmd.dump(), &r.error)) return r;
  const double deadline = proc::now() + timeout_s;
  Json j;
  while (read_message(deadline, &j, &r.error)) {
    if (j.contains("event")) {
      events_.push_back(j);
      continue;
    }
    if (!j.contains("id") || j["id"] != id) continue;  // someone else's
    if (j.contains("return")) {
      r.ok = true;
      r.value = j["return"];
      r.error.clear();
      return r;
    }
    r.value = j;
    if (j.contains("error") && j["error"].is_object()) {
      const Json& e = j["error"];
      r.error = e.value("class", std::string("Error")) + ": " + e.value("desc", std::string("(no description)"));
    } else {
      r.error = "unexpected QMP reply: " + j.dump().substr(0, 120);
    }
    return r;
  }
  return r;
}

}  // namespace qmp
