// Giving an address to a memory BAR that nobody assigned (guest only),
// on top of the sizing in pci/bar.h.
//
// A function can be found with its BARs at 0: the firmware skipped it, or
// it was reset since (a device model without saved state comes back from
// a restored VM snapshot that way). place_bar() picks the lowest address
// aligned to the BAR's size (PCI Local Bus 3.0 §6.2.5.1: a BAR decodes a
// naturally aligned range) that lies at or above `floor`, clear of every
// memory BAR of segment 0 already assigned at or above it, and ends at or
// below `ceiling`; the caller gives floor and ceiling from what it knows
// of the platform's address map (on a PC: above the MCFG windows, below
// the I/O APIC). It writes the BAR and leaves the command register as it
// was. The other BARs are read with read_bar(), which sizes them with
// their function's decoding off for a moment.
#pragma once

#include <cstdint>

#include "pci/bar.h"

namespace pci {

// Only a 32-bit memory BAR with size > 0 and base 0; false when none of
// that holds or nothing fits. On success bar->base is the new address.
bool place_bar(Bdf f, unsigned index, Bar* bar, uint64_t floor, uint64_t ceiling);

}  // namespace pci
