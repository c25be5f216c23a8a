#include "platform/loopback.h"

#include <cstddef>
#include <initializer_list>

#include "cpu/exceptions.h"
#include "cpu/processor.h"

namespace platform {
namespace {

using ghcb::ExitCode;
using ghcb::Page;

constinit Page loopback_ghcb = {};

// SW_EXITINFO1 = 1 with an event to inject in SW_EXITINFO2, in the EVENTINJ
// format (APM vol.2 §15.20): vector, type 3 (exception), error code valid,
// valid.
constexpr uint64_t kReplyError = 1;
constexpr uint64_t kEventException = 3ull << 8;
constexpr uint64_t kEventErrorValid = 1ull << 11;
constexpr uint64_t kEventValid = 1ull << 31;

// KVM's answer to an unknown hypercall number (-KVM_ENOSYS), which is what
// the loopback gives every VMMCALL.
constexpr uint64_t kHypercallUnknown = static_cast<uint64_t>(-1000);

uint32_t native_in(uint16_t port, uint8_t size) {
  if (size == 1) return cpu::inb(port);
  if (size == 2) return cpu::inw(port);
  return cpu::inl(port);
}

void native_out(uint16_t port, uint8_t size, uint32_t v) {
  if (size == 1) cpu::outb(port, static_cast<uint8_t>(v));
  else if (size == 2) cpu::outw(port, static_cast<uint16_t>(v));
  else cpu::outl(port, v);
}

uint64_t native_mmio_read(uint64_t gpa, uint8_t size) {
  switch (size) {
    case 1: return *reinterpret_cast<const volatile uint8_t*>(gpa);
    case 2: return *reinterpret_cast<const volatile uint16_t*>(gpa);
    case 4: return *reinterpret_cast<const volatile uint32_t*>(gpa);
    default: return *reinterpret_cast<const volatile uint64_t*>(gpa);
  }
}

void native_mmio_write(uint64_t gpa, uint8_t size, uint64_t v) {
  switch (size) {
    case 1: *reinterpret_cast<volatile uint8_t*>(gpa) = static_cast<uint8_t>(v); break;
    case 2: *reinterpret_cast<volatile uint16_t*>(gpa) = static_cast<uint16_t>(v); break;
    case 4: *reinterpret_cast<volatile uint32_t*>(gpa) = static_cast<uint32_t>(v); break;
    default: *reinterpret_cast<volatile uint64_t*>(gpa) = v; break;
  }
}

uint64_t read_dr7() {
  uint64_t v;
  asm volatile("mov %%dr7, %0" : "=r"(v));
  return v;
}

void write_dr7(uint64_t v) { asm volatile("mov %0, %%dr7" ::"r"(v)); }

uint8_t* scratch(const Page& g) { return reinterpret_cast<uint8_t*>(g.sw_scratch); }

void inject(Page& g, Vec v, bool error_code) {
  g.sw_exit_info1 = kReplyError;
  g.sw_exit_info2 = static_cast<uint8_t>(v) | kEventException | kEventValid |
                    (error_code ? kEventErrorValid : 0);
}

// Per request: the inputs the GHCB spec requires must be marked valid, as a
// hypervisor checks them; a missing one gets #GP injected.
bool need(Page& g, std::initializer_list<size_t> offsets) {
  for (size_t off : offsets)
    if (!g.is_valid(off)) {
      inject(g, Vec::GP, true);
      return false;
    }
  return true;
}

}  // namespace

Page& LoopbackVc::ghcb() { return loopback_ghcb; }
uint64_t LoopbackVc::ghcb_gpa() { return reinterpret_cast<uint64_t>(&loopback_ghcb); }

bool LoopbackVc::translate(uint64_t la, uint64_t* gpa, bool* shared) {
  bool ignored;
  if (!LiveMemory::translate(la, gpa, &ignored)) return false;
  *shared = mmio_.contains(*gpa);
  return true;
}

void LoopbackVc::vmgexit() {
  Page& g = loopback_ghcb;
  ++log.exits;
  log.last_code = g.sw_exit_code;
  log.last_info1 = g.sw_exit_info1;
  log.last_info2 = g.sw_exit_info2;
  log.last_scratch = g.is_valid(offsetof(Page, sw_scratch)) ? g.sw_scratch : 0;
  // Inputs are checked against the valid bitmap first; the reply then
  // marks exactly the fields it returns.
  const uint64_t info1 = g.sw_exit_info1, info2 = g.sw_exit_info2;
  g.sw_exit_info1 = 0;
  g.sw_exit_info2 = 0;
  if (refuse_next) {
    refuse_next = false;
    inject(g, Vec::GP, true);
    return;
  }

  switch (static_cast<ExitCode>(g.sw_exit_code)) {
    case ExitCode::cpuid: {
      if (!need(g, {offsetof(Page, rax), offsetof(Page, rcx)})) break;
      cpu::CpuidResult r = cpu::cpuid(static_cast<uint32_t>(g.rax), static_cast<uint32_t>(g.rcx));
      for (uint8_t& b : g.valid_bitmap) b = 0;
      g.set_rax(r.eax);
      g.set_rbx(r.ebx);
      g.set_rcx(r.ecx);
      g.set_rdx(r.edx);
      break;
    }
    case ExitCode::ioio: {
      ghcb::IoioInfo io = ghcb::IoioInfo::decode(info1);
      if (io.string) {
        if (!need(g, {offsetof(Page, sw_scratch)})) break;
        uint8_t* buf = scratch(g);
        for (uint64_t i = 0; i < info2; ++i) {
          if (io.in) {
            uint32_t v = native_in(io.port, io.size);
            for (unsigned b = 0; b < io.size; ++b) buf[i * io.size + b] = static_cast<uint8_t>(v >> (8 * b));
          } else {
            uint32_t v = 0;
            for (unsigned b = 0; b < io.size; ++b) v |= uint32_t{buf[i * io.size + b]} << (8 * b);
            native_out(io.port, io.size, v);
          }
        }
        for (uint8_t& b : g.valid_bitmap) b = 0;
      } else if (io.in) {
        for (uint8_t& b : g.valid_bitmap) b = 0;
        g.set_rax(native_in(io.port, io.size));
      } else {
        if (!need(g, {offsetof(Page, rax)})) break;
        native_out(io.port, io.size, static_cast<uint32_t>(g.rax));
        for (uint8_t& b : g.valid_bitmap) b = 0;
      }
      break;
    }
    case ExitCode::msr:
      if (info1 == ghcb::kMsrRead) {
        if (!need(g, {offsetof(Page, rcx)})) break;
        SafeResult<uint64_t> r = rdmsr_safe(static_cast<uint32_t>(g.rcx));
        if (!r.ok()) {
          inject(g, Vec::GP, true);
          break;
        }
        for (uint8_t& b : g.valid_bitmap) b = 0;
        g.set_rax(static_cast<uint32_t>(r.value));
        g.set_rdx(r.value >> 32);
      } else {
        if (!need(g, {offsetof(Page, rcx), offsetof(Page, rax), offsetof(Page, rdx)})) break;
        if (wrmsr_safe(static_cast<uint32_t>(g.rcx), (g.rdx << 32) | static_cast<uint32_t>(g.rax))) {
          inject(g, Vec::GP, true);
          break;
        }
        for (uint8_t& b : g.valid_bitmap) b = 0;
      }
      break;
    case ExitCode::mmio_read:
    case ExitCode::mmio_write: {
      if (!need(g, {offsetof(Page, sw_scratch)})) break;
      const uint8_t size = static_cast<uint8_t>(info2);
      uint8_t* buf = scratch(g);
      if (static_cast<ExitCode>(g.sw_exit_code) == ExitCode::mmio_read) {
        uint64_t v = native_mmio_read(info1, size);
        for (unsigned b = 0; b < size; ++b) buf[b] = static_cast<uint8_t>(v >> (8 * b));
      } else {
        uint64_t v = 0;
        for (unsigned b = 0; b < size; ++b) v |= uint64_t{buf[b]} << (8 * b);
        native_mmio_write(info1, size, v);
      }
      for (uint8_t& b : g.valid_bitmap) b = 0;
      break;
    }
    case ExitCode::rdtsc:
    case ExitCode::rdtscp: {
      uint32_t lo, hi, aux = 0;
      if (static_cast<ExitCode>(g.sw_exit_code) == ExitCode::rdtscp)
        asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
      else
        asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
      for (uint8_t& b : g.valid_bitmap) b = 0;
      g.set_rax(lo);
      g.set_rdx(hi);
      if (static_cast<ExitCode>(g.sw_exit_code) == ExitCode::rdtscp) g.set_rcx(aux);
      break;
    }
    case ExitCode::vmmcall:
      if (!need(g, {offsetof(Page, rax), offsetof(Page, cpl)})) break;
      for (uint8_t& b : g.valid_bitmap) b = 0;
      g.set_rax(kHypercallUnknown);
      break;
    case ExitCode::wbinvd:
      asm volatile("wbinvd" ::: "memory");
      for (uint8_t& b : g.valid_bitmap) b = 0;
      break;
    case ExitCode::dr7_read:
      for (uint8_t& b : g.valid_bitmap) b = 0;
      g.set_rax(read_dr7());
      break;
    case ExitCode::dr7_write:
      if (!need(g, {offsetof(Page, rax)})) break;
      write_dr7(g.rax);
      for (uint8_t& b : g.valid_bitmap) b = 0;
      break;
    default:
      inject(g, Vec::UD, false);
      break;
  }
}

uint64_t LoopbackVc::msr_protocol(uint64_t request) {
  ++log.exits;
  log.last_code = request & ghcb::msr::kInfoMask;
  if (ghcb::msr::info_of(request) != ghcb::msr::Info::cpuid_request) return 0;
  const uint32_t leaf = static_cast<uint32_t>(request >> 32);
  const uint8_t reg = (request >> 30) & 3;
  cpu::CpuidResult r = cpu::cpuid(leaf, 0);
  const uint32_t vals[4] = {r.eax, r.ebx, r.ecx, r.edx};
  return uint64_t{vals[reg]} << 32 | uint64_t{reg} << 30 |
         static_cast<uint64_t>(ghcb::msr::Info::cpuid_response);
}

void LoopbackVc::terminate(uint8_t reason_set, uint8_t reason_code) {
  log.terminated = true;
  log.reason_set = reason_set;
  log.reason_code = reason_code;
}

bool LoopbackVe::translate(uint64_t la, uint64_t* gpa, bool* shared) {
  bool ignored;
  if (!LiveMemory::translate(la, gpa, &ignored)) return false;
  *shared = mmio_.contains(*gpa);
  return true;
}

void LoopbackVe::tdcall(tdx::TdcallRegs& r) {
  switch (static_cast<tdx::Leaf>(r.rax)) {
    case tdx::Leaf::vp_veinfo_get:
      r.rcx = next.exit_reason;
      r.rdx = next.exit_qualification;
      r.r8 = next.gla;
      r.r9 = next.gpa;
      r.r10 = next.insn_length | uint64_t{next.insn_info} << 32;
      r.rax = 0;
      return;
    case tdx::Leaf::vp_vmcall: vmcall(r); return;
    default:
      // TDX module "operand invalid" class of status (bit 63 set).
      r.rax = 0xc000010000000000ull;
      return;
  }
}

void LoopbackVe::vmcall(tdx::TdcallRegs& r) {
  ++log.exits;
  log.last_code = r.r11;
  log.last_info1 = r.r12;
  log.last_info2 = r.r13;
  r.rax = 0;
  // The VMM sees only the registers RCX exposes (TDX module ABI,
  // TDG.VP.VMCALL); the standard sub-functions need R10-R15.
  if ((r.rcx & tdx::kExposeR10ToR15) != tdx::kExposeR10ToR15 || r.r10 != tdx::kStandardVmcall) {
    r.r10 = tdx::kVmcallOperandInvalid;
    return;
  }
  r.r10 = tdx::kVmcallSuccess;
  switch (static_cast<tdx::Vmcall>(r.r11)) {
    case tdx::Vmcall::cpuid: {
      cpu::CpuidResult c = cpu::cpuid(static_cast<uint32_t>(r.r12), static_cast<uint32_t>(r.r13));
      r.r12 = c.eax;
      r.r13 = c.ebx;
      r.r14 = c.ecx;
      r.r15 = c.edx;
      return;
    }
    case tdx::Vmcall::hlt: ++log.hlts; return;
    case tdx::Vmcall::io: {
      const auto size = static_cast<uint8_t>(r.r12);
      const auto port = static_cast<uint16_t>(r.r14);
      if (size != 1 && size != 2 && size != 4) {
        r.r10 = tdx::kVmcallOperandInvalid;
        return;
      }
      if (r.r13 == 0)
        r.r11 = native_in(port, size);
      else
        native_out(port, size, static_cast<uint32_t>(r.r15));
      return;
    }
    case tdx::Vmcall::rdmsr: {
      SafeResult<uint64_t> v = rdmsr_safe(static_cast<uint32_t>(r.r12));
      if (!v.ok()) r.r10 = tdx::kVmcallOperandInvalid;
      else r.r11 = v.value;
      return;
    }
    case tdx::Vmcall::wrmsr:
      if (wrmsr_safe(static_cast<uint32_t>(r.r12), r.r13)) r.r10 = tdx::kVmcallOperandInvalid;
      return;
    case tdx::Vmcall::mmio: {
      const auto size = static_cast<uint8_t>(r.r12);
      if (!mmio_.contains(r.r14) || (size != 1 && size != 2 && size != 4 && size != 8)) {
        r.r10 = tdx::kVmcallOperandInvalid;
        return;
      }
      if (r.r13 == 0)
        r.r11 = native_mmio_read(r.r14, size);
      else
        native_mmio_write(r.r14, size, r.r15);
      return;
    }
    case tdx::Vmcall::report_fatal_error:
      log.terminated = true;
      log.reason_code = r.r12;
      return;
    default: r.r10 = tdx::kVmcallOperandInvalid; return;
  }
}

}  // namespace platform
