// negative/unexpected: takes an exception no check expects.
//
// Proves the unexpected-exception path end to end: the cpu layer hands the
// fault to the runtime's policy, which prints the "Unhandled exception"
// line, the registers and a symbolizable backtrace, counts one failed
// check and ends the guest; the runner must report FAIL (exit 1). Not part
// of the default suite.
#include "rt/report.h"

namespace {

__attribute__((noinline)) void raise_ud() { asm volatile("ud2"); }

}  // namespace

int main(int, char**) {
  report(true, "a check before the fault");
  raise_ud();
  report_abort("still running after an unexpected #UD");
}
