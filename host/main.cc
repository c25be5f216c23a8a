// build/efitest: the host side of the framework, one program whose parts
// the front doors (run_tests.sh, scripts/run, make esp) call. The result
// model and formats are the guest's own (lib/result), so that the host and
// the ESP runner write the same TAP and JUnit from the same code.
//
//   efitest cfg [--image-dir DIR] FILE     the cfg's record stream
//   efitest scan LOG                       what a guest's output says
//   efitest clean LOG                      LOG without terminal escapes
//   efitest tap-test N NAME VERDICT DETAIL LOG MS
//                                          one test's TAP, with its checks
//   efitest junit OUT SUITE WALL_MS STARTED HOST RECORDS
//                                          JUnit XML of a run
//   efitest accel [--want W] -- QEMU_ARGS  KVM or TCG for this command line
//   efitest suite --top DIR -- ARGS        the suite runner (./run_tests.sh)
//   efitest manifest [OPTIONS]             the ESP runner's manifest
//   efitest qmp --in P --out P JSON...     one QMP conversation (snapshots)
//   efitest pe-driver SRC DST              an EFI application as a driver
//   efitest bench --top DIR [-n N] [-s N] [-j N]  make bench's wall times
//   efitest esp-image --top DIR --dir D --image IMG [OPTIONS]
//                                          make esp's tree and disk image
//   efitest run TEST [QEMU_ARGS]           one test (scripts/run)
#include <cstdio>
#include <cstring>

#include "commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
};
constexpr Command kCommands[] = {
    {"cfg", cmd_cfg},
    {"scan", cmd_scan},
    {"clean", cmd_clean},
    {"tap-test", cmd_tap_test},
    {"junit", cmd_junit},
    {"accel", cmd_accel},
    {"suite", cmd_suite},
    {"manifest", cmd_manifest},
    {"qmp", cmd_qmp},
    {"pe-driver", cmd_pe_driver},
    {"bench", cmd_bench},
    {"esp-image", cmd_esp_image},
    {"run", cmd_run},
};

int usage() {
  std::fputs("usage: efitest COMMAND ARGS...\ncommands:", stderr);
  for (const Command& c : kCommands) std::fprintf(stderr, " %s", c.name);
  std::fputs("\n", stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  for (const Command& c : kCommands)
    if (std::strcmp(argv[1], c.name) == 0) return c.run(argc - 2, argv + 2);
  std::fprintf(stderr, "efitest: unknown command '%s'\n", argv[1]);
  return usage();
}
