// The #VE handler (TDX), guest side. The emulation is the portable core in
// ve_core.h; this file supplies live memory, TDCALL and the failure path.
//
// Ownership: registered before boot phase 5 loads our IDT (handlers.h), so
// every #VE after ExitBootServices is ours. TDCALL itself never raises #VE,
// so the handler needs no set-up beyond that.
//
// Failure: the handler prints the exit reason, the reason it was not served
// and the frame (when the console is up), then calls TDVMCALL
// ReportFatalError (GHCI §3, TDG.VP.VMCALL<ReportFatalError>) with the
// platform::EmulError value as the error code.
//
// Stack: like #VC (see vc.h), #VE runs on the interrupted stack. A second
// #VE-inducing event before TDG.VP.VEINFO.GET has cleared the #VE
// information becomes #DF (TDX module spec, virtualization exceptions), so
// the handler reads it first and touches nothing that could #VE before.
#pragma once

#include "cpu/exceptions.h"
#include "platform/live_memory.h"
#include "platform/tdx.h"
#include "platform/ve_core.h"

namespace platform {

class VeBackend : public LiveMemory, public ve::Module {
 public:
  // Executes TDCALL with these registers (the real instruction here).
  virtual void tdcall(tdx::TdcallRegs& regs);
  tdx::TdvmcallResult tdvmcall(const tdx::TdvmcallArgs& args) override;

 protected:
  ~VeBackend() = default;
};

VeBackend& ve_guest_backend();

// The handler's entry: fetches the #VE information, emulates, updates f.
// True when handled; on failure reports, calls ReportFatalError through the
// backend and returns false if that returns (tests).
bool handle_ve(ExceptionFrame& f, VeBackend& b);

}  // namespace platform
