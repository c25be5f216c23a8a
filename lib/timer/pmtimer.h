// The ACPI power-management timer (ACPI 6.5 §4.8.3.3): a free-running
// counter at 3.579545 MHz, 24 or 32 bits wide (FADT TMR_VAL_EXT), in I/O
// or memory space (FADT X_PM_TMR_BLK, else PM_TMR_BLK).
#pragma once

#include <cstdint>

#include "acpi/acpi.h"

namespace timer::pm {

constexpr uint64_t kHz = 3579545;

// Takes the timer from the FADT; false when it has none it can read.
bool init(const acpi::PmTimer& t);
bool present();
// Why present() is false.
const char* absent_reason();
unsigned bits();  // 24 or 32
uint32_t read();  // the raw counter, masked to bits()
bool io();        // port I/O (else memory-mapped)
uint64_t address();

}  // namespace timer::pm
