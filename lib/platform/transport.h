// The platform transport (DESIGN.md "The platform transport"; seeds 002 and
// 004): how console bytes, the verdict and fatal reports leave the guest.
//
// Chosen once, in boot phase 5 before our IDT goes live, from
// BootInfo::platform; tests never choose it:
//
//   plain, SEV   port_io   IN/OUT instructions (no #VC without SEV-ES)
//   SEV-ES, SNP  ghcb      GHCB IOIO events; termination request at the end
//   TDX          tdvmcall  TDVMCALL<Instruction.IO>; ReportFatalError at the end
//
// Neither confidential channel executes an I/O instruction, so printing
// never depends on the #VC/#VE handlers. Under SEV-ES/SNP the GHCB channel
// is usable only once lib/platform/sev.h has set the GHCB up; until then
// writes are dropped and reads return all ones, and the only way out is
// the MSR-protocol termination request.
#pragma once

#include <cstdint>

#include "boot/bootinfo.h"

namespace platform {

enum class Channel : uint8_t { port_io, ghcb, tdvmcall };

void transport_init(const BootInfo& bi);
Channel transport_channel();
const char* channel_str(Channel c);
// Port I/O can reach the host now.
bool transport_ready();

void port_out(uint16_t port, uint8_t size, uint32_t value);
uint32_t port_in(uint16_t port, uint8_t size);
inline void port_out8(uint16_t port, uint8_t v) { port_out(port, 1, v); }
inline uint8_t port_in8(uint16_t port) { return static_cast<uint8_t>(port_in(port, 1)); }

// Reason codes the framework sends with a GHCB termination request (reason
// set ghcb::msr::kReasonSetFramework) or as the TDVMCALL ReportFatalError
// error code: 0x01-0x0f are #VC/#VE emulation failures (platform::EmulError),
// 0x10-0x13 the verdict (rt/verdict.h debug_exit_value), 0x20 a failed
// GHCB set-up.
constexpr uint8_t kReasonGhcbSetup = 0x20;

// Ends the VM through the platform's own channel, after the verdict has
// gone out through port_out (isa-debug-exit): plain and SEV guests halt;
// SEV-ES/SNP send a termination request; TDX calls ReportFatalError.
[[noreturn]] void terminate(uint8_t reason_code);

}  // namespace platform
