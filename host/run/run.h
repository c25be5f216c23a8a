// One test run, as `scripts/run TEST [QEMU_ARGS...]` (efitest run): the
// image and its name, the QEMU command line (run/qemu_cmdline.h), the
// accelerator (accel.h), warm or cold (run/snapshot.h), the guest under
// the supervisor (run/supervisor.h) and the verdict (run/verdict.h). The
// suite runner (suite.cc) calls run_test in a child of its own for each
// test and reads the Record it writes.
#pragma once

#include <string>
#include <vector>

#include "record.h"

namespace run {

struct Options {
  std::string top;                     // the tree: x86/, efi/, build/
  std::string test;                    // TEST as given
  std::vector<std::string> qemu_args;  // QEMU_ARGS
  std::string result_file;             // RUN_RESULT_FILE, or ""
  int record_fd = -1;                  // where the Record also goes, or -1
  bool gdb = false;                    // --gdb: wait for a debugger (run/gdb.h)
};

// Runs the test and returns the exit status (lib/rt/verdict.h). Errors
// that leave no verdict (an unknown test, a bad setting) print why and end
// the process with kExitError, as scripts/run always has.
int run_test(const Options& o);

// scripts/run -h.
std::string usage_text();

}  // namespace run
