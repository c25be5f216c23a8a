// The platform's ACPI tables (boot phase 6, step 2; the bring-up that
// uses them is lib/boot/phase6_platform.cc).
//
// acpi::init() reads the tables behind BootInfo::acpi_rsdp once, on the
// BSP, through the identity map: every bad table is printed as
// "ACPI: <problem>" and skipped, never trusted. A platform without ACPI
// still runs tests: everything that needs a table reports itself absent,
// and the machine runs with one CPU.
#pragma once

#include "acpi/acpi.h"

struct BootInfo;

namespace acpi {

// Reads and parses the tables, printing what it found and every problem.
void init(const BootInfo& bi);

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
