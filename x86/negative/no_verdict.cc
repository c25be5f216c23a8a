// negative/no_verdict: claims PASS without having checked anything.
//
// Writes the PASS value straight to the isa-debug-exit port, so QEMU exits
// with the PASS status but the guest printed no check and no SUMMARY. The
// runner's cross-check must turn this into ERROR (exit 99). The port write
// is spelt out here rather than borrowed from the framework, which would
// refuse to exit with PASS when nothing was reported. Not part of the
// default suite.
#include <cstdint>

#include "rt/verdict.h"

int main(int, char**) {
  constexpr uint16_t kDebugExitPort = 0xf4;
  const uint32_t pass = debug_exit_value(Verdict::pass);
  asm volatile("outl %0, %1" ::"a"(pass), "Nd"(kDebugExitPort));
  for (;;) asm volatile("cli; hlt");
}
