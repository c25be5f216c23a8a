#include "platform/ve_core.h"

namespace ve {
namespace {

using platform::EmulError;
using tdx::ExitReason;
using x86::Kind;

EmulError call(Module& m, const tdx::TdvmcallArgs& a, tdx::TdvmcallResult* out = nullptr) {
  tdx::TdvmcallResult r = m.tdvmcall(a);
  if (out) *out = r;
  return r.ok() ? EmulError::none : EmulError::hypervisor_error;
}

class VmcallBus final : public platform::MmioBus, public platform::PortBus {
 public:
  explicit VmcallBus(Module& m) : m_(m) {}

  EmulError mmio_read(uint64_t gpa, uint8_t size, uint64_t* value) override {
    tdx::TdvmcallResult r;
    EmulError e = call(m_, tdx::vmcall::mmio_read(gpa, size), &r);
    if (e == EmulError::none) *value = r.r11;
    return e;
  }
  EmulError mmio_write(uint64_t gpa, uint8_t size, uint64_t value) override {
    return call(m_, tdx::vmcall::mmio_write(gpa, size, value));
  }
  EmulError port_in(uint16_t port, uint8_t size, uint32_t* value) override {
    tdx::TdvmcallResult r;
    EmulError e = call(m_, tdx::vmcall::io_in(port, size), &r);
    if (e == EmulError::none) *value = static_cast<uint32_t>(r.r11);
    return e;
  }
  EmulError port_out(uint16_t port, uint8_t size, uint32_t value) override {
    return call(m_, tdx::vmcall::io_out(port, size, value));
  }
  // TDG.VP.VMCALL<Instruction.IO> has no string form (GHCI §3): one call per element.
  EmulError port_ins(uint16_t port, uint8_t size, void* data, uint32_t count) override {
    auto* d = static_cast<uint8_t*>(data);
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t v;
      if (EmulError e = port_in(port, size, &v); e != EmulError::none) return e;
      for (unsigned b = 0; b < size; ++b) d[i * size + b] = static_cast<uint8_t>(v >> (8 * b));
    }
    return EmulError::none;
  }
  EmulError port_outs(uint16_t port, uint8_t size, const void* data, uint32_t count) override {
    const auto* s = static_cast<const uint8_t*>(data);
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t v = 0;
      for (unsigned b = 0; b < size; ++b) v |= uint32_t{s[i * size + b]} << (8 * b);
      if (EmulError e = port_out(port, size, v); e != EmulError::none) return e;
    }
    return EmulError::none;
  }
  // Bounded so that a long REP re-executes instead of holding the handler.
  uint32_t max_string_bytes() const override { return 256; }

 private:
  Module& m_;
};

// Instruction exits report the instruction length (TDX module ABI,
// TDG.VP.VEINFO.GET: R10[31:0]); it must agree with the decoded one.
EmulError check(const x86::Insn& insn, Kind k, const tdx::VeInfo& info) {
  if (insn.kind != k) return EmulError::wrong_instruction;
  if (info.insn_length && info.insn_length != insn.length) return EmulError::wrong_instruction;
  return EmulError::none;
}

}  // namespace

EmulError handle(const tdx::VeInfo& info, Regs& regs, platform::GuestMemory& mem, Module& m) {
  const auto reason = static_cast<ExitReason>(info.exit_reason);
  switch (reason) {
    case ExitReason::cpuid: case ExitReason::hlt: case ExitReason::io:
    case ExitReason::msr_read: case ExitReason::msr_write: case ExitReason::ept_violation:
      break;
    default: return EmulError::unsupported_exit;
  }
  x86::Insn insn;
  if (EmulError e = platform::fetch_and_decode(regs, mem, &insn); e != EmulError::none) return e;

  VmcallBus bus(m);
  EmulError e = EmulError::none;
  tdx::TdvmcallResult r{};
  switch (reason) {
    case ExitReason::io: {
      // The exit qualification must describe the instruction we decoded
      // (Intel SDM vol.3 table 28-5).
      tdx::IoQualification q = tdx::IoQualification::decode(info.exit_qualification);
      platform::PortAccess a;
      if (!platform::port_access(insn, regs, &a) || a.in != q.in || a.size != q.size ||
          a.string != q.string)
        return EmulError::wrong_instruction;
      return platform::emulate_io(insn, regs, mem, bus);
    }
    case ExitReason::ept_violation: return platform::emulate_mmio(insn, regs, mem, bus);
    case ExitReason::cpuid:
      if ((e = check(insn, Kind::cpuid, info)) != EmulError::none) return e;
      e = call(m,
               tdx::vmcall::cpuid(static_cast<uint32_t>(regs[Gpr::rax]),
                                  static_cast<uint32_t>(regs[Gpr::rcx])),
               &r);
      if (e != EmulError::none) return e;
      regs[Gpr::rax] = static_cast<uint32_t>(r.r12);
      regs[Gpr::rbx] = static_cast<uint32_t>(r.r13);
      regs[Gpr::rcx] = static_cast<uint32_t>(r.r14);
      regs[Gpr::rdx] = static_cast<uint32_t>(r.r15);
      break;
    case ExitReason::hlt:
      if ((e = check(insn, Kind::hlt, info)) != EmulError::none) return e;
      e = call(m, tdx::vmcall::hlt(!(regs.rflags & rflags::kInterrupt)));
      break;
    case ExitReason::msr_read:
      if ((e = check(insn, Kind::rdmsr, info)) != EmulError::none) return e;
      e = call(m, tdx::vmcall::rdmsr(static_cast<uint32_t>(regs[Gpr::rcx])), &r);
      if (e != EmulError::none) return e;
      regs[Gpr::rax] = static_cast<uint32_t>(r.r11);
      regs[Gpr::rdx] = r.r11 >> 32;
      break;
    case ExitReason::msr_write:
      if ((e = check(insn, Kind::wrmsr, info)) != EmulError::none) return e;
      e = call(m, tdx::vmcall::wrmsr(static_cast<uint32_t>(regs[Gpr::rcx]),
                                     (regs[Gpr::rdx] << 32) | static_cast<uint32_t>(regs[Gpr::rax])));
      break;
    default: return EmulError::unsupported_exit;
  }
  if (e == EmulError::none) regs.rip += insn.length;
  return e;
}

}  // namespace ve
