// negative/hang: stops the CPU for good, without a verdict.
//
// With interrupts off, hlt never returns, so only the runner's timeout can
// end the guest: it must report TIMEOUT (exit 124). The loop also covers
// an NMI or SMI waking the CPU. unittests.cfg gives this test a short
// timeout. Not part of the default suite.
#include "rt/report.h"

int main(int, char**) {
  report_info("halting with interrupts disabled; the runner should time out");
  asm volatile("cli");
  for (;;) asm volatile("hlt");
}
