// Loopback backends for the #VC and #VE handlers: they stand in for
// VMGEXIT and TDCALL and perform each request natively, the way a
// hypervisor would (CPUID, IN/OUT, RDMSR/WRMSR, MMIO, RDTSC(P), WBINVD,
// DR7), filling the GHCB or the TDCALL output registers as the GHCB spec
// and the GHCI lay them out. The handlers above them are the real ones,
// so x86/vc and x86/ve exercise them on any guest, SEV and TDX hardware
// or not. Termination requests and ReportFatalError are recorded instead
// of ending the VM.
//
// Addresses: the guest identity map makes a linear address its GPA. A
// window of GPAs is declared MMIO (shared); everything else is private RAM.
// Guest only, and only meaningful on a plain guest (the native operations
// would themselves raise #VC/#VE on a confidential one).
#pragma once

#include <cstdint>

#include "platform/ghcb.h"
#include "platform/tdx.h"
#include "platform/vc.h"
#include "platform/ve.h"

namespace platform {

struct GpaWindow {
  uint64_t base = 0;
  uint64_t size = 0;
  bool contains(uint64_t gpa) const { return gpa >= base && gpa - base < size; }
};

// What a loopback saw: exits in order, the last request, terminations.
struct LoopbackLog {
  unsigned exits = 0;
  uint64_t last_code = 0;   // SW_EXITCODE, or the TDVMCALL sub-function
  uint64_t last_info1 = 0;  // SW_EXITINFO1, or R12
  uint64_t last_info2 = 0;  // SW_EXITINFO2, or R13
  uint64_t last_scratch = 0;
  bool terminated = false;
  uint8_t reason_set = 0;
  uint64_t reason_code = 0;
  unsigned hlts = 0;
};

class LoopbackVc final : public VcBackend {
 public:
  // ghcb_up = false models the window before the GHCB exists: the handler
  // then only has the MSR protocol.
  explicit LoopbackVc(GpaWindow mmio, bool ghcb_up = true) : mmio_(mmio), ghcb_up_(ghcb_up) {}
  ~LoopbackVc() = default;

  ghcb::Page& ghcb() override;
  uint64_t ghcb_gpa() override;
  void vmgexit() override;
  bool ghcb_ready() override { return ghcb_up_; }
  bool acquire() override { return true; }
  void release() override {}
  uint64_t msr_protocol(uint64_t request) override;
  void terminate(uint8_t reason_set, uint8_t reason_code) override;
  bool translate(uint64_t la, uint64_t* gpa, bool* shared) override;

  LoopbackLog log;
  // The next request is refused with #GP injected, as a hypervisor does
  // for an MSR it does not allow (TCG itself never refuses).
  bool refuse_next = false;

 private:
  GpaWindow mmio_;
  bool ghcb_up_;
};

class LoopbackVe final : public VeBackend {
 public:
  explicit LoopbackVe(GpaWindow mmio) : mmio_(mmio) {}
  ~LoopbackVe() = default;

  void tdcall(tdx::TdcallRegs& regs) override;
  bool translate(uint64_t la, uint64_t* gpa, bool* shared) override;

  // What the next TDG.VP.VEINFO.GET returns.
  tdx::VeInfo next{};
  LoopbackLog log;

 private:
  void vmcall(tdx::TdcallRegs& regs);
  GpaWindow mmio_;
};

}  // namespace platform
