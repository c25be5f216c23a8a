// The boot chain, every entry's path to main(), in one place:
//
//   entry        firmware-specific; ends by calling takeover()
//     efi:       lib/cpu/entry.S _start (phase 1), lib/efi/relocate.cc
//                (phase 2), lib/efi/boot.cc efi_main (phases 3-4: the
//                BootInfo snapshot, ExitBootServices)
//     pvh:       lib/boot/pvh_entry.S (32-bit protected mode to long mode),
//                lib/boot/pvh.cc pvh_main (hvm_start_info to BootInfo)
//   fill         the entry fills BootInfo (lib/boot/bootinfo.h) through
//                boot::entry_info(), normalising its memory map itself
//                (lib/boot/memmap.h) and making argv with the one parser
//                (lib/boot/cmdline.h); what a firmware leaves behind is
//                the optional services interface (lib/boot/services.h)
//   takeover     phase 5, lib/boot/phase5_takeover.cc: our GDT, IDT and
//                page tables, the #VC/#VE handlers, the console
//   bring-up     phase 6, lib/boot/phase6_bringup.cc: the runtime's fault
//                policy (lib/rt/fault_policy.h), memory (lib/mem), the
//                platform (lib/boot/phase6_platform.cc: ACPI, APICs,
//                timers, PCI, SMP), constructors; then seal() and main()
//   main         the test (x86/<name>.cc); its return value goes to exit()
//                (lib/rt/report.h), which ends the guest through
//                platform_exit (lib/rt/exit.h)
//
// An entry switches to the boot stack (boot_stack_top()) before takeover:
// whatever stack it came on belongs to its firmware.
//
// Layers call down, never up. lib/boot is the only code that knows the
// whole order; below it, the cpu layer (lib/cpu) reports nothing itself:
// an unexpected exception or a fatal error there goes to a hook that the
// runtime installs at the start of phase 6 (lib/cpu/exceptions.h,
// lib/cpu/fatal.h), and its register dumps and backtraces write to a sink
// it is given (lib/cpu/backtrace.h). Before the hook, the cpu layer stops
// the machine itself after printing to the fault output phase 5 sets.
#pragma once

#include <cstdint>

struct BootInfo;

namespace boot {

// The stack phases 5 and 6 and main() run on.
uint64_t boot_stack_bottom();
uint64_t boot_stack_top();

// Phase 5. Interrupts off, an identity map of at least the image, the
// stack and BootInfo loaded (the entry's or the firmware's).
[[noreturn]] void takeover(BootInfo* bi);

// Phase 6, called at the end of phase 5.
[[noreturn]] void bring_up(BootInfo& bi);
// Phase 6, step 2: ACPI, APICs, timers, PCI, SMP (phase6_platform.cc).
void bring_up_platform(BootInfo& bi);

}  // namespace boot

// Calls fn(arg) on the stack ending at `top` (lib/cpu/entry.S).
extern "C" [[noreturn]] void switch_stack(uint64_t top, void (*fn)(BootInfo*), BootInfo* arg);

namespace boot {

// The page tables phase 5 built and installed.
struct BootTables {
  uint64_t root;  // CR3 we installed
  int levels;     // 4 or 5
  uint64_t pool_used;
};
const BootTables& boot_tables();

}  // namespace boot
