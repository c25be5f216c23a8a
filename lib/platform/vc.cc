#include "platform/vc.h"

#include "cpu/backtrace.h"
#include "cpu/processor.h"
#include "cpu/xsave.h"
#include "platform/insn.h"
#include "platform/sev.h"
#include "rt/console.h"

namespace platform {
namespace {

class GuestVc final : public VcBackend {
 public:
  constexpr GuestVc() = default;
  ~GuestVc() = default;
};

constinit GuestVc guest_backend;
// The GHCB levels held by the emulations in progress (outer, nested).
struct Held {
  int level;
  uint64_t rflags;
};
constinit Held held[2] = {};
constinit int depth = 0;

EmulError msr_protocol_cpuid(Regs& regs, VcBackend& b) {
  x86::Insn insn;
  if (EmulError e = fetch_and_decode(regs, b, &insn); e != EmulError::none) return e;
  if (insn.kind != x86::Kind::cpuid) return EmulError::wrong_instruction;
  if (static_cast<uint32_t>(regs[Gpr::rcx]) != 0) return EmulError::no_ghcb;
  const uint32_t leaf = static_cast<uint32_t>(regs[Gpr::rax]);
  using ghcb::msr::CpuidReg;
  const CpuidReg order[4] = {CpuidReg::eax, CpuidReg::ebx, CpuidReg::ecx, CpuidReg::edx};
  const Gpr dest[4] = {Gpr::rax, Gpr::rbx, Gpr::rcx, Gpr::rdx};
  uint32_t out[4];
  for (int i = 0; i < 4; ++i) {
    uint64_t reply = b.msr_protocol(ghcb::msr::cpuid_request(leaf, order[i]));
    if (!ghcb::msr::decode_cpuid_response(reply, order[i], &out[i]))
      return EmulError::hypervisor_error;
  }
  for (int i = 0; i < 4; ++i) regs[dest[i]] = out[i];
  regs.rip += insn.length;
  return EmulError::none;
}

}  // namespace

ghcb::Page& VcBackend::ghcb() { return sev::ghcb_page(); }
uint64_t VcBackend::ghcb_gpa() { return sev::ghcb_gpa(); }
void VcBackend::vmgexit() { sev::ghcb_exit(); }
// CPUID leaf 0xD needs XCR0, readable only with CR4.OSXSAVE (SDM vol.2 XGETBV).
uint64_t VcBackend::xcr0() { return cpu::xsave::current_xcr0(); }
bool VcBackend::ghcb_ready() { return sev::ghcb_ready(); }
bool VcBackend::acquire() {
  if (depth == 2) return false;
  Held& h = held[depth];
  h.level = sev::ghcb_acquire(&h.rflags);
  if (h.level == 0) {
    sev::ghcb_release(0, h.rflags);
    return false;
  }
  ++depth;
  return true;
}
void VcBackend::release() {
  if (depth == 0) return;
  Held& h = held[--depth];
  sev::ghcb_release(h.level, h.rflags);
}
uint64_t VcBackend::msr_protocol(uint64_t request) { return sev::msr_protocol(request); }
void VcBackend::terminate(uint8_t reason_set, uint8_t reason_code) {
  sev::terminate(reason_set, reason_code);
}

VcBackend& vc_guest_backend() { return guest_backend; }

bool handle_vc(ExceptionFrame& f, VcBackend& b) {
  EmulError e;
  if (!b.ghcb_ready()) {
    e = static_cast<ghcb::ExitCode>(f.error_code) == ghcb::ExitCode::cpuid
            ? msr_protocol_cpuid(f.regs, b)
            : EmulError::no_ghcb;
  } else if (!b.acquire()) {
    e = EmulError::nested_too_deep;
  } else {
    e = vc::handle(f.error_code, f.regs, b, b);
    b.release();
  }
  if (e == EmulError::none) return true;
  printf("#VC: cannot handle exit code 0x%lx at rip 0x%lx: %s (termination reason %u)\n",
         f.error_code, f.regs.rip, emul_error_str(e), static_cast<unsigned>(e));
  dump_frame(console_write, &f);
  b.terminate(ghcb::msr::kReasonSetFramework, static_cast<uint8_t>(e));
  return false;
}

}  // namespace platform
