// The platform layer's two steps in boot phase 5 (lib/boot/phase5_takeover.cc).
#pragma once

#include "boot/bootinfo.h"

namespace platform {

// Before our IDT is loaded: chooses the transport and registers the #VC
// and #VE handlers, so both vectors are ours from the moment the IDT is.
void takeover_handlers(const BootInfo& bi);

// After the switch to our page tables, before the console: sets the GHCB
// up (SEV-ES/SNP). Without it nothing could be printed, so a failure ends
// the VM with a termination request (reason kReasonGhcbSetup, or the GHCB
// protocol reason the set-up found).
void after_paging(const BootInfo& bi);

}  // namespace platform
