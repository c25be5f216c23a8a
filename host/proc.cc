#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace proc {

double now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string find_program(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string cand = (end > start ? p.substr(start, end - start) : std::string(".")) + "/" + name;
    struct stat st;
    if (stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(cand.c_str(), X_OK) == 0)
      return cand;
    start = end + 1;
  }
  return "";
}

bool make_dirs(const std::string& path) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty() && mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return false;
    }
    if (i < path.size()) cur.push_back(path[i]);
  }
  return true;
}

bool read_file(const std::string& path, std::string* out, size_t limit) {
  out->clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  char buf[4096];
  while (out->size() < limit && (in.read(buf, sizeof(buf)), in.gcount() > 0))
    out->append(buf, static_cast<size_t>(in.gcount()));
  if (out->size() > limit) out->resize(limit);
  return true;
}

std::string read_file(const std::string& path, size_t limit) {
  std::string s;
  read_file(path, &s, limit);
  return s;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) out.push_back(e->d_name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Run run_watching_stderr(const std::vector<std::string>& argv, double timeout_s,
                        const std::function<bool(const std::string&)>& on_line) {
  Run r;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    r.spawn_error = true;
    return r;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    r.spawn_error = true;
    return r;
  }
  if (pid == 0) {
    setpgid(0, 0);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    dup2(fds[1], 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  setpgid(pid, pid);
  close(fds[1]);
  const double start = now();
  double kill_at = 0;  // when SIGKILL follows the SIGTERM we sent
  bool open_pipe = true;
  std::string line;
  auto terminate = [&] {
    if (kill_at == 0) {
      kill(-pid, SIGTERM);
      kill(pid, SIGTERM);
      kill_at = now() + 1.0;
    }
  };
  int wstatus = 0;
  bool reaped = false;
  while (!reaped) {
    double t = now();
    if (timeout_s > 0 && !r.timed_out && t - start >= timeout_s) {
      r.timed_out = true;
      terminate();
    }
    if (kill_at != 0 && t >= kill_at) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
    }
    if (open_pipe) {
      struct pollfd p = {fds[0], POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        char buf[4096];
        ssize_t n = read(fds[0], buf, sizeof(buf));
        if (n <= 0) {
          open_pipe = false;
        } else {
          for (ssize_t i = 0; i < n; ++i) {
            r.stderr_text.push_back(buf[i]);
            if (buf[i] == '\n') {
              if (!on_line(line)) terminate();
              line.clear();
            } else {
              line.push_back(buf[i]);
            }
          }
        }
      }
    } else {
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    pid_t w = waitpid(pid, &wstatus, WNOHANG);
    if (w == pid) reaped = true;
  }
  // What the child wrote just before it ended; a grandchild that still
  // holds the pipe is not waited for.
  while (open_pipe) {
    struct pollfd p = {fds[0], POLLIN, 0};
    char buf[4096];
    ssize_t n = poll(&p, 1, 0) > 0 ? read(fds[0], buf, sizeof(buf)) : 0;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      r.stderr_text.push_back(buf[i]);
      if (buf[i] == '\n') {
        on_line(line);
        line.clear();
      } else {
        line.push_back(buf[i]);
      }
    }
  }
  if (!line.empty()) on_line(line);
  close(fds[0]);
  // Whatever the group left behind goes with it.
  kill(-pid, SIGKILL);
  if (WIFEXITED(wstatus)) {
    r.exited = true;
    r.status = WEXITSTATUS(wstatus);
    if (r.status == 127 && r.stderr_text.empty()) r.spawn_error = true;
  } else if (WIFSIGNALED(wstatus)) {
    r.signal = WTERMSIG(wstatus);
  }
  return r;
}

}  // namespace proc
