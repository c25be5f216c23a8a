#include "apic/legacy.h"

#include "platform/transport.h"

namespace legacy {
namespace {

using platform::port_in8;
using platform::port_out8;

// 8259A ICW1: bit 4 marks ICW1, bit 0 says ICW4 follows; edge-triggered,
// cascaded (bits 3 and 1 clear). ICW3: the slave hangs on master IR2, and
// its cascade identity is 2. ICW4 bit 0: 8086 mode; normal EOI.
constexpr uint8_t kIcw1Init = 0x11;
constexpr uint8_t kIcw3MasterSlaveOnIr2 = 1u << 2;
constexpr uint8_t kIcw3SlaveId = 2;
constexpr uint8_t kIcw4Mode8086 = 0x01;
constexpr uint8_t kMaskAll = 0xff;

// 8254 control word: bits 7-6 the counter (0), 5-4 access (3: LSB then
// MSB), 3-1 the mode (0: interrupt on terminal count), 0 binary.
constexpr uint8_t kPitCounter0Mode0 = 0x30;
// Read-back command (bits 7-6 = 3): bit 5 set = do not latch the count,
// bit 4 clear = latch the status, bit 1 = counter 0. Status bit 7 is OUT.
constexpr uint8_t kPitReadBackStatus0 = 0xe2;
constexpr uint8_t kPitStatusOut = 0x80;
// A count of 1 reaches the terminal count on the next CLK (838 ns at
// 1.193182 MHz); each status read is a port access of at least that order,
// so the bound is generous. No PIT: the reads return all ones (OUT "high").
constexpr int kPitPolls = 10000;

void mask_all() {
  port_out8(kPic1Data, kMaskAll);
  port_out8(kPic2Data, kMaskAll);
}

}  // namespace

QuiesceResult quiesce() {
  QuiesceResult r{};
  // Mask first: an input that a firmware left unmasked cannot request an
  // interrupt while the rest is set up.
  mask_all();

  // PIT channel 0: a firmware leaves it counting (BIOS: mode 2 at 18.2 Hz;
  // a VMM's PIT counts from reset). Mode 0 with a count of 1 gives one
  // terminal count right away, after which OUT stays high and the counter
  // raises no further edge (8254 data sheet, mode 0).
  port_out8(kPitControl, kPitCounter0Mode0);
  port_out8(kPitChannel0, 1);
  port_out8(kPitChannel0, 0);
  for (int i = 0; i < kPitPolls && !r.pit_terminal; ++i) {
    port_out8(kPitControl, kPitReadBackStatus0);
    r.pit_terminal = port_in8(kPitChannel0) & kPitStatusOut;
  }

  // Initialise both 8259As. ICW1 resets the edge sense circuit and clears
  // the mask (8259A data sheet, "Initialization Command Words"): an input
  // needs a new low-to-high transition to request, so the edge the PIT
  // just made is not taken; the mask is set again after ICW4. The vectors
  // move to kPicVectorBase: the BIOS base (0x08) overlaps the exception
  // vectors (SDM vol.3 §6.2), which made a stray ExtINT look like a fault.
  //
  // The order matters under QEMU as well: while a firmware's LINT0 is
  // still ExtINT (virtual wire), lowering the 8259A output withdraws an
  // interrupt request it made to the CPU while IF was 0. Masked at LINT0
  // first, that request would stay pending with no vector behind it, and
  // the next STI would deliver an undefined vector (seen as #GP).
  port_out8(kPic1Command, kIcw1Init);
  port_out8(kPic2Command, kIcw1Init);
  port_out8(kPic1Data, kPicVectorBase);
  port_out8(kPic2Data, kPicVectorBase + 8);
  port_out8(kPic1Data, kIcw3MasterSlaveOnIr2);
  port_out8(kPic2Data, kIcw3SlaveId);
  port_out8(kPic1Data, kIcw4Mode8086);
  port_out8(kPic2Data, kIcw4Mode8086);
  mask_all();
  return r;
}

}  // namespace legacy
