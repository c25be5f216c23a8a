// xsave: XCR0, XSETBV's rules, and XSAVE-family round trips of x87, SSE and
// AVX state (Intel SDM vol.1 ch.13, vol.2 XSAVE/XRSTOR/XSETBV/XGETBV
// entries; AMD APM vol.2 §11.5).
//
// - XCR0 holds only what CPUID.(EAX=0DH,ECX=0):EDX:EAX enumerates, with
//   bit 0 set (SDM vol.1 §13.3).
// - XSETBV raises #GP(0) for: bit 0 clear; AVX without SSE; AVX-512 bits
//   5-7 not all together, or without AVX; a bit CPUID does not enumerate;
//   ECX other than 0; CPL > 0 (SDM vol.2B "XSETBV", vol.1 §13.3).
// - With CR4.OSXSAVE clear, XGETBV and XSETBV raise #UD.
// - XSAVE, XSAVEOPT and XSAVEC (each where CPUID.(0DH,1):EAX enumerates it)
//   followed by XRSTOR give back the x87 control word, XMM0-15 and (with
//   AVX enabled) the upper halves of YMM0-15 exactly; XSTATE_BV shows the
//   components in use, and XSAVEC sets XCOMP_BV bit 63 (SDM vol.1 §13.4.2,
//   §13.9-13.11). XINUSE (XGETBV with ECX=1, CPUID.(0DH,1):EAX[2]) has a
//   component's bit set once the component leaves its initial state
//   (SDM vol.1 §13.6).
// - An XSAVE area that is not 64-byte aligned gives #GP(0).
// - The state survives our exception paths: a #UD caught by catch_fault
//   leaves XMM and YMM as they were.
// A CPU without XSAVE (CPUID.1:ECX[26]) SKIPs, after checking that setting
// CR4.OSXSAVE then raises #GP. AVX checks need CPUID.1:ECX[28].
#include <cstdint>

#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "cpu/usermode.h"
#include "cpu/xsave.h"
#include "rt/expect.h"
#include "rt/format.h"
#include "rt/report.h"
#include "rt/string.h"

namespace {

using namespace cpu::feature;
namespace xcr0 = cpu::xcr0;

constexpr unsigned kAreaSize = 4096;
alignas(64) uint8_t area[kAreaSize + 64];

// 16 XMM registers, and the upper 128 bits of the 16 YMM registers.
struct Vectors {
  uint8_t xmm[16][16];
  uint8_t ymm_hi[16][16];
};

void fill(Vectors* v, uint8_t seed) {
  for (unsigned r = 0; r < 16; ++r)
    for (unsigned b = 0; b < 16; ++b) {
      v->xmm[r][b] = static_cast<uint8_t>(seed + r * 16 + b);
      v->ymm_hi[r][b] = static_cast<uint8_t>(0x80 ^ (seed + r * 7 + b * 3));
    }
}

#define XMM_ALL(op) \
  op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11) op(12) op(13) op(14) op(15)

void load_xmm(const Vectors& v) {
#define LOAD(n) asm volatile("movdqu %0, %%xmm" #n ::"m"(v.xmm[n]));
  XMM_ALL(LOAD)
#undef LOAD
}
void store_xmm(Vectors* v) {
#define STORE(n) asm volatile("movdqu %%xmm" #n ", %0" : "=m"(v->xmm[n]));
  XMM_ALL(STORE)
#undef STORE
}
// The upper halves through VINSERTI128/VEXTRACTI128 would need AVX2;
// VINSERTF128/VEXTRACTF128 are AVX.
void load_ymm_hi(const Vectors& v) {
#define LOAD(n) asm volatile("vinsertf128 $1, %0, %%ymm" #n ", %%ymm" #n ::"m"(v.ymm_hi[n]));
  XMM_ALL(LOAD)
#undef LOAD
}
void store_ymm_hi(Vectors* v) {
#define STORE(n) asm volatile("vextractf128 $1, %%ymm" #n ", %0" : "=m"(v->ymm_hi[n]));
  XMM_ALL(STORE)
#undef STORE
}
void clobber_vectors(bool avx) {
  if (avx) {
    asm volatile("vzeroall");
    return;
  }
#define ZERO(n) asm volatile("pxor %xmm" #n ", %xmm" #n);
  XMM_ALL(ZERO)
#undef ZERO
}
#undef XMM_ALL

uint16_t fpu_cw() {
  uint16_t cw;
  asm volatile("fnstcw %0" : "=m"(cw));
  return cw;
}
void set_fpu_cw(uint16_t cw) { asm volatile("fldcw %0" ::"m"(cw)); }

enum class Op { xsave, xsaveopt, xsavec };
const char* op_str(Op op) {
  switch (op) {
    case Op::xsave: return "XSAVE";
    case Op::xsaveopt: return "XSAVEOPT";
    case Op::xsavec: return "XSAVEC";
  }
  return "?";
}

void save(Op op, void* a, uint64_t rfbm) {
  const uint32_t lo = static_cast<uint32_t>(rfbm), hi = static_cast<uint32_t>(rfbm >> 32);
  switch (op) {
    case Op::xsave: asm volatile("xsave64 (%0)" ::"r"(a), "a"(lo), "d"(hi) : "memory"); break;
    case Op::xsaveopt: asm volatile("xsaveopt64 (%0)" ::"r"(a), "a"(lo), "d"(hi) : "memory"); break;
    case Op::xsavec: asm volatile("xsavec64 (%0)" ::"r"(a), "a"(lo), "d"(hi) : "memory"); break;
  }
}
void restore(const void* a, uint64_t rfbm) {
  asm volatile("xrstor64 (%0)" ::"r"(a), "a"(static_cast<uint32_t>(rfbm)),
               "d"(static_cast<uint32_t>(rfbm >> 32))
               : "memory");
}
ExInfo save_safe(void* a, uint64_t rfbm) {
  return catch_fault([&] { save(Op::xsave, a, rfbm); });
}
ExInfo restore_safe(const void* a, uint64_t rfbm) {
  return catch_fault([&] { restore(a, rfbm); });
}

const cpu::XsaveHeader& header(const void* a) {
  const uint8_t* base = static_cast<const uint8_t*>(a);
  return *reinterpret_cast<const cpu::XsaveHeader*>(base + cpu::kXsaveHeaderOffset);
}

// --- XCR0 and XSETBV --------------------------------------------------------------

void xsetbv_rules(uint64_t supported, uint64_t original) {
  ReportPrefix p("XSETBV");
  const uint64_t now = cpu::xgetbv(0);
  report((now & ~supported) == 0 && (now & xcr0::X87), "XCR0 0x%lx is within CPUID's 0x%lx, x87 set", now,
         supported);
  auto gp = [&](uint64_t value, uint32_t index, const char* what) {
    ExInfo e = xsetbv_safe(index, value);
    if (!e.faulted()) (void)xsetbv_safe(0, original);
    report_fault(e, ExInfo(Vec::GP, 0), what);
  };
  gp(supported & ~xcr0::X87, 0, "bit 0 (x87) clear");
  if (supported & xcr0::AVX) gp(xcr0::X87 | xcr0::AVX, 0, "AVX without SSE");
  if ((supported & xcr0::AVX512) == xcr0::AVX512) {
    const bool tcg = known_tcg_difference("QEMU 7.2's XSETBV does not check that XCR0 bits 5-7 "
                                          "(AVX-512) are set together and with AVX");
    auto gp_xfail = [&](uint64_t value, const char* what) {
      ExInfo e = xsetbv_safe(0, value);
      if (!e.faulted()) (void)xsetbv_safe(0, original);
      report_fault_xfail(tcg, e, ExInfo(Vec::GP, 0), what);
    };
    gp_xfail(xcr0::X87 | xcr0::SSE | xcr0::AVX | xcr0::OPMASK, "AVX-512 opmask without the ZMM components");
    gp_xfail(xcr0::X87 | xcr0::SSE | xcr0::AVX512, "AVX-512 without AVX");
  } else {
    report_skip("AVX-512 combinations: CPUID.(EAX=0DH,ECX=0):EAX bits 5-7 not all enumerated");
  }
  unsigned bit = 1;
  while (bit < 63 && (supported & (1ull << bit))) ++bit;
  char what[64];
  rt::snprintf(what, sizeof(what), "bit %u, which CPUID does not enumerate", bit);
  gp(original | (1ull << bit), 0, what);
  gp(original, 1, "ECX=1 (XCR1 is not writable)");
  UserResult u = run_user([&] {
    asm volatile("xsetbv" ::"c"(0), "a"(static_cast<uint32_t>(original)),
                 "d"(static_cast<uint32_t>(original >> 32)));
  });
  report_fault(u.ex, ExInfo(Vec::GP, 0), "XSETBV at CPL3");
  report(cpu::xgetbv(0) == original, "XCR0 still 0x%lx after all of these", original);
}

// --- round trips ----------------------------------------------------------------

void round_trip(Op op, uint64_t enabled, bool avx) {
  char name[48];
  rt::snprintf(name, sizeof(name), "%s+XRSTOR", op_str(op));
  ReportPrefix p(name);
  uint8_t* a = area;
  memset(a, 0, kAreaSize);
  Vectors want, got;
  fill(&want, static_cast<uint8_t>(0x11 + static_cast<unsigned>(op)));
  const uint16_t cw0 = fpu_cw(), cw = static_cast<uint16_t>((cw0 & ~0x0c00u) | 0x0c00u);  // RC: truncate
  set_fpu_cw(cw);
  load_xmm(want);
  if (avx) load_ymm_hi(want);
  save(op, a, enabled);
  const cpu::XsaveHeader h = header(a);
  set_fpu_cw(cw0);
  clobber_vectors(avx);
  restore(a, enabled);
  const uint16_t cw_back = fpu_cw();
  store_xmm(&got);
  if (avx) store_ymm_hi(&got);
  set_fpu_cw(cw0);
  report(cw_back == cw, "the x87 control word comes back (0x%x, want 0x%x)", cw_back, cw);
  report(!memcmp(got.xmm, want.xmm, sizeof(want.xmm)), "XMM0-15 come back");
  if (avx)
    report(!memcmp(got.ymm_hi, want.ymm_hi, sizeof(want.ymm_hi)), "the upper halves of YMM0-15 come back");
  const uint64_t in_use = xcr0::X87 | xcr0::SSE | (avx ? xcr0::AVX : 0);
  report((h.xstate_bv & in_use) == in_use && (h.xstate_bv & ~enabled) == 0,
         "XSTATE_BV 0x%lx has the components in use (0x%lx) and none outside XCR0", h.xstate_bv, in_use);
  if (op == Op::xsavec)
    // XCOMP_BV = bit 63 | (XCR0 & RFBM) (SDM vol.1 §13.10).
    report(h.xcomp_bv == (cpu::kXcompBvCompacted | enabled), "XCOMP_BV 0x%lx: bit 63 and XCR0 & RFBM (0x%lx)",
           h.xcomp_bv, cpu::kXcompBvCompacted | enabled);
  else
    report(h.xcomp_bv == 0, "XCOMP_BV is 0 in the standard format (0x%lx)", h.xcomp_bv);
}

void xinuse(bool avx) {
  ReportPrefix p("XINUSE");
  if (!cpu::has(kXgetbv1)) {
    report_skip("%s clear", kXgetbv1.name);
    return;
  }
  Vectors v;
  fill(&v, 0x5c);
  load_xmm(v);
  uint64_t in_use = cpu::xgetbv(1);
  report(in_use & xcr0::SSE, "XINUSE has SSE once XMM registers are non-zero (0x%lx)", in_use);
  if (avx) {
    load_ymm_hi(v);
    in_use = cpu::xgetbv(1);
    report(in_use & xcr0::AVX, "XINUSE has AVX once the upper YMM halves are non-zero (0x%lx)", in_use);
    asm volatile("vzeroupper");
    report_info("after VZEROUPPER XINUSE is 0x%lx (the AVX bit may or may not clear)", cpu::xgetbv(1));
  }
}

void alignment(uint64_t enabled) {
  ReportPrefix p("alignment");
  uint8_t* odd = area + 8;
  report_fault(save_safe(odd, enabled), ExInfo(Vec::GP, 0), "XSAVE to an area 8 bytes off 64-byte alignment");
  save(Op::xsave, area, enabled);
  memcpy(odd, area, 1024);
  report_fault(restore_safe(odd, enabled), ExInfo(Vec::GP, 0), "XRSTOR from a misaligned area");
}

void survives_exceptions(bool avx) {
  ReportPrefix p("exception path");
  Vectors want, got;
  fill(&want, 0xa7);
  load_xmm(want);
  if (avx) load_ymm_hi(want);
  ExInfo e = catch_fault([] { asm volatile("ud2"); });
  store_xmm(&got);
  if (avx) store_ymm_hi(&got);
  report(e == ExInfo(Vec::UD), "a #UD is caught");
  report(!memcmp(got.xmm, want.xmm, sizeof(want.xmm)), "XMM0-15 unchanged across it");
  if (avx)
    report(!memcmp(got.ymm_hi, want.ymm_hi, sizeof(want.ymm_hi)), "the upper YMM halves unchanged across it");
}

void osxsave_clear() {
  ReportPrefix p("CR4.OSXSAVE=0");
  const uint64_t cr4 = cpu::read_cr4();
  cpu::write_cr4(cr4 & ~cpu::cr4::OSXSAVE);
  ExInfo g = catch_fault([] { (void)cpu::xgetbv(0); });
  ExInfo s = xsetbv_safe(0, xcr0::X87);
  cpu::write_cr4(cr4);
  report_fault(g, ExInfo(Vec::UD), "XGETBV");
  report_fault(s, ExInfo(Vec::UD), "XSETBV");
}

}  // namespace

int main() {
  if (!cpu::has(kXsave)) {
    // CR4.OSXSAVE is reserved then (SDM vol.3 §2.5), so setting it is #GP.
    if (known_tcg_difference("MOV to CR4 with a reserved bit set performs an SVM #VMEXIT "
                             "(VMEXIT_INVALID) even outside a guest, instead of #GP(0)")) {
      report_skip("setting CR4.OSXSAVE without XSAVE: not run under TCG, the guest would not come back");
    } else {
      const uint64_t cr4 = cpu::read_cr4();
      ExInfo e = write_cr4_safe(cr4 | cpu::cr4::OSXSAVE);
      if (!e.faulted()) cpu::write_cr4(cr4);
      report_fault(e, ExInfo(Vec::GP, 0), "setting CR4.OSXSAVE without XSAVE");
    }
    report_skip("%s clear", kXsave.name);
    return report_summary();
  }
  const uint64_t cr4 = cpu::read_cr4();
  cpu::write_cr4(cr4 | cpu::cr4::OSXSAVE);
  const uint64_t xcr0_before = cpu::xgetbv(0);
  const cpu::XsaveInfo info = cpu::xsave_info();
  report_info("XCR0 0x%lx, CPUID supports 0x%lx (XSS 0x%lx); area %u bytes for all", xcr0_before,
              info.supported_xcr0, info.supported_xss, info.size_all);

  // Enable what these checks use: x87, SSE and, where present, AVX.
  const bool avx = cpu::has(kAvx) && (info.supported_xcr0 & xcr0::AVX);
  const uint64_t enabled = xcr0::X87 | xcr0::SSE | (avx ? xcr0::AVX : 0);
  report(!xsetbv_safe(0, enabled).faulted() && cpu::xgetbv(0) == enabled, "XCR0 takes 0x%lx", enabled);
  const uint32_t size = cpu::xsave_info().size_enabled;
  report(size >= 576 && size <= kAreaSize, "CPUID.(0DH,0):EBX gives an area of %u bytes for it", size);
  if (!avx) report_skip("AVX state: %s clear", kAvx.name);

  xsetbv_rules(info.supported_xcr0, enabled);
  round_trip(Op::xsave, enabled, avx);
  if (cpu::has(kXsaveopt)) round_trip(Op::xsaveopt, enabled, avx);
  else report_skip("XSAVEOPT: %s clear", kXsaveopt.name);
  if (cpu::has(kXsavec)) round_trip(Op::xsavec, enabled, avx);
  else report_skip("XSAVEC: %s clear", kXsavec.name);
  if (!cpu::has(kXsaves)) report_skip("XSAVES: %s clear", kXsaves.name);
  xinuse(avx);
  alignment(enabled);
  survives_exceptions(avx);
  osxsave_clear();

  (void)xsetbv_safe(0, xcr0_before);
  cpu::write_cr4(cr4);
  return report_summary();
}
