// xsave: the XSAVE feature set as CPUID leaf 0DH enumerates it, XSETBV's
// rules, and save/restore round trips of x87, SSE, AVX and AVX-512 state.
// CPUID (EAX=0DH,ECX=0) gives the XCR0 bits in EDX:EAX, with bit 0 (x87) always
// set, and in EBX/ECX the area sizes for today's XCR0 and for every
// supported bit; sub-leaf 1 EAX enumerates XSAVEOPT, XSAVEC, XGETBV1 and
// XSAVES, and sub-leaves i >= 2 each component's size and standard-format
// offset (SDM vol.1 §13.2, vol.2A "CPUID"; AMD APM vol.3 appendix E,
// CPUID Fn0000_000D). XSETBV raises #GP(0) at CPL > 0, for ECX != 0, for a bit CPUID does not
// enumerate, for XCR0[0] clear and for AVX without SSE (SDM vol.2B
// "XSETBV", exceptions), for MPX's two bits apart and for AVX-512's bits
// 7:5 not all equal or set without AVX and SSE (SDM vol.1 §13.3; AMD
// APM vol.2 §11.5 "XSAVE/XRSTOR Instructions"); with CR4.OSXSAVE clear
// XGETBV, XSETBV and XSAVE raise #UD, and CPUID.1:ECX[27] follows
// CR4.OSXSAVE (SDM vol.2B "XGETBV", "XSETBV", "XSAVE"). Without
// CPUID.1:ECX[26] XGETBV must raise #UD and the rest SKIPs.
// XSAVE, XSAVEOPT, XSAVEC and XSAVES must store what the registers hold,
// set XSTATE_BV[i] to XINUSE[i] for each requested component, and XRSTOR
// (XRSTORS) must load it back (SDM vol.1 §13.7-§13.12, vol.2 entries);
// XINUSE read by XGETBV with ECX=1 is XCR0 & XINUSE, is 1 for a component
// XRSTOR loaded from memory, and may be 0 only for a component in its
// initial configuration, as after VZEROUPPER for AVX (SDM vol.1 §13.6,
// §13.8.3; it is never required to be 0, so that is reported, not
// demanded); the compacted forms write XCOMP_BV = RFBM | bit 63 and put
// each component where the sizes of those before it, each rounded up to
// 64 bytes where CPUID.(0DH,i):ECX[1] says so, place it (SDM vol.1
// §13.4.3). Where CPUID.(EAX=7,ECX=0):EBX[16] AVX512F and
// CPUID.(0DH,0):EAX[7:5] are set, the round trips run again with XCR0[7:5]
// set: k0-k7 (KMOVQ; KMOVW without AVX512BW), bits 511:256 of ZMM0-15 and
// ZMM16-31 (VMOVDQU64) must be in the opmask, ZMM_Hi256 and Hi16_ZMM
// components, 64, 512 and 1024 bytes, k_i at byte 8i, ZMMi's upper half
// at 32i and ZMM(16+i) at 64i (SDM vol.1 §13.5.5 "AVX-512 State"). XRSTOR
// with XSTATE_BV[i] clear puts component i in its initial configuration
// (for components 5-7: all zeros, SDM vol.1 §13.6), and one whose header has bytes 23:8 non-zero in the standard form raises
// #GP(0) (SDM vol.1 §13.8.1); after XSAVE the whole area is checked
// against what was loaded, and after XRSTOR the registers themselves. An area that is not 64-byte aligned raises
// #GP(0) (SDM vol.2 XSAVE "Protected Mode Exceptions"). Finally the state
// must survive our own exception paths (catch_fault and run_user), which
// are built with -mgeneral-regs-only and do not save it. The runtime leaves
// CR4.OSXSAVE as the firmware set it (OVMF: clear), so the test sets it and
// puts CR4 and XCR0 back. Under QEMU's TCG, XSETBV (target/i386/tcg/
// fpu_helper.c, helper_xsetbv) accepts any enumerated XCR0[7:5] pattern,
// with or without AVX, so the AVX-512 rules are XFAIL there; TCG enumerates
// neither XSAVEC nor XSAVES, and it has no EVEX instructions: it drops
// AVX512F from CPUID leaf 7 even under -cpu Skylake-Server, which keeps
// XCR0[7:5] in leaf 0DH, so the component sizes and XSETBV rules run there
// and the AVX-512 round trips SKIP by AVX512F.
#include <cstdint>

#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "cpu/usermode.h"
#include "cpu/xsave.h"
#include "rt/expect.h"
#include "rt/report.h"
#include "rt/string.h"

namespace {

namespace feature = cpu::feature;
namespace comp = cpu::xsave::component;
using cpu::xsave::Save;

// The vector registers as 32 ZMM-sized slots; x87 as eight 80-bit values.
struct RegFile {
  uint16_t fcw;
  uint32_t mxcsr;
  uint8_t st[8][10];
  alignas(64) uint8_t vec[16][32];  // YMM0-15 (the low 16 bytes: XMM)
};

void fill(RegFile* r, uint8_t seed) {
  r->fcw = 0x027f;  // 53-bit precision: not the FNINIT value
  r->mxcsr = 0x5f83;  // round up, IE and DE flags: not the RESET value
  for (unsigned i = 0; i < 8; ++i) {
    for (unsigned b = 0; b < 8; ++b) r->st[i][b] = uint8_t(seed + 13 * i + b);
    r->st[i][7] |= 0x80;  // integer bit: a normal number
    r->st[i][8] = uint8_t(0x3f + i);
    r->st[i][9] = 0x40;  // exponent 0x40xx, positive
  }
  for (unsigned i = 0; i < 16; ++i)
    for (unsigned b = 0; b < 32; ++b) r->vec[i][b] = uint8_t(seed * 7 + i * 32 + b + 1);
}

#define LD_X(n) "movdqu " #n "*32(%0), %%xmm" #n "\n"
#define LD_Y(n) "vmovdqu " #n "*32(%0), %%ymm" #n "\n"
#define ST_X(n) "movdqu %%xmm" #n ", " #n "*32(%0)\n"
#define ST_Y(n) "vmovdqu %%ymm" #n ", " #n "*32(%0)\n"
#define ALL16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)

// Loads x87, MXCSR and XMM (with `avx`, the whole YMM) registers.
void load(const RegFile& r, bool avx) {
  asm volatile("fninit; fldcw %0" ::"m"(r.fcw));
  for (int i = 7; i >= 0; --i) asm volatile("fldt %0" ::"m"(r.st[i]));
  asm volatile("ldmxcsr %0" ::"m"(r.mxcsr));
  if (avx)
    asm volatile(ALL16(LD_Y) ::"r"(r.vec) : "memory");
  else
    asm volatile(ALL16(LD_X) ::"r"(r.vec) : "memory");
}

// Reads them back; the x87 stack is empty afterwards.
void store(RegFile* r, bool avx) {
  asm volatile("fnstcw %0" : "=m"(r->fcw));
  for (unsigned i = 0; i < 8; ++i) asm volatile("fstpt %0" : "=m"(r->st[i]));
  asm volatile("stmxcsr %0" : "=m"(r->mxcsr));
  if (avx)
    asm volatile(ALL16(ST_Y) ::"r"(r->vec) : "memory");
  else
    asm volatile(ALL16(ST_X) ::"r"(r->vec) : "memory");
}

bool same(const RegFile& a, const RegFile& b, bool avx) {
  if (a.fcw != b.fcw || a.mxcsr != b.mxcsr || memcmp(a.st, b.st, sizeof(a.st))) return false;
  for (unsigned i = 0; i < 16; ++i)
    if (memcmp(a.vec[i], b.vec[i], avx ? 32 : 16)) return false;
  return true;
}

constexpr unsigned kAreaBytes = 16384;
alignas(64) uint8_t area[kAreaBytes];

cpu::xsave::AreaStart* hdr(uint8_t* a) { return reinterpret_cast<cpu::xsave::AreaStart*>(a); }

bool has_avx() {
  return cpu::has(feature::kAvx) && (cpu::xsave::supported_xcr0() & comp::AVX);
}

void cpuid_checks() {
  ReportPrefix p("CPUID 0DH");
  const uint64_t sup = cpu::xsave::supported_xcr0();
  report(sup & comp::X87, "sub-leaf 0 EDX:EAX (0x%lx) has bit 0 (x87)", sup);
  report(!!(sup & comp::SSE) == cpu::has(feature::kSse),
         "bit 1 (SSE) set as %s is", feature::kSse.name);
  report(!!(sup & comp::AVX) == cpu::has(feature::kAvx), "bit 2 (AVX) set as %s is",
         feature::kAvx.name);
  uint32_t max_end = cpu::xsave::kExtendedStart, enabled_end = max_end;
  const uint64_t xcr0 = cpu::xsave::xgetbv(cpu::xsave::kXcr0);
  bool sizes_ok = true;
  for (unsigned i = 2; i < 63; ++i) {
    if (!(sup & (1ull << i))) continue;
    const auto c = cpu::xsave::component_info(i);
    const uint32_t end = c.offset + c.size;
    const bool ok = !c.supervisor && c.size && c.offset >= cpu::xsave::kExtendedStart;
    if (!ok) sizes_ok = false;
    if (end > max_end) max_end = end;
    if ((xcr0 & (1ull << i)) && end > enabled_end) enabled_end = end;
    report_info("component %u: %u bytes at %u%s", i, c.size, c.offset,
                c.align64 ? ", 64-byte aligned when compacted" : "");
  }
  report(sizes_ok, "each supported XCR0 component has a size and an offset >= 576");
  if (sup & comp::AVX) {
    const auto c = cpu::xsave::component_info(2);
    report(c.size == cpu::xsave::kAvxBytes, "AVX state is %u bytes (got %u)",
           cpu::xsave::kAvxBytes, c.size);
  }
  if ((sup & comp::AVX512) == comp::AVX512) {
    static constexpr struct {
      unsigned i;
      uint32_t bytes;
      const char* name;
    } kAvx512[] = {{5, cpu::xsave::kOpmaskBytes, "opmask"},
                   {6, cpu::xsave::kZmmHi256Bytes, "ZMM_Hi256"},
                   {7, cpu::xsave::kHi16ZmmBytes, "Hi16_ZMM"}};
    for (const auto& c : kAvx512) {
      const uint32_t size = cpu::xsave::component_info(c.i).size;
      report(size == c.bytes, "%s state (component %u) is %u bytes (got %u)", c.name, c.i,
             c.bytes, size);
    }
  }
  report(cpu::xsave::supported_size() == max_end,
         "ECX (%u) is the end of the furthest supported component (%u)",
         cpu::xsave::supported_size(), max_end);
  report(cpu::xsave::enabled_size() == enabled_end,
         "EBX (%u) is the end of the furthest component in XCR0 0x%lx (%u)",
         cpu::xsave::enabled_size(), xcr0, enabled_end);
}

void gp(bool xfail, uint32_t ecx, uint64_t value, const char* what) {
  const uint64_t before = cpu::xsave::xgetbv(cpu::xsave::kXcr0);
  ExInfo e = xsetbv_safe(ecx, value);
  if (!e && ecx == 0) (void)xsetbv_safe(0, before);
  report_fault_xfail(xfail, e, ExInfo(Vec::GP, 0), what);
}

void xsetbv_rules() {
  ReportPrefix p("XSETBV");
  const uint64_t sup = cpu::xsave::supported_xcr0();
  const uint64_t base = cpu::xsave::xgetbv(cpu::xsave::kXcr0);
  // Values every CPU with these components accepts; EBX follows XCR0.
  const uint64_t legal[] = {comp::X87, comp::X87 | comp::SSE,
                            comp::X87 | comp::SSE | comp::AVX, sup};
  for (uint64_t v : legal) {
    if ((v & sup) != v) continue;
    ExInfo e = xsetbv_safe(0, v);
    report(!e && cpu::xsave::xgetbv(0) == v, "XCR0 = 0x%lx is accepted and reads back", v);
    uint32_t end = cpu::xsave::kExtendedStart;
    for (unsigned i = 2; i < 63; ++i)
      if (v & (1ull << i)) {
        auto c = cpu::xsave::component_info(i);
        if (c.offset + c.size > end) end = c.offset + c.size;
      }
    report(cpu::xsave::enabled_size() == end, "then CPUID.(0DH,0):EBX is %u (got %u)", end,
           cpu::xsave::enabled_size());
  }
  (void)xsetbv_safe(0, base);

  gp(false, 1, base, "ECX = 1 (XINUSE is read-only)");
  gp(false, 2, base, "ECX = 2");
  gp(false, 0, sup & ~comp::X87, "XCR0[0] (x87) clear");
  if (sup & comp::AVX)
    gp(false, 0, comp::X87 | comp::AVX, "AVX (bit 2) without SSE (bit 1)");
  else
    report_skip("AVX without SSE: CPUID.(0DH,0):EAX[2] is clear");
  if ((sup & comp::AVX512) == comp::AVX512) {
    const bool tcg = known_tcg_difference("XSETBV does not check that XCR0[7:5] are all equal "
                                          "or that they come with AVX");
    const uint64_t avx = comp::X87 | comp::SSE | comp::AVX;
    gp(tcg, 0, avx | comp::OPMASK, "opmask (bit 5) without bits 6-7");
    gp(tcg, 0, avx | comp::ZMM_HI256 | comp::HI16_ZMM, "bits 6-7 without opmask (bit 5)");
    gp(tcg, 0, comp::X87 | comp::SSE | comp::AVX512, "AVX-512 (bits 7:5) without AVX");
  } else {
    report_skip("AVX-512 combinations: CPUID.(0DH,0):EAX[7:5] is not 111b");
  }
  if ((sup & comp::MPX) == comp::MPX)
    gp(false, 0, comp::X87 | comp::BNDREGS, "BNDREGS (bit 3) without BNDCSR (bit 4)");
  else
    report_skip("MPX halves: CPUID.(0DH,0):EAX[4:3] is not 11b");
  unsigned bad = 64;
  for (unsigned i = 0; i < 64; ++i) {
    if (sup & (1ull << i)) continue;
    ExInfo e = xsetbv_safe(0, base | (1ull << i));
    if (!e) (void)xsetbv_safe(0, base);
    if (e != ExInfo(Vec::GP, 0) && bad == 64) bad = i;
  }
  report(bad == 64, "every bit outside EDX:EAX 0x%lx raises #GP(0)%s", sup,
         bad == 64 ? "" : " (one did not)");
  static uint64_t user_value;
  user_value = base;
  UserResult u = run_user([] {
    asm volatile("xsetbv" ::"c"(0), "a"(uint32_t(user_value)), "d"(uint32_t(user_value >> 32)));
  });
  report_fault(u.ex, ExInfo(Vec::GP, 0), "XSETBV at CPL3");
  UserResult g = run_user([] { return cpu::xsave::xgetbv(0); });
  report(g.ok() && g.value == base, "XGETBV works at CPL3 (0x%lx)", g.value);
  report(cpu::xsave::xgetbv(0) == base, "XCR0 back to 0x%lx", base);
}

void osxsave_clear() {
  ReportPrefix p("CR4.OSXSAVE clear");
  const uint64_t cr4 = cpu::read_cr4();
  report(cpu::has(feature::kOsxsave), "%s set while CR4.OSXSAVE is", feature::kOsxsave.name);
  const uint64_t xcr0 = cpu::xsave::xgetbv(0);
  cpu::write_cr4(cr4 & ~cpu::cr4::OSXSAVE);
  const bool flag = cpu::has(feature::kOsxsave);
  ExInfo g = cpu::xsave::xgetbv_safe(0).ex;
  ExInfo s = xsetbv_safe(0, xcr0);
  ExInfo x = catch_fault([] { cpu::xsave::save(Save::xsave, area, ~0ull); });
  cpu::write_cr4(cr4);
  report(!flag, "%s clear", feature::kOsxsave.name);
  report_fault(g, ExInfo(Vec::UD), "XGETBV");
  report_fault(s, ExInfo(Vec::UD), "XSETBV");
  report_fault(x, ExInfo(Vec::UD), "XSAVE");
  report(cpu::read_cr4() == cr4 && cpu::xsave::xgetbv(0) == xcr0, "CR4 and XCR0 restored");
}

// XSTATE_BV after a save of `mask` must be XINUSE & mask for the bits saved.
void check_xstate_bv(const char* what, uint64_t bv, uint64_t mask, uint64_t inuse) {
  if (cpu::has(feature::kXgetbv1))
    report((bv & mask) == (inuse & mask), "%s: XSTATE_BV 0x%lx matches XINUSE 0x%lx", what, bv,
           inuse);
  report((bv & mask) == mask, "%s: XSTATE_BV 0x%lx has every component not in its initial "
         "configuration (0x%lx)", what, bv, mask);
}

void round_trip(Save s) {
  ReportPrefix p(cpu::xsave::save_name(s));
  const bool avx = has_avx();
  const uint64_t mask = comp::X87 | comp::SSE | (avx ? comp::AVX : 0);
  (void)xsetbv_safe(0, mask);
  const bool compacted = s == Save::xsavec || s == Save::xsaves;
  static RegFile want, clobber, got;
  fill(&want, 0x11);
  fill(&clobber, 0x5a);
  memset(area, 0, sizeof(area));
  load(want, avx);
  const uint64_t inuse = cpu::has(feature::kXgetbv1) ? cpu::xsave::xgetbv(1) : 0;
  cpu::xsave::save(s, area, mask);
  auto* a = hdr(area);
  check_xstate_bv("after loading a pattern", a->header.xstate_bv, mask, inuse);
  if (cpu::has(feature::kXgetbv1))
    report((inuse & ~mask) == 0, "XGETBV(1) 0x%lx is within XCR0 0x%lx", inuse, mask);
  if (compacted)
    report(a->header.xcomp_bv == (mask | cpu::xsave::kXcompBvCompacted),
           "XCOMP_BV 0x%lx is RFBM | bit 63", a->header.xcomp_bv);
  else
    report(a->header.xcomp_bv == 0, "XCOMP_BV stays 0 (0x%lx)", a->header.xcomp_bv);
  bool mem_ok = a->legacy.fcw == want.fcw && a->legacy.mxcsr == want.mxcsr &&
                a->legacy.ftw == 0xff;
  for (unsigned i = 0; i < 8; ++i) mem_ok &= !memcmp(a->legacy.st[i], want.st[i], 10);
  for (unsigned i = 0; i < 16; ++i) mem_ok &= !memcmp(a->legacy.xmm[i], want.vec[i], 16);
  if (avx) {
    const uint32_t off = compacted ? cpu::xsave::compacted_offset(mask, 2)
                                   : cpu::xsave::component_info(2).offset;
    for (unsigned i = 0; i < 16; ++i) mem_ok &= !memcmp(area + off + 16 * i, want.vec[i] + 16, 16);
  }
  report(mem_ok, "the area holds FCW, FTW, ST0-7, MXCSR, XMM%s as loaded", avx ? ", YMM_H" : "");
  load(clobber, avx);
  if (s == Save::xsaves)
    cpu::xsave::xrstors(area, mask);
  else
    cpu::xsave::xrstor(area, mask);
  const uint64_t after = cpu::has(feature::kXgetbv1) ? cpu::xsave::xgetbv(1) : mask;
  store(&got, avx);
  report(same(got, want, avx), "%s then reads back the registers", s == Save::xsaves ? "XRSTORS" : "XRSTOR");
  if (cpu::has(feature::kXgetbv1))
    report((after & mask) == mask, "XINUSE 0x%lx has every component loaded from memory", after);
}

// AVX-512: k0-k7 and ZMM0-31 whole. The low 256 bits of ZMM0-15 are
// YMM0-15, so a pattern here also supplies the SSE and AVX components.
struct Avx512File {
  uint64_t k[8];
  alignas(64) uint8_t zmm[32][64];
};

// With AVX512BW the opmask patterns use all 64 bits; without it KMOVW
// reaches bits 15:0 only and clears the rest, so the patterns are 16-bit.
void fill512(Avx512File* r, RegFile* legacy, uint8_t seed, bool bw) {
  for (unsigned i = 0; i < 8; ++i)
    r->k[i] = bw ? 0x9e3779b97f4a7c15ull * (uint64_t(seed) * 8 + i + 1)
                 : uint64_t(seed) << 8 | (i + 1);
  // 37 is odd, so 37i + 1 differs for every register: no two ZMMs alike.
  for (unsigned i = 0; i < 32; ++i)
    for (unsigned b = 0; b < 64; ++b) r->zmm[i][b] = uint8_t((3 * b + seed) ^ (37 * i + 1));
  for (unsigned i = 0; i < 16; ++i) memcpy(legacy->vec[i], r->zmm[i], 32);
}

// EVEX loads and stores. The whole build is -mgeneral-regs-only, so the
// compiler keeps nothing in vector or opmask registers and these need no
// register clobbers; "memory" because they reach the file by pointer.
#define LD_KQ(n) "kmovq " #n "*8(%0), %%k" #n "\n"
#define LD_KW(n) "kmovw " #n "*8(%0), %%k" #n "\n"
#define ST_KQ(n) "kmovq %%k" #n ", " #n "*8(%0)\n"
#define ST_KW(n) "kmovw %%k" #n ", " #n "*8(%0)\n"
#define LD_Z(n) "vmovdqu64 " #n "*64(%0), %%zmm" #n "\n"
#define ST_Z(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%0)\n"
#define ALL8(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
#define ALL32(M) \
  ALL16(M) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) M(27) M(28) \
      M(29) M(30) M(31)

void load512(const Avx512File& r, bool bw) {
  if (bw)
    asm volatile(ALL8(LD_KQ) ::"r"(r.k) : "memory");
  else
    asm volatile(ALL8(LD_KW) ::"r"(r.k) : "memory");
  asm volatile(ALL32(LD_Z) ::"r"(r.zmm) : "memory");
}

void store512(Avx512File* r, bool bw) {
  memset(r->k, 0, sizeof(r->k));  // KMOVW stores bits 15:0 only
  if (bw)
    asm volatile(ALL8(ST_KQ) ::"r"(r->k) : "memory");
  else
    asm volatile(ALL8(ST_KW) ::"r"(r->k) : "memory");
  asm volatile(ALL32(ST_Z) ::"r"(r->zmm) : "memory");
}

// Component i's place: CPUID's standard offset, or the compacted one that
// follows from the sizes and alignment bits of the components in `mask`.
uint32_t offset_of(bool compacted, uint64_t mask, unsigned i) {
  return compacted ? cpu::xsave::compacted_offset(mask, i) : cpu::xsave::component_info(i).offset;
}

// One AVX-512 round trip through save form `s`, with XCR0 = `mask`.
void avx512_round_trip(Save s, uint64_t mask, bool bw) {
  ReportPrefix p(cpu::xsave::save_name(s));
  const bool compacted = s == Save::xsavec || s == Save::xsaves;
  const bool xgetbv1 = cpu::has(feature::kXgetbv1);
  static RegFile want, clobber, got;
  static Avx512File want5, clobber5, got5;
  fill(&want, 0x11);
  fill(&clobber, 0x5a);
  fill512(&want5, &want, 0x11, bw);
  fill512(&clobber5, &clobber, 0x5a, bw);
  memset(area, 0, sizeof(area));
  load(want, true);
  load512(want5, bw);
  const uint64_t inuse = xgetbv1 ? cpu::xsave::xgetbv(cpu::xsave::kXinuse) : 0;
  cpu::xsave::save(s, area, mask);
  auto* a = hdr(area);
  check_xstate_bv("after loading a pattern", a->header.xstate_bv, mask, inuse);
  if (compacted)
    report(a->header.xcomp_bv == (mask | cpu::xsave::kXcompBvCompacted),
           "XCOMP_BV 0x%lx is RFBM | bit 63", a->header.xcomp_bv);
  else
    report(a->header.xcomp_bv == 0, "XCOMP_BV stays 0 (0x%lx)", a->header.xcomp_bv);

  bool legacy_ok = a->legacy.fcw == want.fcw && a->legacy.mxcsr == want.mxcsr &&
                   a->legacy.ftw == 0xff;
  for (unsigned i = 0; i < 8; ++i) legacy_ok &= !memcmp(a->legacy.st[i], want.st[i], 10);
  for (unsigned i = 0; i < 16; ++i) legacy_ok &= !memcmp(a->legacy.xmm[i], want5.zmm[i], 16);
  const uint32_t off2 = offset_of(compacted, mask, 2);
  for (unsigned i = 0; i < 16; ++i)
    legacy_ok &= !memcmp(area + off2 + 16 * i, want5.zmm[i] + 16, 16);
  report(legacy_ok, "the area holds FCW, FTW, ST0-7, MXCSR, XMM0-15 and YMM0-15_H as loaded");

  const uint32_t off5 = offset_of(compacted, mask, 5);
  const uint32_t off6 = offset_of(compacted, mask, 6);
  const uint32_t off7 = offset_of(compacted, mask, 7);
  const bool fits = off5 + cpu::xsave::kOpmaskBytes <= kAreaBytes &&
                    off6 + cpu::xsave::kZmmHi256Bytes <= kAreaBytes &&
                    off7 + cpu::xsave::kHi16ZmmBytes <= kAreaBytes;
  report(fits, "components 5-7 at bytes %u, %u, %u lie within the %u-byte area", off5, off6,
         off7, kAreaBytes);
  if (!fits) return;
  bool k_ok = true, hi256_ok = true, hi16_ok = true;
  for (unsigned i = 0; i < 8; ++i)
    k_ok &= !memcmp(area + off5 + cpu::xsave::kOpmaskSlot * i, &want5.k[i], 8);
  for (unsigned i = 0; i < 16; ++i) {
    hi256_ok &= !memcmp(area + off6 + cpu::xsave::kZmmHi256Slot * i, want5.zmm[i] + 32, 32);
    hi16_ok &= !memcmp(area + off7 + cpu::xsave::kHi16ZmmSlot * i, want5.zmm[16 + i], 64);
  }
  report(k_ok, "opmask state at byte %u holds k0-k7 (%u bits each)", off5, bw ? 64 : 16);
  report(hi256_ok, "ZMM_Hi256 state at byte %u holds ZMM0-15 bits 511:256", off6);
  report(hi16_ok, "Hi16_ZMM state at byte %u holds ZMM16-31", off7);

  const char* rstor = s == Save::xsaves ? "XRSTORS" : "XRSTOR";
  auto restore = [s, mask] {
    if (s == Save::xsaves)
      cpu::xsave::xrstors(area, mask);
    else
      cpu::xsave::xrstor(area, mask);
  };
  load(clobber, true);
  load512(clobber5, bw);
  restore();
  const uint64_t after = xgetbv1 ? cpu::xsave::xgetbv(cpu::xsave::kXinuse) : 0;
  store(&got, true);
  store512(&got5, bw);
  report(same(got, want, true) && !memcmp(&got5, &want5, sizeof(got5)),
         "%s then reads back x87, MXCSR, k0-k7 and ZMM0-31", rstor);
  if (xgetbv1)
    report((after & mask) == mask, "XINUSE 0x%lx has every component loaded from memory", after);

  // XSTATE_BV[7:5] clear: those components go to their initial
  // configuration, all zeros (SDM vol.1 §13.6, §13.8.1); the others still
  // come from memory.
  a->header.xstate_bv &= ~comp::AVX512;
  load(clobber, true);
  load512(clobber5, bw);
  restore();
  const uint64_t init_inuse = xgetbv1 ? cpu::xsave::xgetbv(cpu::xsave::kXinuse) : 0;
  store(&got, true);
  store512(&got5, bw);
  static Avx512File zero5;
  memcpy(&zero5, &want5, sizeof(zero5));
  memset(zero5.k, 0, sizeof(zero5.k));
  for (unsigned i = 0; i < 16; ++i) memset(zero5.zmm[i] + 32, 0, 32);
  memset(zero5.zmm[16], 0, 16 * 64);
  report(!memcmp(got5.k, zero5.k, sizeof(zero5.k)), "%s, XSTATE_BV[5] clear: k0-k7 are zero",
         rstor);
  bool upper_zero = true, hi16_zero = true;
  for (unsigned i = 0; i < 16; ++i) {
    upper_zero &= !memcmp(got5.zmm[i] + 32, zero5.zmm[i] + 32, 32);
    hi16_zero &= !memcmp(got5.zmm[16 + i], zero5.zmm[16 + i], 64);
  }
  report(upper_zero, "%s, XSTATE_BV[6] clear: ZMM0-15 bits 511:256 are zero", rstor);
  report(hi16_zero, "%s, XSTATE_BV[7] clear: ZMM16-31 are zero", rstor);
  bool low_ok = same(got, want, true);
  for (unsigned i = 0; i < 16; ++i) low_ok &= !memcmp(got5.zmm[i], want5.zmm[i], 32);
  report(low_ok, "and x87, MXCSR, YMM0-15 still come from memory");
  if (xgetbv1)
    report_info("XINUSE after that %s: 0x%lx (bits 7:5 may be 0 or 1)", rstor, init_inuse);
  asm volatile("fninit");
}

// The AVX-512 components through every save form the CPU enumerates, with
// XCR0 = x87 | SSE | AVX | opmask | ZMM_Hi256 | Hi16_ZMM; XCR0 is put back.
void avx512_state() {
  ReportPrefix p("AVX-512");
  if (!cpu::has(feature::kAvx512f)) {
    report_skip("state round trips: %s is clear", feature::kAvx512f.name);
    return;
  }
  if ((cpu::xsave::supported_xcr0() & comp::AVX512) != comp::AVX512) {
    report_skip("state round trips: CPUID.(0DH,0):EAX[7:5] is not 111b");
    return;
  }
  if (!has_avx()) {
    report_skip("state round trips: %s is clear", feature::kAvx.name);
    return;
  }
  const uint64_t before = cpu::xsave::xgetbv(cpu::xsave::kXcr0);
  const uint64_t mask = comp::X87 | comp::SSE | comp::AVX | comp::AVX512;
  const bool bw = cpu::has(cpu::xsave::kAvx512bw);
  const ExInfo e = xsetbv_safe(cpu::xsave::kXcr0, mask);
  const bool set = !e && cpu::xsave::xgetbv(cpu::xsave::kXcr0) == mask;
  report(set, "XCR0 = 0x%lx is accepted and reads back", mask);
  // A CPU that enumerates AVX512F and still refuses EVEX once XCR0[7:5]
  // are set fails here, once, and not as a stray #UD in the round trips.
  static Avx512File probe;
  static bool probe_bw;
  probe_bw = bw;
  const ExInfo ev = set ? catch_fault([] { store512(&probe, probe_bw); }) : ExInfo();
  if (set)
    report_fault(ev, ExInfo(), bw ? "KMOVQ and VMOVDQU64 zmm" : "KMOVW and VMOVDQU64 zmm");
  if (set && !ev) {
    if (!bw)
      report_info("%s is clear: the opmask patterns are 16-bit (KMOVW)",
                  cpu::xsave::kAvx512bw.name);
    avx512_round_trip(Save::xsave, mask, bw);
    if (cpu::has(feature::kXsaveopt))
      avx512_round_trip(Save::xsaveopt, mask, bw);
    else
      report_skip("XSAVEOPT: %s is clear", feature::kXsaveopt.name);
    if (cpu::has(feature::kXsavec))
      avx512_round_trip(Save::xsavec, mask, bw);
    else
      report_skip("XSAVEC: %s is clear", feature::kXsavec.name);
    if (cpu::has(feature::kXsaves) && !wrmsr_safe(cpu::kMsrXss, 0))
      avx512_round_trip(Save::xsaves, mask, bw);
    else
      report_skip("XSAVES/XRSTORS: %s is clear", feature::kXsaves.name);
  }
  (void)xsetbv_safe(cpu::xsave::kXcr0, before);
  report(cpu::xsave::xgetbv(cpu::xsave::kXcr0) == before, "XCR0 back to 0x%lx", before);
}

void init_and_vzeroupper() {
  ReportPrefix p("init");
  const bool avx = has_avx();
  const uint64_t mask = comp::X87 | comp::SSE | (avx ? comp::AVX : 0);
  (void)xsetbv_safe(0, mask);
  static RegFile want, got;
  fill(&want, 0x23);
  memset(area, 0, sizeof(area));
  load(want, avx);
  auto* a = hdr(area);
  a->legacy.mxcsr = want.mxcsr ^ 0x6000;  // rounding toward zero
  a->header.xstate_bv = 0;
  cpu::xsave::xrstor(area, mask);
  uint16_t fcw, fsw, env[14];
  asm volatile("fnstcw %0; fnstsw %1; fnstenv %2" : "=m"(fcw), "=m"(fsw), "=m"(env));
  store(&got, avx);
  bool zero = true;
  for (unsigned i = 0; i < 16; ++i)
    for (unsigned b = 0; b < (avx ? 32u : 16u); ++b) zero &= got.vec[i][b] == 0;
  report(fcw == cpu::xsave::kFcwInit && fsw == 0 && env[4] == 0xffff,
         "XSTATE_BV[0] clear: FCW 0x%x FSW 0x%x FTW 0x%x are FNINIT's", fcw, fsw, env[4]);
  report(zero, "XSTATE_BV[1%s] clear: the vector registers are zero", avx ? ",2" : "");
  report(got.mxcsr == (want.mxcsr ^ 0x6000u), "MXCSR is still loaded from memory (0x%x)",
         got.mxcsr);
  if (!avx) {
    report_skip("VZEROUPPER: %s is clear", feature::kAvx.name);
    return;
  }
  load(want, true);
  asm volatile("vzeroupper");
  const uint64_t inuse = cpu::has(feature::kXgetbv1) ? cpu::xsave::xgetbv(1) : ~0ull;
  memset(area, 0xcc, sizeof(area));
  memset(&a->header, 0, sizeof(a->header));
  cpu::xsave::save(Save::xsave, area, mask);
  const bool bv2 = a->header.xstate_bv & comp::AVX;
  report_info("after VZEROUPPER XINUSE[2] is %u, XSTATE_BV[2] %u", unsigned(inuse >> 2 & 1),
              unsigned(bv2));
  if (cpu::has(feature::kXgetbv1))
    report(bv2 == !!(inuse & comp::AVX), "XSAVE writes XSTATE_BV[2] as XINUSE[2]");
  // XSAVE, unlike XSAVEOPT, stores every component of RFBM whatever
  // XINUSE says (SDM vol.1 §13.7).
  bool upper_zero = true;
  const uint32_t off = cpu::xsave::component_info(2).offset;
  for (unsigned i = 0; i < cpu::xsave::kAvxBytes; ++i) upper_zero &= area[off + i] == 0;
  report(upper_zero, "XSAVE stores the upper halves as zeros");
  asm volatile("fninit");
}

void header_and_alignment() {
  ReportPrefix p("#GP");
  const uint64_t mask = comp::X87 | comp::SSE;
  (void)xsetbv_safe(0, mask);
  memset(area, 0, sizeof(area));
  cpu::xsave::save(Save::xsave, area, mask);
  hdr(area)->header.xcomp_bv = 1;
  report_fault(catch_fault([] { cpu::xsave::xrstor(area, comp::X87 | comp::SSE); }),
               ExInfo(Vec::GP, 0), "XRSTOR, XCOMP_BV = 1 (standard form, bytes 23:8 not 0)");
  hdr(area)->header.xcomp_bv = 0;
  hdr(area)->header.xstate_bv = comp::AVX512;
  report_fault(catch_fault([] { cpu::xsave::xrstor(area, comp::X87 | comp::SSE); }),
               ExInfo(Vec::GP, 0), "XRSTOR, XSTATE_BV has bits outside XCR0");
  memset(area, 0, sizeof(area));
  static constexpr unsigned kOffsets[] = {8, 16, 32};
  for (unsigned off : kOffsets) {
    static uint8_t* at;
    at = area + off;
    report_fault(catch_fault([] { cpu::xsave::save(Save::xsave, at, comp::X87 | comp::SSE); }),
                 ExInfo(Vec::GP, 0), off == 8 ? "XSAVE to base + 8" : off == 16 ? "XSAVE to base + 16" : "XSAVE to base + 32");
    report_fault(catch_fault([] { cpu::xsave::xrstor(at, comp::X87 | comp::SSE); }),
                 ExInfo(Vec::GP, 0), off == 8 ? "XRSTOR from base + 8" : off == 16 ? "XRSTOR from base + 16" : "XRSTOR from base + 32");
  }
  static const cpu::CpuidBit* const kExt[] = {&feature::kXsaveopt, &feature::kXsavec, &feature::kXsaves};
  static const Save kSaves[] = {Save::xsaveopt, Save::xsavec, Save::xsaves};
  for (unsigned i = 0; i < 3; ++i) {
    static Save sv;
    sv = kSaves[i];
    if (!cpu::has(*kExt[i])) {
      report_skip("%s to base + 16: %s is clear", cpu::xsave::save_name(sv), kExt[i]->name);
      continue;
    }
    ExInfo e = catch_fault([] { cpu::xsave::save(sv, area + 16, comp::X87 | comp::SSE); });
    ReportPrefix q(cpu::xsave::save_name(sv));
    report_fault(e, ExInfo(Vec::GP, 0), "to base + 16");
  }
}

void survives_exceptions() {
  ReportPrefix p("exception paths");
  const bool avx = has_avx();
  (void)xsetbv_safe(0, comp::X87 | comp::SSE | (avx ? comp::AVX : 0));
  static RegFile want, got;
  fill(&want, 0x37);
  load(want, avx);
  ExInfo e = catch_fault([] { asm volatile("ud2"); });
  store(&got, avx);
  report(e == ExInfo(Vec::UD) && same(got, want, avx), "x87, SSE%s survive a caught #UD",
         avx ? ", AVX" : "");
  load(want, avx);
  e = catch_fault([] { (void)*reinterpret_cast<volatile uint64_t*>(0x8000000000000000ull); });
  store(&got, avx);
  report(e.vector() == unsigned(Vec::GP) && same(got, want, avx), "and a caught #GP");
  load(want, avx);
  UserResult u = run_user([] { return 0; });
  store(&got, avx);
  report(u.ok() && same(got, want, avx), "and a run at CPL3");
  asm volatile("fninit");
}

}  // namespace

int main() {
  if (!cpu::has(feature::kXsave)) {
    report_fault(cpu::xsave::xgetbv_safe(0).ex, ExInfo(Vec::UD),
                 "XGETBV without XSAVE");
    report_skip("XSAVE: %s is clear", feature::kXsave.name);
    return report_summary();
  }
  cpu::xsave::ScopedXsave on;
  cpuid_checks();
  xsetbv_rules();
  osxsave_clear();
  if (!has_avx()) report_skip("AVX state: %s is clear", feature::kAvx.name);
  round_trip(Save::xsave);
  if (cpu::has(feature::kXsaveopt))
    round_trip(Save::xsaveopt);
  else
    report_skip("XSAVEOPT: %s is clear", feature::kXsaveopt.name);
  if (cpu::has(feature::kXsavec))
    round_trip(Save::xsavec);
  else
    report_skip("XSAVEC: %s is clear", feature::kXsavec.name);
  if (cpu::has(feature::kXsaves) && !wrmsr_safe(cpu::kMsrXss, 0))
    round_trip(Save::xsaves);
  else
    report_skip("XSAVES/XRSTORS: %s is clear", feature::kXsaves.name);
  avx512_state();
  init_and_vzeroupper();
  header_and_alignment();
  survives_exceptions();
  return report_summary();
}
