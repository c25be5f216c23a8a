// For boot entries and the phases of lib/boot/chain.h only: the mutable
// BootInfo, and the seal that makes it read-only before main() runs.
#pragma once

#include "boot/bootinfo.h"

namespace boot {

// The BootInfo an entry fills. After seal() this ends the guest with
// ERROR instead of returning: nothing may change the handoff under a test.
BootInfo& entry_info();
// Phase 6, just before main(): from here BootInfo is read-only.
void seal();
bool sealed();

// Whether QEMU's devices exist (isa-debug-exit, fw_cfg), decided before
// anything can end the guest: platform_exit writes isa-debug-exit only when
// on_qemu is set. Port I/O and CPUID, so an entry calls it while it still
// may (before ExitBootServices under UEFI; at once under PVH).
void detect_qemu(BootInfo& bi);

}  // namespace boot
