// negative/triple_fault: dies by a triple fault, without a verdict.
//
// An IDT with limit 0 has no usable gate, so the #UD from ud2 cannot be
// delivered, which raises #GP, then #DF, which cannot be delivered either:
// a triple fault, i.e. shutdown (Intel SDM vol. 3A §6.15, "Interrupt 8").
// Under -no-reboot QEMU then exits 0 and the runner must report CRASH
// (exit 125). Not part of the default suite.
#include <cstdint>

#include "rt/report.h"

namespace {

struct [[gnu::packed]] Idtr {
  uint16_t limit;
  uint64_t base;
};

}  // namespace

int main(int, char**) {
  report_info("loading an empty IDT and raising #UD; the machine should shut down");
  static const Idtr empty{0, 0};
  asm volatile("cli; lidt %0; ud2" ::"m"(empty) : "memory");
  report_abort("still running after a triple fault");
}
