// The subcommands of the host program (build/efitest). Each takes the
// arguments after its name and returns the process exit status.
#pragma once

int cmd_cfg(int argc, char** argv);       // cfg_cmd.cc
int cmd_scan(int argc, char** argv);      // report_cmd.cc
int cmd_clean(int argc, char** argv);     // report_cmd.cc
int cmd_tap_test(int argc, char** argv);  // report_cmd.cc
int cmd_junit(int argc, char** argv);     // report_cmd.cc
int cmd_accel(int argc, char** argv);     // accel_cmd.cc
int cmd_suite(int argc, char** argv);     // suite.cc
int cmd_manifest(int argc, char** argv);  // manifest_cmd.cc
int cmd_qmp(int argc, char** argv);       // qmp_cmd.cc
int cmd_pe_driver(int argc, char** argv); // pe_cmd.cc
int cmd_bench(int argc, char** argv);     // bench_cmd.cc
int cmd_esp_image(int argc, char** argv); // scripts/esp/esp_image.cc
int cmd_run(int argc, char** argv);       // run_cmd.cc

#include <string>

#include "accel.h"

#include "run/qemu_cmdline.h"

using run::parse_duration;
// The accelerator settings of the environment (accel_cmd.cc).
accel::Env accel_env();
