#include "platform/vc_core.h"

#include <cstddef>

namespace vc {
namespace {

using ghcb::ExitCode;
using ghcb::Page;
using platform::EmulError;
using x86::Kind;

constexpr uint32_t kCpuidXsave = 0xd;

uint64_t scratch_gpa(Hypervisor& hv) { return hv.ghcb_gpa() + offsetof(Page, shared_buffer); }


// One NAE event; the reply's status must be success. Each caller then checks
// that the registers it consumes are marked valid (GHCB spec §2.3.1: the
// hypervisor marks the fields it returns in the valid bitmap).
EmulError exit_ok(Hypervisor& hv) {
  hv.vmgexit();
  Page& g = hv.ghcb();
  return (g.sw_exit_info1 & kExitInfoMask) == kExitInfoOk ? EmulError::none
                                                          : EmulError::hypervisor_error;
}

bool valid(const Page& g, size_t off) { return g.is_valid(off); }

class GhcbBus final : public platform::MmioBus, public platform::PortBus {
 public:
  explicit GhcbBus(Hypervisor& hv) : hv_(hv) {}

  EmulError mmio_read(uint64_t gpa, uint8_t size, uint64_t* value) override {
    Page& g = hv_.ghcb();
    g.begin(ExitCode::mmio_read, gpa, size);
    g.set_sw_scratch(scratch_gpa(hv_));
    if (EmulError e = exit_ok(hv_); e != EmulError::none) return e;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= uint64_t{g.shared_buffer[i]} << (8 * i);
    *value = v;
    return EmulError::none;
  }

  EmulError mmio_write(uint64_t gpa, uint8_t size, uint64_t value) override {
    Page& g = hv_.ghcb();
    for (unsigned i = 0; i < size; ++i) g.shared_buffer[i] = static_cast<uint8_t>(value >> (8 * i));
    g.begin(ExitCode::mmio_write, gpa, size);
    g.set_sw_scratch(scratch_gpa(hv_));
    return exit_ok(hv_);
  }

  EmulError port_in(uint16_t port, uint8_t size, uint32_t* value) override {
    Page& g = hv_.ghcb();
    ghcb::IoioInfo io{.port = port, .size = size, .in = true};
    g.begin(ExitCode::ioio, io.encode(), 0);
    g.set_rax(0);
    if (EmulError e = exit_ok(hv_); e != EmulError::none) return e;
    if (!valid(g, offsetof(Page, rax))) return EmulError::hypervisor_error;
    *value = static_cast<uint32_t>(g.rax);
    return EmulError::none;
  }

  EmulError port_out(uint16_t port, uint8_t size, uint32_t value) override {
    Page& g = hv_.ghcb();
    ghcb::IoioInfo io{.port = port, .size = size};
    g.begin(ExitCode::ioio, io.encode(), 0);
    g.set_rax(value);
    return exit_ok(hv_);
  }

  // String forms: SW_EXITINFO2 is the element count, the data sits in the
  // scratch area (GHCB spec §4.1, IOIO: string and REP forms).
  EmulError port_ins(uint16_t port, uint8_t size, void* data, uint32_t count) override {
    Page& g = hv_.ghcb();
    ghcb::IoioInfo io{.port = port, .size = size, .in = true, .string = true, .rep = true};
    g.begin(ExitCode::ioio, io.encode(), count);
    g.set_sw_scratch(scratch_gpa(hv_));
    if (EmulError e = exit_ok(hv_); e != EmulError::none) return e;
    auto* d = static_cast<uint8_t*>(data);
    for (uint32_t i = 0; i < count * size; ++i) d[i] = g.shared_buffer[i];
    return EmulError::none;
  }

  EmulError port_outs(uint16_t port, uint8_t size, const void* data, uint32_t count) override {
    Page& g = hv_.ghcb();
    const auto* s = static_cast<const uint8_t*>(data);
    for (uint32_t i = 0; i < count * size; ++i) g.shared_buffer[i] = s[i];
    ghcb::IoioInfo io{.port = port, .size = size, .string = true, .rep = true};
    g.begin(ExitCode::ioio, io.encode(), count);
    g.set_sw_scratch(scratch_gpa(hv_));
    return exit_ok(hv_);
  }

  uint32_t max_string_bytes() const override { return kScratchBytes; }

 private:
  Hypervisor& hv_;
};

EmulError expect(const x86::Insn& insn, Kind k) {
  return insn.kind == k ? EmulError::none : EmulError::wrong_instruction;
}

EmulError cpuid(const x86::Insn& insn, Regs& regs, Hypervisor& hv) {
  if (EmulError e = expect(insn, Kind::cpuid); e != EmulError::none) return e;
  Page& g = hv.ghcb();
  const uint32_t leaf = static_cast<uint32_t>(regs[Gpr::rax]);
  g.begin(ExitCode::cpuid, 0, 0);
  g.set_rax(leaf);
  g.set_rcx(static_cast<uint32_t>(regs[Gpr::rcx]));
  if (leaf == kCpuidXsave) g.set_xcr0(hv.xcr0());
  if (EmulError e = exit_ok(hv); e != EmulError::none) return e;
  if (!valid(g, offsetof(Page, rax)) || !valid(g, offsetof(Page, rbx)) ||
      !valid(g, offsetof(Page, rcx)) || !valid(g, offsetof(Page, rdx)))
    return EmulError::hypervisor_error;
  regs[Gpr::rax] = static_cast<uint32_t>(g.rax);
  regs[Gpr::rbx] = static_cast<uint32_t>(g.rbx);
  regs[Gpr::rcx] = static_cast<uint32_t>(g.rcx);
  regs[Gpr::rdx] = static_cast<uint32_t>(g.rdx);
  return EmulError::none;
}

EmulError msr(const x86::Insn& insn, Regs& regs, Hypervisor& hv) {
  Page& g = hv.ghcb();
  if (insn.kind == Kind::rdmsr) {
    g.begin(ExitCode::msr, ghcb::kMsrRead, 0);
    g.set_rcx(static_cast<uint32_t>(regs[Gpr::rcx]));
    if (EmulError e = exit_ok(hv); e != EmulError::none) return e;
    if (!valid(g, offsetof(Page, rax)) || !valid(g, offsetof(Page, rdx)))
      return EmulError::hypervisor_error;
    regs[Gpr::rax] = static_cast<uint32_t>(g.rax);
    regs[Gpr::rdx] = static_cast<uint32_t>(g.rdx);
    return EmulError::none;
  }
  if (insn.kind != Kind::wrmsr) return EmulError::wrong_instruction;
  g.begin(ExitCode::msr, ghcb::kMsrWrite, 0);
  g.set_rcx(static_cast<uint32_t>(regs[Gpr::rcx]));
  g.set_rax(static_cast<uint32_t>(regs[Gpr::rax]));
  g.set_rdx(static_cast<uint32_t>(regs[Gpr::rdx]));
  return exit_ok(hv);
}

EmulError rdtsc(const x86::Insn& insn, Regs& regs, Hypervisor& hv, bool with_aux) {
  if (EmulError e = expect(insn, with_aux ? Kind::rdtscp : Kind::rdtsc); e != EmulError::none)
    return e;
  Page& g = hv.ghcb();
  g.begin(with_aux ? ExitCode::rdtscp : ExitCode::rdtsc, 0, 0);
  if (EmulError e = exit_ok(hv); e != EmulError::none) return e;
  if (!valid(g, offsetof(Page, rax)) || !valid(g, offsetof(Page, rdx)) ||
      (with_aux && !valid(g, offsetof(Page, rcx))))
    return EmulError::hypervisor_error;
  regs[Gpr::rax] = static_cast<uint32_t>(g.rax);
  regs[Gpr::rdx] = static_cast<uint32_t>(g.rdx);
  if (with_aux) regs[Gpr::rcx] = static_cast<uint32_t>(g.rcx);
  return EmulError::none;
}

// VMMCALL: RAX and CPL are architectural inputs (GHCB spec §4.1, VMMCALL);
// the rest is the hypervisor's hypercall ABI, here the registers KVM's
// hypercall convention reads (RBX, RCX, RDX).
EmulError vmmcall(const x86::Insn& insn, Regs& regs, Hypervisor& hv) {
  if (EmulError e = expect(insn, Kind::vmmcall); e != EmulError::none) return e;
  Page& g = hv.ghcb();
  g.begin(ExitCode::vmmcall, 0, 0);
  g.set_rax(regs[Gpr::rax]);
  g.set_rbx(regs[Gpr::rbx]);
  g.set_rcx(regs[Gpr::rcx]);
  g.set_rdx(regs[Gpr::rdx]);
  g.set_cpl(static_cast<uint8_t>(regs.cs & 3));
  if (EmulError e = exit_ok(hv); e != EmulError::none) return e;
  if (!valid(g, offsetof(Page, rax))) return EmulError::hypervisor_error;
  regs[Gpr::rax] = g.rax;
  return EmulError::none;
}

constexpr uint8_t kDr7 = 7;

EmulError dr7(const x86::Insn& insn, Regs& regs, Hypervisor& hv, bool write) {
  if (EmulError e = expect(insn, write ? Kind::mov_to_dr : Kind::mov_from_dr);
      e != EmulError::none)
    return e;
  if (insn.reg != kDr7) return EmulError::wrong_instruction;
  const x86::RegOperand gpr = insn.rm_operand(8);
  Page& g = hv.ghcb();
  if (write) {
    g.begin(ExitCode::dr7_write, 0, 0);
    g.set_rax(x86::read_reg(regs, gpr));
    return exit_ok(hv);
  }
  g.begin(ExitCode::dr7_read, 0, 0);
  if (EmulError e = exit_ok(hv); e != EmulError::none) return e;
  if (!valid(g, offsetof(Page, rax))) return EmulError::hypervisor_error;
  x86::write_reg(regs, gpr, g.rax);
  return EmulError::none;
}

EmulError simple(const x86::Insn& insn, Kind k, ExitCode code, Hypervisor& hv) {
  if (EmulError e = expect(insn, k); e != EmulError::none) return e;
  hv.ghcb().begin(code, 0, 0);
  return exit_ok(hv);
}

}  // namespace

EmulError handle(uint64_t exit_code, Regs& regs, platform::GuestMemory& mem, Hypervisor& hv) {
  x86::Insn insn;
  switch (static_cast<ExitCode>(exit_code)) {
    case ExitCode::cpuid: case ExitCode::ioio: case ExitCode::msr: case ExitCode::npf:
    case ExitCode::rdtsc: case ExitCode::rdtscp: case ExitCode::vmmcall:
    case ExitCode::wbinvd: case ExitCode::dr7_read: case ExitCode::dr7_write:
      break;
    default: return EmulError::unsupported_exit;
  }
  if (EmulError e = platform::fetch_and_decode(regs, mem, &insn); e != EmulError::none) return e;

  GhcbBus bus(hv);
  EmulError e = EmulError::none;
  switch (static_cast<ExitCode>(exit_code)) {
    case ExitCode::ioio: return platform::emulate_io(insn, regs, mem, bus);
    case ExitCode::npf: return platform::emulate_mmio(insn, regs, mem, bus);
    case ExitCode::cpuid: e = cpuid(insn, regs, hv); break;
    case ExitCode::msr: e = msr(insn, regs, hv); break;
    case ExitCode::rdtsc: e = rdtsc(insn, regs, hv, false); break;
    case ExitCode::rdtscp: e = rdtsc(insn, regs, hv, true); break;
    case ExitCode::vmmcall: e = vmmcall(insn, regs, hv); break;
    case ExitCode::wbinvd: e = simple(insn, Kind::wbinvd, ExitCode::wbinvd, hv); break;
    case ExitCode::dr7_read: e = dr7(insn, regs, hv, false); break;
    case ExitCode::dr7_write: e = dr7(insn, regs, hv, true); break;
    default: return EmulError::unsupported_exit;
  }
  if (e == EmulError::none) regs.rip += insn.length;
  return e;
}

}  // namespace vc
