// The subcommands of the host program (build/efitest). Each takes the
// arguments after its name and returns the process exit status.
#pragma once

int cmd_cfg(int argc, char** argv);       // cfg_cmd.cc
int cmd_scan(int argc, char** argv);      // report_cmd.cc
int cmd_clean(int argc, char** argv);     // report_cmd.cc
int cmd_tap_test(int argc, char** argv);  // report_cmd.cc
int cmd_junit(int argc, char** argv);     // report_cmd.cc
