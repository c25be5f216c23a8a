// Platform discovery and bring-up (boot phase 6, step 2).
//
// platform_init() runs once on the BSP after the memory services exist, in
// dependency order:
//   1. ACPI: the tables behind BootInfo::acpi_rsdp, read through the
//      identity map; every bad table is printed as "ACPI: <problem>" and
//      skipped, never trusted;
//   2. the local APIC of the BSP, the legacy PIC masked, the I/O APICs;
//   3. timers: PM timer, HPET, TSC calibrated against one of them;
//   4. PCI configuration access (ECAM from the MCFG, else ports);
//   5. SMP: every enabled CPU of the MADT brought up (lib/smp/smp.h).
// A platform without ACPI still runs tests: everything that needs a table
// reports itself absent, and the machine runs with one CPU.
#pragma once

#include "acpi/acpi.h"

struct BootInfo;

void platform_init(BootInfo& bi);

namespace acpi {

// The verified tables, or nullptr when the firmware gave no usable RSDP.
const Tables* tables();
// Parsed tables, or nullptr when the table is absent or unusable.
const MadtInfo* madt();
const FadtInfo* fadt();
const HpetInfo* hpet();
const McfgInfo* mcfg();
// The problems found while reading the tables (printed at init).
const Problems& problems();

}  // namespace acpi
