// Ending the machine without firmware services (a PVH start): the reset
// the platform itself offers. platform_exit (lib/rt/exit.cc) calls it when
// isa-debug-exit did not end the guest and BootInfo::firmware is null.
#pragma once

namespace boot {

// Tries, in order: the ACPI FADT reset register (ACPI 6.5 §4.8.3.6,
// §5.2.9; used only when FADT flag RESET_REG_SUP is set and the register is
// in system I/O or system memory space), the reset control register at
// port 0xCF9 (hard reset, as the PC chipsets QEMU models and their
// datasheets define it), then the 8042 keyboard controller's pulse-reset
// command 0xFE. Each is given a short bounded time to take effect. Returns
// only if none did; under QEMU with -no-reboot a reset ends QEMU.
void reset_without_firmware();

}  // namespace boot
