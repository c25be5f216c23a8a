// Processes and files for the host program: running a child with a bound,
// in its own process group, and the few file-system helpers the parts
// share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace proc {

// PATH lookup as a shell does it; a name with a slash is returned as is
// when it is executable. "" when not found.
std::string find_program(const std::string& name);

// mkdir -p; false on failure.
bool make_dirs(const std::string& path);

// The names in a directory, sorted, without . and ..
std::vector<std::string> list_dir(const std::string& path);

// A file's first `limit` bytes (all of it by default): false, and *out
// empty, when it cannot be opened. The second form gives "" then.
bool read_file(const std::string& path, std::string* out, size_t limit = SIZE_MAX);
std::string read_file(const std::string& path, size_t limit = SIZE_MAX);

struct Run {
  bool spawn_error = false;
  bool exited = false;  // normal exit: status is valid
  int status = 0;
  int signal = 0;       // the signal that ended it, when !exited
  bool timed_out = false;
  std::string stderr_text;
};

// Runs argv with stdin and stdout on /dev/null and stderr read line by
// line: on_line(line) returning false ends the child at once. The child
// has its own process group; at `timeout_s` (0: none) the group gets
// SIGTERM, and SIGKILL one second later if it is still there.
Run run_watching_stderr(const std::vector<std::string>& argv, double timeout_s,
                        const std::function<bool(const std::string&)>& on_line);

// Seconds on the monotonic clock.
double now();

}  // namespace proc
