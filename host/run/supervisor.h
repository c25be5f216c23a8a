// The supervisor of one guest: QEMU in its own process group with stdin
// on /dev/null (so -serial stdio can neither read keys nor change the
// terminal, and a run in the background is not stopped by SIGTTIN), the
// per-test timeout (SIGTERM to the group, SIGKILL 5 s later), SIGINT and
// SIGTERM of the runner (QEMU is ended first), the KVM watcher of QEMU's
// stderr (a KVM failure in the middle of a test ends QEMU at once), and
// the serial output streamed line by line: to stdout without terminal
// escapes, backtrace frames symbolized, with a raw copy kept.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "result/guest_output.h"

namespace run {

// SIGINT and SIGTERM are remembered (no SA_RESTART, so a wait returns at
// once); SIGPIPE is ignored, so that a closed stdout ends no run.
void install_signal_handlers();
// The signal that asked the run to stop, or 0.
int pending_signal();
// "INT" or "TERM".
const char* signal_word(int sig);

struct Spawn {
  std::vector<std::string> argv;
  int stdout_fd = -1;  // -1: /dev/null
  int stderr_fd = -1;  // -1: /dev/null
  int fd3 = -1;        // becomes descriptor 3 (a snapshot to restore)
};

// A child in its own process group.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();
  bool start(const Spawn& s);
  pid_t pid() const { return pid_; }
  // A descriptor that polls readable once the child has exited (a
  // pidfd), or -1 where the kernel has none: then the caller naps.
  int exit_fd() const { return done_ ? -1 : pidfd_; }
  // Reaps it if it has exited; true once it has.
  bool poll();
  bool done() const { return done_; }
  // Exit status, or 128 + the signal that ended it.
  int status() const { return status_; }
  bool signaled() const { return signaled_; }
  void signal_group(int sig);
  // SIGTERM, then SIGKILL after `grace` seconds; waits for it.
  void end(double grace);

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool done_ = false, signaled_ = false;
  int status_ = 0;
};

struct Captured {
  int status = -1;  // -1: could not be started or timed out
  std::string out;
};
// Runs argv (stdin /dev/null) and returns its stdout (and stderr with
// with_stderr; otherwise stderr is dropped), ended after timeout_s.
Captured capture(const std::vector<std::string>& argv, bool with_stderr, double timeout_s);

class Symbolizer;

// What a `boot` is asked to do beyond running argv.
struct BootSpec {
  std::vector<std::string> argv;
  double timeout_s = 0;  // 0: none
  bool watch_kvm = false;
  int state_fd = -1;  // restore: the stream QEMU loads from descriptor 3
  // restore: the FIFOs <qmp_base>.in/.out of QEMU's pipe chardev, through
  // which the restore is started.
  std::string qmp_base;
  const Symbolizer* symbolizer = nullptr;
  // Each serial line as the guest wrote it, before it is shown.
  std::function<void(const std::string&)> on_serial_line;
};

struct Boot {
  bool timed_out = false;
  int status = 0;  // QEMU's exit status, or 128 + the signal that ended it
  int interrupted = 0;  // the runner's signal that stopped the boot
  std::string kvm_failure;   // QEMU's message when KVM failed
  std::string restore_error; // why the restore could not be started
  std::string stderr_text;   // QEMU's stderr
  size_t raw_bytes = 0;      // serial output, as written
  std::string raw;           // the raw copy
  result::OutputScan scan;   // what the output says
};

// Runs one guest to its end; stdout gets its serial output.
Boot boot(const BootSpec& spec);

// The last line of `text` that is not blank (and, with skip_warnings,
// does not contain "warning: "), cut to 160 bytes.
std::string last_message(const std::string& text, bool skip_warnings);

}  // namespace run
