// Guest-only wrappers of the confidential-computing instructions. Not built
// for the host: the encodings they carry are tested through ghcb.h/tdx.h.
#pragma once

#include <cstdint>

#include "platform/ghcb.h"
#include "platform/tdx.h"

namespace platform {

inline uint64_t read_ghcb_msr() {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(ghcb::kMsrGhcb));
  return uint64_t{hi} << 32 | lo;
}

inline void write_ghcb_msr(uint64_t v) {
  asm volatile("wrmsr" ::"c"(ghcb::kMsrGhcb), "a"(static_cast<uint32_t>(v)),
               "d"(static_cast<uint32_t>(v >> 32))
               : "memory");
}

// VMGEXIT is REP VMMCALL (APM vol.3, VMGEXIT). The hypervisor reads the GHCB
// (or the GHCB MSR) and may write any of it, hence the memory clobber.
inline void vmgexit() { asm volatile("rep; vmmcall" ::: "memory"); }

// One GHCB MSR protocol round trip: write the request, exit, read the reply
// (GHCB spec §2.3.1). Interrupts must be off: a #VC in between would reuse
// the MSR.
inline uint64_t ghcb_msr_call(uint64_t request) {
  write_ghcb_msr(request);
  vmgexit();
  return read_ghcb_msr();
}

// TDCALL (66 0F 01 CC, spelled as bytes for assemblers that predate it). All
// registers of TdcallRegs are inputs and outputs; the TDX module preserves
// the others (TDX Module ABI, TDCALL).
inline void tdcall(tdx::TdcallRegs& r) {
  register uint64_t r8 asm("r8") = r.r8;
  register uint64_t r9 asm("r9") = r.r9;
  register uint64_t r10 asm("r10") = r.r10;
  register uint64_t r11 asm("r11") = r.r11;
  register uint64_t r12 asm("r12") = r.r12;
  register uint64_t r13 asm("r13") = r.r13;
  register uint64_t r14 asm("r14") = r.r14;
  register uint64_t r15 asm("r15") = r.r15;
  asm volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
               : "+a"(r.rax), "+c"(r.rcx), "+d"(r.rdx), "+b"(r.rbx), "+S"(r.rsi), "+D"(r.rdi),
                 "+r"(r8), "+r"(r9), "+r"(r10), "+r"(r11), "+r"(r12), "+r"(r13), "+r"(r14),
                 "+r"(r15)
               :
               : "memory");
  r.r8 = r8;
  r.r9 = r9;
  r.r10 = r10;
  r.r11 = r11;
  r.r12 = r12;
  r.r13 = r13;
  r.r14 = r14;
  r.r15 = r15;
}

// PVALIDATE (F2 0F 01 FF, AMD APM vol.3): RAX = linear address, ECX = page
// size (0 = 4 KiB, 1 = 2 MiB), EDX = 1 validate / 0 rescind. EAX returns the
// status; CF=1 means the RMP entry already had the requested state.
struct PvalidateResult {
  uint32_t status;
  bool unchanged;
};
inline PvalidateResult pvalidate(uint64_t va, bool huge, bool validate) {
  uint64_t rax = va;
  bool cf;
  asm volatile(".byte 0xf2, 0x0f, 0x01, 0xff"
               : "+a"(rax), "=@ccc"(cf)
               : "c"(huge ? 1u : 0u), "d"(validate ? 1u : 0u)
               : "memory");
  return PvalidateResult{static_cast<uint32_t>(rax), cf};
}

inline tdx::TdvmcallResult tdvmcall(const tdx::TdvmcallArgs& args) {
  tdx::TdcallRegs r = tdx::encode(args);
  tdcall(r);
  return tdx::decode_result(r);
}

}  // namespace platform
