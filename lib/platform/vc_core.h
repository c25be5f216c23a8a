// The #VC handler's core (SEV-ES/SNP), portable: turns the #VC error code
// (the SVM exit code, AMD APM vol.2 §15.35.5), the interrupted instruction
// and its registers into a GHCB request, and applies the hypervisor's reply
// to the registers (GHCB spec §4.1, "Non-Automatic Exits").
//
// Served exits: CPUID, IOIO (IN/OUT, INS/OUTS, REP), MSR read/write, MMIO
// read/write through NPF (MOV, MOVZX, MOVSX, MOV moffs, MOVS, STOS), RDTSC,
// RDTSCP, VMMCALL, WBINVD, DR7 read/write. Everything else is
// EmulError::unsupported_exit; the guest side ends the VM with a
// termination request carrying that code.
#pragma once

#include <cstdint>

#include "cpu/regs.h"
#include "platform/emulate.h"
#include "platform/ghcb.h"

namespace vc {

// The GHCB and the way to reach the hypervisor with it.
class Hypervisor {
 public:
  virtual ghcb::Page& ghcb() = 0;
  // Guest-physical address of ghcb(): SW_SCRATCH points into its shared
  // buffer (GHCB spec §2.3.3: the scratch area may be the shared buffer).
  virtual uint64_t ghcb_gpa() = 0;
  // One NAE event: the hypervisor reads ghcb() and writes its reply there.
  virtual void vmgexit() = 0;
  // XCR0, which CPUID leaf 0xD needs (GHCB spec §4.1, CPUID: XCR0 is an input for leaf 0xD).
  virtual uint64_t xcr0() = 0;

 protected:
  ~Hypervisor() = default;
};

// SW_EXITINFO1[31:0] after the exit: 0 success, 1 the hypervisor wants an
// exception injected (SW_EXITINFO2 says which), GHCB spec §4.1.
constexpr uint64_t kExitInfoOk = 0;
constexpr uint64_t kExitInfoMask = 0xffffffffull;

// The GHCB shared buffer as the string-I/O and MMIO scratch area.
constexpr uint32_t kScratchBytes = sizeof(ghcb::Page::shared_buffer);

platform::EmulError handle(uint64_t exit_code, Regs& regs, platform::GuestMemory& mem,
                           Hypervisor& hv);

}  // namespace vc
