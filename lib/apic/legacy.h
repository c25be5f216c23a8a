// The PC/AT legacy interrupt sources: the 8259A pair and the 8254 PIT.
//
// Contract:
//  - quiesce() is what boot phase 6 does once on the BSP, before the local
//    APICs are set up and before interrupts are first enabled, for every
//    entry: no firmware is relied on for this state. Afterwards both
//    8259As are initialised with their vectors at kPicVectorBase (out of
//    the exception range) and every input is masked, with nothing in
//    service or requested; PIT channel 0 has run to its terminal count in
//    mode 0 and stays idle.
//  - Tests that want a legacy source program it themselves (x86/ioapic.cc
//    programs the PIT; nothing in the framework unmasks the 8259As).
//  - Port I/O goes through the platform transport (lib/platform/transport.h).
#pragma once

#include <cstdint>

namespace legacy {

// Intel 8259A data sheet: command port (ICW1, OCW2/3) and data port (ICW2-4,
// OCW1) of each controller.
constexpr uint16_t kPic1Command = 0x20;
constexpr uint16_t kPic1Data = 0x21;
constexpr uint16_t kPic2Command = 0xa0;
constexpr uint16_t kPic2Data = 0xa1;
constexpr uint8_t kPicVectorBase = 0x20;  // master 0x20-0x27, slave 0x28-0x2f

// Intel 8254 data sheet: counter 0 data port and the control word port.
constexpr uint16_t kPitChannel0 = 0x40;
constexpr uint16_t kPitControl = 0x43;

// What quiesce() found, for the platform line.
struct QuiesceResult {
  bool pit_terminal;  // the read-back status showed channel 0's OUT high
};

QuiesceResult quiesce();

}  // namespace legacy
