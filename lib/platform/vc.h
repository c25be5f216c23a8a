// The #VC handler (SEV-ES/SNP), guest side. The emulation itself is the
// portable core in vc_core.h; this file supplies live memory, the GHCB and
// VMGEXIT, and the failure path.
//
// Ownership: handlers_install() (lib/platform/handlers.h) registers it
// before boot phase 5 loads our IDT, so from the first instruction that can
// raise #VC after ExitBootServices the exception is ours. Until the GHCB is
// set up only CPUID is served, through the GHCB MSR protocol (GHCB spec
// §2.3.1 "CPUID Request"), which has no subleaf: a CPUID with ECX != 0 then
// ends the VM like any other unserved #VC.
//
// Failure: the handler prints the exit, the reason and the frame (when the
// console is up), then sends a termination request, reason set
// ghcb::msr::kReasonSetFramework, code = platform::EmulError.
//
// Stack: #VC runs on the interrupted stack, without an IST. An IST slot is
// reused from its top by every delivery through it, so a #VC nested in a
// #VC (or in an NMI handler on an IST, which is the case worth having) would
// overwrite the outer frame. Every context this framework runs in has a
// usable stack (no SYSCALL entry with a user stack; user mode switches to
// RSP0 through the TSS), so the stack of the interrupted context is safe.
#pragma once

#include <cstdint>

#include "cpu/exceptions.h"
#include "platform/live_memory.h"
#include "platform/vc_core.h"

namespace platform {

// What the handler talks to. The guest's backend uses the real GHCB; the
// loopback backend (lib/platform/loopback.h) performs requests natively.
class VcBackend : public LiveMemory, public vc::Hypervisor {
 public:
  ghcb::Page& ghcb() override;
  uint64_t ghcb_gpa() override;
  void vmgexit() override;
  uint64_t xcr0() override;
  // The GHCB is usable (else only MSR-protocol CPUID).
  virtual bool ghcb_ready();
  // Exclusive use of the GHCB for one emulation; on false nothing is held
  // (nested too deep) and release() must not be called.
  virtual bool acquire();
  virtual void release();
  virtual uint64_t msr_protocol(uint64_t request);
  // Ends the VM (termination request); returns only in tests.
  virtual void terminate(uint8_t reason_set, uint8_t reason_code);

 protected:
  ~VcBackend() = default;
};

VcBackend& vc_guest_backend();

// The handler's entry: emulates the instruction at f.regs.rip for the exit
// code in f.error_code. True when handled (f updated to resume after it);
// on failure reports, calls b.terminate() and returns false if that returns.
bool handle_vc(ExceptionFrame& f, VcBackend& b);

}  // namespace platform
