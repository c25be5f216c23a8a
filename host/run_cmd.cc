// efitest run: one test, as scripts/run (which only execs this).
//
//   efitest run [--top DIR] [--gdb] TEST [QEMU_ARGS...]
//   efitest run [--top DIR] --find-tools
//
// DIR is the tree (x86/, efi/, build/); by default the one this program
// was built into (DIR/build/efitest).
#include <limits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "rt/verdict.h"
#include "run/qemu_cmdline.h"
#include "run/run.h"

namespace {

std::string default_top() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  for (int i = 0; i < 2; ++i) {
    size_t s = p.rfind('/');
    p = s == std::string::npos || s == 0 ? "/" : p.substr(0, s);
  }
  return p;
}

}  // namespace

namespace run {

std::string usage_text() {
  std::string u = R"USAGE(usage: scripts/run [--gdb] TEST [QEMU_ARGS...]

Boots TEST under QEMU + UEFI firmware (OVMF, or the profile FIRMWARE
names). TEST is a path to an image (x86/msr.efi), a name relative to x86/
with or without .efi (msr.efi, msr, negative/fail).

Guest serial output goes to stdout as it arrives. Lines with backtrace
frames (image+0x<offset>) are annotated with function and file:line when
x86/<name>.debug exists. How the guest boots ("boot: warm (...)" or
"boot: cold (<reason>)") and the QEMU command line (first), and the result
line (last, e.g. "PASS msr (12 tests, 2 skipped)") go to stderr.

Fast runs: the firmware boots once per VM shape (QEMU binary and version,
firmware contents, machine arguments); the VM is saved while a loader waits
and restored for each test, with the image handed over on fw_cfg. Guest
RAM stays in a sparse file that every restore maps copy-on-write, so a
restore costs the same at any -m. A test sees the same argv and memory
map shape either way. QEMU arguments outside -smp, -m (a plain size),
-cpu, -accel, -enable-kvm, -machine, -global, -vga and -device without a
host backend, confidential VMs, and a failed restore boot cold instead
(docs/running.md, "Fast runs").

QEMU_ARGS are appended to the base command line and replace its defaults
(-cpu @CPU@, -m @MEM@, -smp @SMP@, -accel). `-append "ARGS"` is not passed
to QEMU as is: ARGS become the test's arguments; the guest always gets
-append "<name> ARGS", and argv[0] is the image name.

--gdb: the guest waits before main() with a gdbstub, and stderr gets one
line "gdb: <command>" that connects gdb, loads x86/<name>.debug at the
image's load address and stops at main (docs/running.md, "Debugging with
gdb"). TIMEOUT defaults to 0 (never) then.

Exit status: 0 PASS, 1 FAIL, 77 SKIP, 99 ERROR, 124 TIMEOUT, 125 CRASH,
130/143 when interrupted by SIGINT/SIGTERM (QEMU is killed first).
ERROR also covers a verdict the guest's output does not back up: PASS or
SKIP without a SUMMARY line, or a SUMMARY that contradicts the status.

Environment:
  TIMEOUT=DUR      give up after DUR (90, 90s, 2m, 1h; 0 = never); default 90s
  ACCEL=kvm|tcg|auto  accelerator; default auto: kvm where a probe VM ran
                   under it with this -machine and -cpu, else tcg, with the
                   reason on stderr. ACCEL=kvm where KVM cannot run the guest
                   ends as ERROR (docs/running.md, "The accelerator").
  ACCEL_PROBE_TIMEOUT=DUR  bound of the KVM probe VM (3s)
  QEMU=PATH        QEMU binary (default: config.mak, then qemu-system-x86_64)
  FIRMWARE=NAME    firmware profile (default: config.mak, then pflash):
                   pflash   OVMF_CODE + OVMF_VARS on pflash
                            (/usr/share/OVMF/OVMF_{CODE,VARS}_4M.fd)
                   bios     one file with -bios: BIOS (/usr/share/ovmf/OVMF.fd);
                            `scripts/run TEST -bios FILE` is the same
                   secboot  Secure Boot: SECBOOT_CODE + SECBOOT_VARS (Debian's
                            secboot code, snakeoil keys enrolled), smm=on;
                            images are signed with SECBOOT_KEY/SECBOOT_CERT
                            (default: the snakeoil key)
  QEMU_EXTRA=ARGS  more QEMU arguments (split on blanks) placed before
                   QEMU_ARGS
  RUN_RESULT_FILE=PATH  also write the verdict as key=value lines (used by
                   run_tests.sh)
  COLD_BOOT=1      always boot cold (no snapshot)
  SNAPSHOT_DIR=DIR where snapshots are kept; default build/snapshots
  SNAPSHOT_BUILD_TIMEOUT=DUR  limit for booting and saving a snapshot (120s)
  SNAPSHOT_KEEP=N  snapshots kept in SNAPSHOT_DIR, newest first (32)
)USAGE";
  auto put = [&](const char* mark, const char* value) {
    size_t at = u.find(mark);
    if (at != std::string::npos) u.replace(at, std::strlen(mark), value);
  };
  put("@CPU@", kDefaultCpu);
  put("@MEM@", kDefaultMem);
  put("@SMP@", kDefaultSmp);
  return u;
}

}  // namespace run

int cmd_run(int argc, char** argv) {
  run::Options o;
  int i = 0;
  // The runner's own options come before TEST and fill run::Options.
  for (;;) {
    if (i + 1 < argc && std::strcmp(argv[i], "--top") == 0) {
      o.top = argv[i + 1];
      i += 2;
    } else if (i < argc && std::strcmp(argv[i], "--gdb") == 0) {
      o.gdb = true;
      ++i;
    } else {
      break;
    }
  }
  if (o.top.empty()) o.top = default_top();
  const std::string first = i < argc ? argv[i] : "";
  if (first == "-h" || first == "--help") {
    std::fputs(run::usage_text().c_str(), stdout);
    return 0;
  }
  if (first.empty()) {
    std::fputs(run::usage_text().c_str(), stderr);
    return kExitError;
  }
  if (first == "--find-tools") {
    // For the suite runner and scripts: the QEMU and firmware profile a
    // run would use, as KEY=value lines, or the error and status a run
    // would end with.
    run::Tools t;
    std::string error;
    if (!run::find_tools(o.top, run::Settings(o.top + "/config.mak"), &t, &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return kExitError;
    }
    for (const char* v : run::kToolVars) {
      auto it = t.vars.find(v);
      std::string value = it != t.vars.end() ? it->second : "";
      if (value.empty() && std::getenv(v)) value = std::getenv(v);
      if (!value.empty()) std::printf("%s=%s\n", v, value.c_str());
    }
    return 0;
  }
  o.test = first;
  o.qemu_args.assign(argv + i + 1, argv + argc);
  if (const char* f = std::getenv("RUN_RESULT_FILE")) o.result_file = f;
  return run::run_test(o);
}
