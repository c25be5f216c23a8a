// negative/svm_loop: an L2 that never exits must end as FAIL, not hang.
//
// The L2 spins in a loop with interrupts disabled; lib/svm bounds every
// VMRUN with an APIC-timer interrupt that L1 intercepts, so run() comes
// back and the check fails with "L2 did not exit" within the bound. The
// runner must report FAIL (exit 1) well before the entry's timeout. On a
// CPU without SVM it SKIPs. Not part of the default suite.
#include "rt/report.h"
#include "svm/svm.h"

extern "C" char l2_forever[];
asm(".pushsection .text\n\t.globl l2_forever\n\t.hidden l2_forever\n"
    "l2_forever:\n\tcli\n1:\tjmp 1b\n\t.popsection");

int main() {
  const svm::Status st = svm::enable();
  if (st != svm::Status::ok) {
    report_skip("nested SVM: %s", svm::status_str(st));
    return report_summary();
  }
  svm::Guest g;
  if (!g.init()) report_abort("out of memory for an L2");
  g.enter_at(l2_forever);
  svm::report_exit(g.run(500), svm::ExitCode::vmmcall, "an L2 that loops forever");
  return report_summary();
}
