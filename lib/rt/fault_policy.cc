#include "rt/fault_policy.h"

#include "cpu/backtrace.h"
#include "cpu/exceptions.h"
#include "cpu/fatal.h"
#include "rt/console.h"
#include "rt/exit.h"
#include "rt/report.h"
#include "smp/percpu.h"

namespace rt {
namespace {

void on_unexpected_exception(ExceptionFrame* f, unsigned depth) {
  const unsigned cpu = smp::current_cpu();
  if (depth > 1) {
    // A fault while reporting a fault: say the least that can still work.
    printf("\nFATAL: nested exception %s on CPU %u while reporting an unexpected exception\n",
           vector_name(f->vector), cpu);
    platform_exit(Verdict::fail);
  }
  printf("\nUnhandled exception %s (vector %lu) on CPU %u", vector_name(f->vector), f->vector,
         cpu);
  if (vector_has_error_code(f->vector)) printf(", error code 0x%lx", f->error_code);
  printf("\n");
  dump_frame(console_write, f);
  report_fail("unhandled exception %s at rip 0x%lx on CPU %u", vector_name(f->vector),
              f->regs.rip, cpu);
  exit(1);
}

void on_fatal(const char* message) { report_abort("%s", message); }

}  // namespace

void install_fault_policy() {
  set_unexpected_exception_handler(on_unexpected_exception);
  cpu::set_fatal_handler(on_fatal);
}

}  // namespace rt
