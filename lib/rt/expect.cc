#include "rt/expect.h"

#include "cpu/processor.h"
#include "rt/report.h"

void report_fault(ExInfo got, ExInfo want, const char* what) {
  report_fault_xfail(false, got, want, what);
}

void report_fault_xfail(bool xfail, ExInfo got, ExInfo want, const char* what) {
  char g[32], w[32];
  report_xfail(xfail, got == want, "%s: %s (expected %s)", what, exinfo_str(got, g, sizeof(g)),
               exinfo_str(want, w, sizeof(w)));
}

bool known_tcg_difference(const char* why) {
  const bool tcg = cpu::hypervisor() == cpu::Hypervisor::tcg;
  if (tcg) report_info("known TCG difference: %s", why);
  return tcg;
}

bool known_qemu_device_difference(bool qemu_model, const char* why) {
  if (qemu_model) report_info("known QEMU device-model difference: %s", why);
  return qemu_model;
}
