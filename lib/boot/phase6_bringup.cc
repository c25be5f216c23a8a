// Boot phase 6 (lib/boot/chain.h): runtime setup, in dependency order, then
// the test. Each step is one call here; its owner keeps the details in its
// own file.
//   0. faults:   the runtime's policy for unexpected exceptions and fatal
//                cpu-layer errors                          (lib/rt/fault_policy.h)
//   1. memory:   page allocator, heap, page-table API     (lib/mem)
//   2. platform: the legacy PIC pair and PIT put quiet     (lib/apic/legacy.h)
//                ACPI, APICs, timers, PCI, SMP bring-up    (phase6_platform.cc)
//   3. the image's constructors
//   4. the wait for a debugger, when the host asked (lib/boot/debugger.h)
//   5. seal BootInfo, run main, exit with its value
#include "apic/legacy.h"
#include "boot/chain.h"
#include "boot/debugger.h"
#include "boot/entry.h"
#include "mem/memory.h"
#include "rt/fault_policy.h"
#include "rt/report.h"

extern "C" void (*__init_array_start[])(), (*__init_array_end[])();
// The test's main, whatever signature it was declared with.
extern "C" int test_main(int argc, char** argv, char** envp) __asm__("main");

namespace {
constinit char* envp_none[1] = {nullptr};
}  // namespace

namespace boot {

[[noreturn]] void bring_up(BootInfo& bi) {
  rt::install_fault_policy();
  mem::memory_init(bi);
  // Before the local APIC's LINT0 is masked and before the first STI (see
  // lib/apic/legacy.cc for why the order matters).
  legacy::quiesce();
  bring_up_platform(bi);

  for (auto* f = __init_array_start; f < __init_array_end; ++f) (*f)();

  wait_for_debugger(bi);
  seal();
  exit(test_main(bi.argc, bi.argv, envp_none));
}

}  // namespace boot
