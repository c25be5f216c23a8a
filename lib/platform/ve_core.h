// The #VE handler's core (TDX), portable: turns the #VE information
// (TDG.VP.VEINFO.GET, TDX module ABI spec) plus the interrupted instruction
// and registers into TDG.VP.VMCALL requests (Intel TDX GHCI §3), and
// applies the replies to the registers.
//
// Served exit reasons: CPUID, HLT, I/O instruction (IN/OUT, INS/OUTS, REP),
// RDMSR, WRMSR, EPT violation on shared memory (MMIO by MOV, MOVZX, MOVSX,
// MOV moffs, MOVS, STOS). Everything else is EmulError::unsupported_exit;
// the guest side ends the TD with TDVMCALL ReportFatalError carrying it.
#pragma once

#include <cstdint>

#include "cpu/regs.h"
#include "platform/emulate.h"
#include "platform/tdx.h"

namespace ve {

// The TDX module's TDG.VP.VMCALL leaf, as the core sees it.
class Module {
 public:
  virtual tdx::TdvmcallResult tdvmcall(const tdx::TdvmcallArgs& args) = 0;

 protected:
  ~Module() = default;
};

platform::EmulError handle(const tdx::VeInfo& info, Regs& regs, platform::GuestMemory& mem,
                           Module& module);

}  // namespace ve
