// Hardware watchdog fallback for the batch runner: the TCO timer of the
// Intel ICH9/ICH10 LPC bridge, which QEMU's q35 machine also emulates.
//
// Why: the UEFI watchdog (SetWatchdogTimer, UEFI 2.10 §7.5.1) only guards
// a test until it calls ExitBootServices, which disables it (§7.4.6), and
// every test image exits boot services before main(). The TCO timer keeps
// counting after that: it counts down TCO_TMR ticks of 0.6 s, then once
// more, and resets the platform at the second expiry unless the GCS
// NO_REBOOT bit is set (Intel ICH9 datasheet §13.9 TCO registers, §10.1.75
// GCS). The runner arms it immediately before StartImage; the reset that
// ends a test puts it back in its power-on state (halted, NO_REBOOT set).
//
// Availability: only an ICH9 or ICH10 LPC bridge at 00:1f.0 with the ACPI
// I/O space enabled. QEMU emulates the board strap that forbids the reset
// as on by default; run the machine with -global ICH9-LPC.noreboot=false
// to let the watchdog reset it (scripts/esp and docs/esp.md do this).
#pragma once

#include <cstdint>

namespace esp::tco {

struct Info {
  bool present;
  uint16_t device_id;
  uint16_t tco_base;  // I/O port of TCO_RLD
  uint32_t rcba;      // root complex base (holds GCS)
};

// Looks for a supported bridge; does not touch the timer.
Info probe();

// Arms the timer so that the platform resets about `seconds` after this
// call (two expiries of half the time each; at most about 20 minutes).
// Returns false when no supported bridge is there.
bool arm(const Info& info, uint32_t seconds);

// Halts the timer and sets NO_REBOOT again.
void disarm(const Info& info);

// Ticks of 0.6 s for one of the two expiries; portable, host-tested.
uint16_t ticks_per_stage(uint32_t seconds);

}  // namespace esp::tco
