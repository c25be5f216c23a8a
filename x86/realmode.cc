// realmode: instructions in real-address mode. The test leaves long mode
// through the mode-switch trampoline (lib/cpu/modeswitch.h) and runs one
// small snippet per check in real mode, from the 64 KiB snippet segment
// below 1 MiB: linear address = segment * 16 + offset, 16-bit operand and
// address size unless a 66h/67h prefix says otherwise, interrupts through
// the IVT at the IDTR base (Intel SDM vol.3 chapter "8086 Emulation",
// "Real-Address Mode Operation" and "Interrupt and Exception Handling in
// Real-Address Mode"; AMD APM vol.2 §1.2.4 "Real Addressing"). The
// registers each snippet leaves come back to long mode and are compared
// with values computed here from the instructions' definitions in SDM
// vol.2 (the reference model below: ADD/SUB flags, DAA/DAS/AAA/AAS/AAM/
// AAD, shifts and rotates by 1), only on the flags each definition says
// are defined. Covered: arithmetic and flags, #DE raised through the IVT
// and handled; jumps, near and far calls and returns, Jcc, LOOPcc, JCXZ;
// string instructions with REP prefixes and both directions; the stack
// (segment registers, memory operands, PUSHA/POPA, PUSHF/POPF, ENTER/
// LEAVE, PUSH SP, SP wrapping at 64 KiB); INT n, INT3, INTO and IRET with
// the frame they push; segment overrides, BP's default SS, 16-bit
// effective addresses wrapping at 64 KiB; 66h and 67h prefixes. A vector
// the snippet does not handle ends it through the trampoline's IVT stub,
// which the checks for #DE, #UD and a stray INT n expect and any other
// check reports as a failure. A 16-bit access that crosses offset FFFFh,
// or a 67h address above FFFFh, raises #GP in real mode (SDM vol.3,
// "Real-Address Mode Exceptions" of MOV; segment limit 0FFFFh): QEMU's TCG
// does not check segment limits on data accesses, an XFAIL there.
#include <cstddef>
#include <cstdint>

#include "cpu/modeswitch.h"
#include "cpu/regs.h"
#include "rt/expect.h"
#include "rt/format.h"
#include "rt/report.h"
#include "rt/string.h"

namespace {

using modeswitch::RealRegs;

// The reference model: results and flags as SDM vol.2 defines them.
namespace ref {
constexpr uint32_t CF = rflags::kCarry, PF = rflags::kParity, AF = rflags::kAdjust,
                   ZF = rflags::kZero, SF = rflags::kSign, OF = rflags::kOverflow;
constexpr uint32_t kArith = CF | PF | AF | ZF | SF | OF;
constexpr uint32_t kLogic = CF | PF | ZF | SF | OF;  // AF undefined
constexpr uint32_t kRotate = CF | OF;                // the only flags ROL/ROR/RCL/RCR touch

struct R {
  uint32_t r, f;
};

constexpr uint32_t parity(uint32_t v) {
  unsigned n = 0;
  for (unsigned i = 0; i < 8; ++i) n += (v >> i) & 1;
  return n % 2 == 0 ? PF : 0;
}
constexpr uint32_t mask(unsigned w) { return w == 32 ? 0xffffffffu : (1u << w) - 1; }
constexpr uint32_t msb(unsigned w) { return 1u << (w - 1); }
constexpr uint32_t szp(uint32_t r, unsigned w) {
  return (r == 0 ? ZF : 0) | (r & msb(w) ? SF : 0) | parity(r);
}
constexpr R add(uint32_t a, uint32_t b, uint32_t cin, unsigned w) {
  const uint64_t full = uint64_t(a) + b + cin;
  const uint32_t r = uint32_t(full) & mask(w);
  uint32_t f = szp(r, w);
  if (full >> w) f |= CF;
  if ((a ^ r) & (b ^ r) & msb(w)) f |= OF;
  if ((a ^ b ^ r) & 0x10) f |= AF;
  return {r, f};
}
constexpr R sub(uint32_t a, uint32_t b, uint32_t bin, unsigned w) {
  const uint32_t r = (a - b - bin) & mask(w);
  uint32_t f = szp(r, w);
  if (uint64_t(a) < uint64_t(b) + bin) f |= CF;
  if ((a ^ b) & (a ^ r) & msb(w)) f |= OF;
  if ((a ^ b ^ r) & 0x10) f |= AF;
  return {r, f};
}
constexpr R logic(uint32_t r, unsigned w) { return {r & mask(w), szp(r & mask(w), w)}; }
// INC/DEC: as ADD/SUB 1, CF kept (SDM vol.2A "INC", "DEC").
constexpr R inc(uint32_t a, uint32_t cf, unsigned w) {
  R x = add(a, 1, 0, w);
  return {x.r, (x.f & ~CF) | cf};
}
constexpr R dec(uint32_t a, uint32_t cf, unsigned w) {
  R x = sub(a, 1, 0, w);
  return {x.r, (x.f & ~CF) | cf};
}
// Shifts by 1 (SDM vol.2B "SAL/SAR/SHL/SHR": OF defined for 1-bit shifts).
constexpr R shl1(uint32_t a, unsigned w) {
  const uint32_t r = (a << 1) & mask(w);
  const uint32_t cf = a & msb(w) ? CF : 0;
  return {r, szp(r, w) | cf | (((r & msb(w)) != 0) != (cf != 0) ? OF : 0)};
}
constexpr R shr1(uint32_t a, unsigned w) {
  const uint32_t r = a >> 1;
  return {r, szp(r, w) | (a & 1 ? CF : 0) | (a & msb(w) ? OF : 0)};
}
constexpr R sar1(uint32_t a, unsigned w) {
  const uint32_t r = (a >> 1) | (a & msb(w));
  return {r, szp(r, w) | (a & 1 ? CF : 0)};
}
// Rotates by 1 (SDM vol.2B "RCL/RCR/ROL/ROR").
constexpr R rol1(uint32_t a, unsigned w) {
  const uint32_t r = ((a << 1) | (a & msb(w) ? 1 : 0)) & mask(w);
  const bool cf = r & 1;
  return {r, (cf ? CF : 0) | (((r & msb(w)) != 0) != cf ? OF : 0)};
}
constexpr R ror1(uint32_t a, unsigned w) {
  const uint32_t r = (a >> 1) | (a & 1 ? msb(w) : 0);
  const bool cf = r & msb(w);
  return {r, (cf ? CF : 0) | (cf != ((r & (msb(w) >> 1)) != 0) ? OF : 0)};
}
constexpr R rcl1(uint32_t a, bool cf_in, unsigned w) {
  const uint32_t r = ((a << 1) | (cf_in ? 1 : 0)) & mask(w);
  const bool cf = a & msb(w);
  return {r, (cf ? CF : 0) | (((r & msb(w)) != 0) != cf ? OF : 0)};
}
constexpr R rcr1(uint32_t a, bool cf_in, unsigned w) {
  const uint32_t r = (a >> 1) | (cf_in ? msb(w) : 0);
  return {r, (a & 1 ? CF : 0) | (((a & msb(w)) != 0) != cf_in ? OF : 0)};
}
// DAA/DAS on AL with the AF and CF the preceding ADD/SUB left.
constexpr R daa(uint32_t al, uint32_t f) {
  const uint32_t old_al = al;
  const bool old_cf = f & CF;
  uint32_t out = 0;
  if ((al & 0xf) > 9 || (f & AF)) {
    const uint32_t s = al + 6;
    al = s & 0xff;
    out |= AF | (old_cf || s > 0xff ? CF : 0);
  }
  if (old_al > 0x99 || old_cf) {
    al = (al + 0x60) & 0xff;
    out |= CF;
  }
  return {al, out | szp(al, 8)};
}
constexpr R das(uint32_t al, uint32_t f) {
  const uint32_t old_al = al;
  const bool old_cf = f & CF;
  uint32_t out = 0;
  if ((al & 0xf) > 9 || (f & AF)) {
    out |= AF | (old_cf || al < 6 ? CF : 0);
    al = (al - 6) & 0xff;
  }
  if (old_al > 0x99 || old_cf) {
    al = (al - 0x60) & 0xff;
    out |= CF;
  }
  return {al, out | szp(al, 8)};
}
// AAA/AAS on AX (the AX + 106H / AX - 6 forms of SDM vol.2A).
constexpr R aaa(uint32_t ax, uint32_t f) {
  if ((ax & 0xf) > 9 || (f & AF)) {
    ax = (ax + 0x106) & 0xffff;
    return {ax & 0xff0f, AF | CF};
  }
  return {ax & 0xff0f, 0};
}
constexpr R aas(uint32_t ax, uint32_t f) {
  if ((ax & 0xf) > 9 || (f & AF)) {
    ax = (ax - 6) & 0xffff;
    ax = (((ax & 0xff00) - 0x100) & 0xff00) | (ax & 0xff);
    return {ax & 0xff0f, AF | CF};
  }
  return {ax & 0xff0f, 0};
}
constexpr R aam(uint32_t al, uint32_t base) {
  const uint32_t ax = (al / base) << 8 | (al % base);
  return {ax, szp(ax & 0xff, 8)};
}
constexpr R aad(uint32_t ax, uint32_t base) {
  const uint32_t al = ((ax & 0xff) + (ax >> 8) * base) & 0xff;
  return {al, szp(al, 8)};
}
}  // namespace ref

// The snippet segment's data the checks use, filled before every run.
constexpr uint16_t kData = 0x8000;  // 'A', 'B', ... 32 bytes
constexpr uint16_t kCopy = 0x8100;  // 256 zero bytes
constexpr uint16_t kCmp = 0x8200;   // "ABCXE"
constexpr uint16_t kAlt = 0x7010;   // the word 0x0707
constexpr uint16_t kStack = 0xf000;

void prefill(uint8_t* s) {
  memset(s + 0x7000, 0, 0x2000);
  for (unsigned i = 0; i < 32; ++i) s[kData + i] = uint8_t('A' + i);
  memcpy(s + kCmp, "ABCXE", 5);
  s[kAlt] = 0x07;
  s[kAlt + 1] = 0x07;
  s[0xfffe] = s[0xffff] = 0;
}
constexpr uint16_t data16(unsigned i) { return uint16_t(('A' + i) | ('A' + i + 1) << 8); }

// What a check compares.
enum class F : uint8_t { eax, ebx, ecx, edx, esi, edi, ebp, esp, flags, ds, es, fs, ss, vec, fip, fcs, mem16 };
const char* const kNames16[] = {"AX", "BX", "CX", "DX", "SI", "DI", "BP", "SP"};
const char* const kFieldNames[] = {"EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP", "FLAGS",
                                   "DS", "ES", "FS", "SS", "vector", "IP pushed", "CS pushed", "word"};
constexpr uint32_t kNoVector = 0x100;

struct Want {
  F field;
  uint32_t value;
  uint32_t mask = 0xffffffffu;
  bool seg_rel = false;      // value is relative to the snippet segment
  const char* label = nullptr;  // value is this label's offset in the snippet (plus value)
  uint16_t addr = 0;         // F::mem16: the offset in the snippet segment
};
constexpr Want AX(uint32_t v) { return {F::eax, v, 0xffff}; }
constexpr Want BX(uint32_t v) { return {F::ebx, v, 0xffff}; }
constexpr Want CX(uint32_t v) { return {F::ecx, v, 0xffff}; }
constexpr Want DX(uint32_t v) { return {F::edx, v, 0xffff}; }
constexpr Want SI(uint32_t v) { return {F::esi, v, 0xffff}; }
constexpr Want DI(uint32_t v) { return {F::edi, v, 0xffff}; }
constexpr Want BP(uint32_t v) { return {F::ebp, v, 0xffff}; }
constexpr Want SP(uint32_t v) { return {F::esp, v, 0xffff}; }
constexpr Want AL(uint32_t v) { return {F::eax, v, 0xff}; }
constexpr Want EAX(uint32_t v) { return {F::eax, v}; }
constexpr Want ECX(uint32_t v) { return {F::ecx, v}; }
constexpr Want EDX(uint32_t v) { return {F::edx, v}; }
constexpr Want ESP(uint32_t v) { return {F::esp, v}; }
constexpr Want FL(uint32_t v, uint32_t m) { return {F::flags, v, m}; }
constexpr Want VEC(uint32_t v) { return {F::vec, v}; }
constexpr Want NOVEC() { return {F::vec, kNoVector}; }
constexpr Want MEM(uint16_t addr, uint32_t v) { return {F::mem16, v, 0xffff, false, nullptr, addr}; }
constexpr Want SEG(F f, uint32_t rel) { return {f, rel, 0xffff, true}; }
constexpr Want AT(F f, const char* label, uint32_t mask = 0xffff) { return {f, 0, mask, false, label}; }

struct In {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0, esi = 0, edi = 0, ebp = 0, esp = kStack, eflags = 2;
  uint16_t ds = 0, es = 0, fs = 0, gs = 0, ss = 0;  // relative to the snippet segment
};

struct Handler {
  uint8_t vector;
  const char* label;
};

struct Case {
  const char* what;
  const char* start;
  const char* end;
  In in;
  Want want[5];
  unsigned wants;
  Handler handlers[2];
  unsigned handler_count;
  bool limit_check;  // expects the #GP of a segment-limit check (XFAIL under TCG)
};

#define SNIPPET(name, body)                                                                \
  extern "C" __attribute__((visibility("hidden"))) const char name##_start[], name##_end[]; \
  asm(".pushsection .rodata.realmode, \"a\"\n.code16\n" #name "_start:\n" body "\n" #name   \
      "_end:\n.code64\n.popsection\n")
#define LABEL(name) extern "C" __attribute__((visibility("hidden"))) const char name[]
template <typename... T>
constexpr unsigned count_of(const T&...) {
  return sizeof...(T);
}
#define WANTS(...) {__VA_ARGS__}, count_of(__VA_ARGS__)
#define CHECK(name, what, in, ...) \
  const Case name##_case{what, name##_start, name##_end, in, WANTS(__VA_ARGS__), {}, 0, false}
#define CHECK_H(name, what, in, handlers, count, ...) \
  const Case name##_case{what, name##_start, name##_end, in, WANTS(__VA_ARGS__), handlers, count, false}

using namespace ref;

// ---- Arithmetic and flags ----
SNIPPET(add_of, "mov $0x7fff, %ax\n add $1, %ax");
CHECK(add_of, "ADD AX,1 with AX=7FFFh (signed overflow)", In{}, AX(add(0x7fff, 1, 0, 16).r),
      FL(add(0x7fff, 1, 0, 16).f, kArith));
SNIPPET(add_cf, "mov $0xffff, %ax\n add $1, %ax");
CHECK(add_cf, "ADD AX,1 with AX=FFFFh (carry out, zero)", In{}, AX(add(0xffff, 1, 0, 16).r),
      FL(add(0xffff, 1, 0, 16).f, kArith));
SNIPPET(adc_c, "stc\n mov $0x1234, %ax\n adc $0x0fff, %ax");
CHECK(adc_c, "STC; ADC AX,0FFFh with AX=1234h", In{}, AX(add(0x1234, 0xfff, 1, 16).r),
      FL(add(0x1234, 0xfff, 1, 16).f, kArith));
SNIPPET(sub_b, "mov $1, %ax\n sub $2, %ax");
CHECK(sub_b, "SUB AX,2 with AX=1 (borrow)", In{}, AX(sub(1, 2, 0, 16).r), FL(sub(1, 2, 0, 16).f, kArith));
SNIPPET(sbb_b, "stc\n mov $0x8000, %ax\n sbb $0, %ax");
CHECK(sbb_b, "STC; SBB AX,0 with AX=8000h (signed overflow)", In{}, AX(sub(0x8000, 0, 1, 16).r),
      FL(sub(0x8000, 0, 1, 16).f, kArith));
SNIPPET(inc_cf, "stc\n mov $0x7fff, %ax\n inc %ax");
CHECK(inc_cf, "STC; INC AX with AX=7FFFh (OF set, CF kept)", In{}, AX(inc(0x7fff, CF, 16).r),
      FL(inc(0x7fff, CF, 16).f, kArith));
SNIPPET(dec_cf, "clc\n xor %bx, %bx\n dec %bx");
CHECK(dec_cf, "CLC; DEC BX with BX=0 (wraps, CF kept clear)", In{}, BX(dec(0, 0, 16).r),
      FL(dec(0, 0, 16).f, kArith));
SNIPPET(neg5, "mov $5, %ax\n neg %ax");
CHECK(neg5, "NEG AX with AX=5", In{}, AX(sub(0, 5, 0, 16).r), FL(sub(0, 5, 0, 16).f, kArith));
SNIPPET(neg0, "xor %ax, %ax\n neg %ax");
CHECK(neg0, "NEG AX with AX=0 (CF clear)", In{}, AX(0), FL(sub(0, 0, 0, 16).f, kArith));
SNIPPET(mul_big, "mov $0x1234, %ax\n mov $0x100, %bx\n mul %bx");
CHECK(mul_big, "MUL BX: 1234h * 100h into DX:AX (CF=OF=1)", In{}, AX((0x1234 * 0x100) & 0xffff),
      DX((0x1234 * 0x100) >> 16), FL(CF | OF, CF | OF));
SNIPPET(mul_small, "mov $0x12, %ax\n mov $0x10, %cx\n mul %cx");
CHECK(mul_small, "MUL CX: 12h * 10h fits AX (CF=OF=0)", In{.edx = 0x5555}, AX(0x120), DX(0),
      FL(0, CF | OF));
SNIPPET(imul1, "mov $-3, %ax\n mov $7, %bx\n imul %bx");
CHECK(imul1, "IMUL BX: -3 * 7 into DX:AX (sign-extends, CF=OF=0)", In{}, AX(uint16_t(-21)),
      DX(0xffff), FL(0, CF | OF));
SNIPPET(imul3, "mov $300, %bx\n imul $200, %bx, %ax");
CHECK(imul3, "IMUL AX,BX,200 with BX=300 (truncated, CF=OF=1)", In{}, AX(60000 & 0xffff),
      FL(CF | OF, CF | OF));
SNIPPET(div16, "mov $1, %dx\n mov $5, %ax\n mov $0x10, %bx\n div %bx");
CHECK(div16, "DIV BX: 10005h / 10h", In{}, AX(0x10005 / 0x10), DX(0x10005 % 0x10), NOVEC());
SNIPPET(idiv16, "mov $-7, %ax\n cwd\n mov $2, %bx\n idiv %bx");
CHECK(idiv16, "CWD; IDIV BX: -7 / 2 truncates toward zero", In{}, AX(uint16_t(-7 / 2)),
      DX(uint16_t(-7 % 2)), NOVEC());
SNIPPET(div0, "mov $1, %ax\n xor %dx, %dx\n xor %bx, %bx\n div0_at: div %bx");
LABEL(div0_at);
CHECK(div0, "DIV BX with BX=0: #DE through the IVT, IP of the DIV pushed", In{}, VEC(0),
      AT(F::fip, div0_at), SEG(F::fcs, 0));
SNIPPET(divov, "mov $0x10, %dx\n xor %ax, %ax\n mov $1, %bx\n divov_at: div %bx");
LABEL(divov_at);
CHECK(divov, "DIV BX: 100000h / 1 overflows AX: #DE, IP of the DIV pushed", In{}, VEC(0),
      AT(F::fip, divov_at));
SNIPPET(div0_h,
        "xor %si, %si\n xor %dx, %dx\n mov $1, %ax\n xor %bx, %bx\n div %bx\n mov $0x600d, %di\n"
        " jmp 1f\n"
        "div0_h_handler: mov %sp, %bp\n addw $2, (%bp)\n mov $0xdead, %si\n iret\n"
        "1:");
LABEL(div0_h_handler);
constexpr Handler kDiv0H[] = {{0, div0_h_handler}};
CHECK_H(div0_h, "#DE handled by an IVT handler that skips the 2-byte DIV and IRETs", In{},
        {kDiv0H[0]}, 1, SI(0xdead), DI(0x600d), SP(kStack), NOVEC());
SNIPPET(and16, "mov $0xf0f0, %ax\n and $0x0ff0, %ax");
CHECK(and16, "AND AX,0FF0h with AX=F0F0h", In{.eflags = 2 | CF | OF}, AX(0x00f0),
      FL(logic(0x00f0, 16).f, kLogic));
SNIPPET(or16, "mov $0x8000, %ax\n or $1, %ax");
CHECK(or16, "OR AX,1 with AX=8000h", In{}, AX(0x8001), FL(logic(0x8001, 16).f, kLogic));
SNIPPET(xor16, "mov $0x1234, %ax\n xor %ax, %ax");
CHECK(xor16, "XOR AX,AX", In{.eflags = 2 | CF}, AX(0), FL(logic(0, 16).f, kLogic));
SNIPPET(test16, "mov $0x0100, %ax\n test $0x00ff, %ax");
CHECK(test16, "TEST AX,00FFh with AX=0100h (ZF, AX kept)", In{}, AX(0x0100),
      FL(logic(0x0100 & 0xff, 16).f, kLogic));
SNIPPET(shl1s, "mov $0x8001, %ax\n shl $1, %ax");
CHECK(shl1s, "SHL AX,1 with AX=8001h", In{}, AX(shl1(0x8001, 16).r), FL(shl1(0x8001, 16).f, kLogic));
SNIPPET(shr1s, "mov $0x8001, %ax\n shr $1, %ax");
CHECK(shr1s, "SHR AX,1 with AX=8001h", In{}, AX(shr1(0x8001, 16).r), FL(shr1(0x8001, 16).f, kLogic));
SNIPPET(sar1s, "mov $0x8001, %ax\n sar $1, %ax");
CHECK(sar1s, "SAR AX,1 with AX=8001h", In{}, AX(sar1(0x8001, 16).r), FL(sar1(0x8001, 16).f, kLogic));
SNIPPET(shlcl, "mov $0x1234, %ax\n mov $4, %cl\n shl %cl, %ax");
CHECK(shlcl, "SHL AX,CL with CL=4: CF is the last bit out (bit 12)", In{}, AX(0x2340),
      FL((0x1234 >> 12) & 1 ? CF : 0, CF | ZF | SF | PF));
SNIPPET(shlmask, "mov $0x1234, %ax\n mov $33, %cl\n shl %cl, %ax");
CHECK(shlmask, "SHL AX,CL with CL=33: the count is masked to 5 bits (1)", In{}, AX(0x2468),
      FL(0, CF));
SNIPPET(rol1s, "mov $0x8001, %ax\n rol $1, %ax");
CHECK(rol1s, "ROL AX,1 with AX=8001h", In{}, AX(rol1(0x8001, 16).r), FL(rol1(0x8001, 16).f, kRotate));
SNIPPET(ror1s, "mov $1, %ax\n ror $1, %ax");
CHECK(ror1s, "ROR AX,1 with AX=1", In{}, AX(ror1(1, 16).r), FL(ror1(1, 16).f, kRotate));
SNIPPET(rcl1s, "stc\n mov $0x4000, %ax\n rcl $1, %ax");
CHECK(rcl1s, "STC; RCL AX,1 with AX=4000h", In{}, AX(rcl1(0x4000, true, 16).r),
      FL(rcl1(0x4000, true, 16).f, kRotate));
SNIPPET(rcr1s, "stc\n mov $0x8001, %ax\n rcr $1, %ax");
CHECK(rcr1s, "STC; RCR AX,1 with AX=8001h", In{}, AX(rcr1(0x8001, true, 16).r),
      FL(rcr1(0x8001, true, 16).f, kRotate));
SNIPPET(daa1, "mov $0x79, %al\n add $0x35, %al\n daa");
CHECK(daa1, "ADD AL,35h; DAA with AL=79h (packed BCD 79+35=114)", In{},
      AL(daa(add(0x79, 0x35, 0, 8).r, add(0x79, 0x35, 0, 8).f).r),
      FL(daa(add(0x79, 0x35, 0, 8).r, add(0x79, 0x35, 0, 8).f).f, CF | AF | ZF | SF | PF));
SNIPPET(das1, "mov $0x35, %al\n sub $0x47, %al\n das");
CHECK(das1, "SUB AL,47h; DAS with AL=35h (packed BCD 35-47, borrow)", In{},
      AL(das(sub(0x35, 0x47, 0, 8).r, sub(0x35, 0x47, 0, 8).f).r),
      FL(das(sub(0x35, 0x47, 0, 8).r, sub(0x35, 0x47, 0, 8).f).f, CF | AF | ZF | SF | PF));
SNIPPET(aaa1, "mov $0x0009, %ax\n add $8, %al\n aaa");
CHECK(aaa1, "ADD AL,8; AAA with AX=0009h (unpacked BCD 9+8=17)", In{},
      AX(aaa(0x0011, add(9, 8, 0, 8).f).r), FL(aaa(0x0011, add(9, 8, 0, 8).f).f, CF | AF));
SNIPPET(aas1, "mov $0x0102, %ax\n sub $5, %al\n aas");
CHECK(aas1, "SUB AL,5; AAS with AX=0102h (unpacked BCD 12-5=7)", In{},
      AX(aas(0x01fd, sub(2, 5, 0, 8).f).r), FL(aas(0x01fd, sub(2, 5, 0, 8).f).f, CF | AF));
SNIPPET(aam1, "mov $0x4f, %al\n aam");
CHECK(aam1, "AAM with AL=4Fh (79 into AH=7, AL=9)", In{}, AX(aam(0x4f, 10).r),
      FL(aam(0x4f, 10).f, ZF | SF | PF));
SNIPPET(aam0, "mov $0x4f, %al\n aam0_at: .byte 0xd4, 0x00");
LABEL(aam0_at);
CHECK(aam0, "AAM 0: #DE, IP of the AAM pushed", In{}, VEC(0), AT(F::fip, aam0_at));
SNIPPET(aad1, "mov $0x0709, %ax\n aad");
CHECK(aad1, "AAD with AX=0709h (AL=79, AH=0)", In{}, AX(aad(0x0709, 10).r),
      FL(aad(0x0709, 10).f, ZF | SF | PF));
SNIPPET(aad16, "mov $0x0304, %ax\n .byte 0xd5, 0x10");
CHECK(aad16, "AAD 16 with AX=0304h (AL=34h)", In{}, AX(aad(0x0304, 16).r));

// ---- Jumps, calls, returns, loops ----
SNIPPET(jmpn, "mov $1, %ax\n jmp 1f\n mov $2, %ax\n 1:");
CHECK(jmpn, "JMP short over MOV AX,2", In{}, AX(1));
SNIPPET(jmpnear, "mov $1, %ax\n jmp 1f\n .fill 300, 1, 0x90\n mov $2, %ax\n 1:");
CHECK(jmpnear, "JMP near (rel16) over 300 bytes", In{}, AX(1));
SNIPPET(jmpfar,
        "mov %cs, %bx\n inc %bx\n mov %bx, 0x8402\n movw $(2f - jmpfar_start - 16), 0x8400\n"
        " ljmp *0x8400\n mov $0xbad, %ax\n 2: mov %cs, %ax");
CHECK(jmpfar, "JMP far through memory to CS+1:IP-16 (same bytes, new CS)", In{}, SEG(F::eax, 1));
SNIPPET(callret, "call 1f\n jmp 2f\n 1: mov $0x55, %ax\n ret\n 2:");
CHECK(callret, "CALL near; RET", In{}, AX(0x55), SP(kStack));
SNIPPET(callip, "call callip_ret\n callip_ret: pop %ax");
LABEL(callip_ret);
CHECK(callip, "CALL near pushes the offset of the next instruction", In{}, AT(F::eax, callip_ret),
      SP(kStack));
SNIPPET(retimm, "push $1\n push $2\n call 1f\n jmp 2f\n 1: ret $4\n 2:");
CHECK(retimm, "RET 4 pops the return address and 4 more bytes", In{}, SP(kStack));
SNIPPET(farcall,
        "movw $(1f - farcall_start), 0x8400\n mov %cs, 0x8402\n lcall *0x8400\n farcall_ret: jmp 2f\n"
        " 1: mov %sp, %bp\n mov (%bp), %bx\n mov 2(%bp), %cx\n lret\n 2:");
LABEL(farcall_ret);
CHECK(farcall, "CALL far through memory pushes CS then IP; RETF", In{}, AT(F::ebx, farcall_ret),
      SEG(F::ecx, 0), SP(kStack));
SNIPPET(retfimm, "push $7\n push %cs\n push $(1f - retfimm_start)\n lret $2\n 1: mov $1, %ax");
CHECK(retfimm, "RETF 2 pops IP, CS and 2 more bytes", In{}, AX(1), SP(kStack));
SNIPPET(je_t, "mov $5, %ax\n cmp $5, %ax\n je 1f\n mov $0, %ax\n 1:");
CHECK(je_t, "JE taken after CMP of equal values", In{}, AX(5));
SNIPPET(jb_n, "mov $5, %ax\n cmp $4, %ax\n jb 1f\n mov $9, %bx\n 1:");
CHECK(jb_n, "JB not taken after CMP 5,4 (CF=0)", In{}, BX(9));
SNIPPET(jl_t, "mov $-1, %ax\n cmp $1, %ax\n jl 1f\n mov $0, %bx\n jmp 2f\n 1: mov $1, %bx\n 2:");
CHECK(jl_t, "JL taken after CMP -1,1 (SF!=OF)", In{}, BX(1));
SNIPPET(ja_n, "mov $-1, %ax\n cmp $1, %ax\n ja 1f\n mov $0, %bx\n jmp 2f\n 1: mov $1, %bx\n 2:");
CHECK(ja_n, "JA taken after CMP FFFFh,1 (unsigned above)", In{}, BX(1));
SNIPPET(loop5, "mov $5, %cx\n xor %ax, %ax\n 1: add $3, %ax\n loop 1b");
CHECK(loop5, "LOOP 5 times", In{}, AX(15), CX(0));
SNIPPET(loope1, "mov $10, %cx\n xor %ax, %ax\n 1: inc %ax\n cmp $3, %ax\n loope 1b");
CHECK(loope1, "LOOPE stops when ZF=0 after one pass", In{}, AX(1), CX(9));
SNIPPET(loopne4, "mov $10, %cx\n xor %ax, %ax\n 1: inc %ax\n cmp $4, %ax\n loopne 1b");
CHECK(loopne4, "LOOPNE stops when ZF=1 (AX reaches 4)", In{}, AX(4), CX(6));
SNIPPET(jcxz_t, "xor %cx, %cx\n mov $1, %ax\n jcxz 1f\n mov $2, %ax\n 1:");
CHECK(jcxz_t, "JCXZ taken with CX=0", In{}, AX(1));
SNIPPET(jcxz_n, "mov $1, %cx\n mov $1, %ax\n jcxz 1f\n mov $2, %ax\n 1:");
CHECK(jcxz_n, "JCXZ not taken with CX=1", In{}, AX(2));

// ---- String instructions ----
SNIPPET(movsb5, "cld\n mov $0x8000, %si\n mov $0x8100, %di\n mov $5, %cx\n rep movsb");
CHECK(movsb5, "REP MOVSB, CX=5, DF=0", In{}, CX(0), SI(kData + 5), DI(kCopy + 5),
      MEM(kCopy + 3, data16(3)), MEM(kCopy + 5, 0));
SNIPPET(movsw_d, "std\n mov $0x8006, %si\n mov $0x8106, %di\n mov $3, %cx\n rep movsw\n cld");
CHECK(movsw_d, "REP MOVSW, CX=3, DF=1 (downwards)", In{}, SI(kData), DI(kCopy), MEM(kCopy + 2, data16(2)),
      MEM(kCopy, 0));
SNIPPET(stos0, "cld\n mov $0x8100, %di\n xor %cx, %cx\n mov $0xabcd, %ax\n rep stosw");
CHECK(stos0, "REP STOSW with CX=0 stores nothing", In{}, DI(kCopy), CX(0), MEM(kCopy, 0));
SNIPPET(stos3, "cld\n mov $0x8100, %di\n mov $3, %cx\n mov $0xabcd, %ax\n rep stosw");
CHECK(stos3, "REP STOSW, CX=3", In{}, DI(kCopy + 6), MEM(kCopy + 4, 0xabcd), MEM(kCopy + 6, 0));
SNIPPET(lods2, "cld\n mov $0x8000, %si\n lodsb\n lodsb");
CHECK(lods2, "LODSB twice, DF=0", In{}, AL('B'), SI(kData + 2));
SNIPPET(lodsw_d, "std\n mov $0x8004, %si\n lodsw\n cld");
CHECK(lodsw_d, "LODSW, DF=1", In{}, AX(data16(4)), SI(kData + 2));
SNIPPET(cmps_e, "cld\n mov $0x8000, %si\n mov $0x8200, %di\n mov $5, %cx\n repe cmpsb");
CHECK(cmps_e, "REPE CMPSB of \"ABCDE\" and \"ABCXE\" stops after the mismatch", In{}, CX(1),
      SI(kData + 4), DI(kCmp + 4), FL(sub('D', 'X', 0, 8).f, kArith));
SNIPPET(scas_ne, "cld\n mov $0x8000, %di\n mov $'F', %al\n mov $16, %cx\n repne scasb");
CHECK(scas_ne, "REPNE SCASB finds 'F' at index 5", In{}, DI(kData + 6), CX(10), FL(ZF, ZF));
SNIPPET(scas_d, "std\n mov $0x8005, %di\n mov $'A', %al\n mov $16, %cx\n repne scasb\n cld");
CHECK(scas_d, "REPNE SCASB, DF=1, finds 'A' 5 bytes down", In{}, DI(kData - 1), CX(10), FL(ZF, ZF));
SNIPPET(movs_seg, "cld\n mov $0x7000, %si\n mov $0x7100, %di\n mov $2, %cx\n rep movsb %es:(%si), %es:(%di)");
CHECK(movs_seg, "REP MOVSB ES:[SI] to ES:[DI] with ES=DS+100h (source override)", In{.es = 0x100},
      MEM(kCopy, data16(0)), SI(0x7002), DI(0x7102));

// ---- Stack ----
SNIPPET(pushseg, "push %es\n pop %fs\n mov %fs, %ax");
CHECK(pushseg, "PUSH ES; POP FS", In{.es = 0x123}, SEG(F::eax, 0x123), SEG(F::fs, 0x123), SP(kStack));
SNIPPET(pushss, "push %ss\n pop %ds\n mov %ds, %bx");
CHECK(pushss, "PUSH SS; POP DS", In{.ds = 0x55}, SEG(F::ebx, 0), SEG(F::ds, 0), SP(kStack));
SNIPPET(pushsp, "push %sp\n pop %ax");
CHECK(pushsp, "PUSH SP pushes SP as it was before the push", In{}, AX(kStack), SP(kStack));
SNIPPET(pushmem, "movw $0x1357, 0x8400\n pushw 0x8400\n popw 0x8402\n mov 0x8402, %ax");
CHECK(pushmem, "PUSH m16; POP m16", In{}, AX(0x1357), SP(kStack));
SNIPPET(pusha1,
        "pusha\n mov %sp, %bp\n mov 6(%bp), %ax\n mov %ax, 0x8400\n mov 14(%bp), %ax\n"
        " mov %ax, 0x8402\n mov (%bp), %ax\n mov %ax, 0x8404\n xor %ax, %ax\n xor %di, %di\n popa");
CHECK(pusha1, "PUSHA stores SP before it, AX first and DI last; POPA restores them",
      (In{.eax = 0x1111, .edi = 0x7777}), MEM(0x8400, kStack), MEM(0x8402, 0x1111),
      MEM(0x8404, 0x7777), AX(0x1111), DI(0x7777));
SNIPPET(pushf1, "pushf\n pop %ax\n or $0x0801, %ax\n push %ax\n popf\n pushf\n pop %bx");
CHECK(pushf1, "PUSHF; POPF sets CF and OF from the stack", In{}, FL(CF | OF, CF | OF), BX(2 | CF | OF),
      SP(kStack));
SNIPPET(enter0, "mov $0x1111, %bp\n enter $8, $0\n mov %sp, %ax\n mov %bp, %bx\n leave");
CHECK(enter0, "ENTER 8,0; LEAVE", In{}, AX(kStack - 2 - 8), BX(kStack - 2), BP(0x1111), SP(kStack));
SNIPPET(enter1, "mov $0x1111, %bp\n enter $4, $1\n mov %sp, %ax\n mov %bp, %bx\n leave");
CHECK(enter1, "ENTER 4,1 pushes BP and the new frame pointer", In{}, AX(kStack - 2 - 2 - 4),
      BX(kStack - 2), MEM(kStack - 4, kStack - 2), BP(0x1111), SP(kStack));
SNIPPET(spwrap, "push $0x1234\n mov %sp, %bx\n pop %ax");
CHECK(spwrap, "PUSH with SP=0 wraps to FFFEh; POP wraps back to 0", In{.esp = 0}, BX(0xfffe),
      MEM(0xfffe, 0x1234), AX(0x1234), ESP(0));

// ---- INT n, INT3, INTO, IRET ----
SNIPPET(int40,
        "sti\n int $0x40\n int40_ret: cli\n jmp 1f\n"
        "int40_h: mov %sp, %bp\n mov (%bp), %ax\n mov 2(%bp), %bx\n mov 4(%bp), %cx\n pushf\n"
        " pop %dx\n iret\n 1:");
LABEL(int40_ret);
LABEL(int40_h);
constexpr Handler kInt40[] = {{0x40, int40_h}};
CHECK_H(int40, "INT 40h pushes FLAGS (IF=1), CS, IP; the handler runs with IF=0", In{},
        {kInt40[0]}, 1, AT(F::eax, int40_ret), SEG(F::ebx, 0), Want{F::ecx, rflags::kInterrupt, rflags::kInterrupt},
        Want{F::edx, 0, rflags::kInterrupt}, SP(kStack));
SNIPPET(int3s, "int3\n int3_ret: jmp 1f\n int3_h: mov %sp, %bp\n mov (%bp), %ax\n iret\n 1:");
LABEL(int3_ret);
LABEL(int3_h);
constexpr Handler kInt3[] = {{3, int3_h}};
CHECK_H(int3s, "INT3 is a trap: the pushed IP follows the 1-byte INT3", In{}, {kInt3[0]}, 1,
        AT(F::eax, int3_ret), SP(kStack), NOVEC());
SNIPPET(into1,
        "mov $0x7fff, %ax\n add $1, %ax\n into\n into_ret: jmp 1f\n"
        " into_h: mov %sp, %bp\n mov (%bp), %bx\n iret\n 1:");
LABEL(into_ret);
LABEL(into_h);
constexpr Handler kInto[] = {{4, into_h}};
CHECK_H(into1, "INTO with OF=1 raises vector 4 after the INTO", In{}, {kInto[0]}, 1,
        AT(F::ebx, into_ret), SP(kStack), NOVEC());
SNIPPET(into0, "xor %ax, %ax\n into\n mov $1, %bx");
CHECK(into0, "INTO with OF=0 does nothing", In{}, BX(1), NOVEC());
SNIPPET(iretf, "clc\n int $0x41\n jmp 1f\n iretf_h: mov %sp, %bp\n orw $1, 4(%bp)\n iret\n 1:");
LABEL(iretf_h);
constexpr Handler kIretf[] = {{0x41, iretf_h}};
CHECK_H(iretf, "IRET loads FLAGS from the frame (the handler set CF there)", In{}, {kIretf[0]}, 1,
        FL(CF, CF), SP(kStack), NOVEC());
SNIPPET(stray, "int $0x99\n stray_ret:");
LABEL(stray_ret);
CHECK(stray, "INT 99h without a handler ends the run through the default IVT entry", In{},
      VEC(0x99), AT(F::fip, stray_ret), SEG(F::fcs, 0), SP(kStack - 6));
SNIPPET(ud, "ud_at: ud2");
LABEL(ud_at);
CHECK(ud, "UD2 raises #UD (a fault: IP of the UD2 pushed)", In{}, VEC(6), AT(F::fip, ud_at));

// ---- Segment overrides and 64 KiB wraparound ----
SNIPPET(es_ovr, "movw $0xbeef, %es:0x7400\n mov 0x8400, %ax");
CHECK(es_ovr, "ES: override with ES=DS+100h writes DS:offset+1000h", In{.es = 0x100}, AX(0xbeef));
SNIPPET(bp_ss, "mov $0x7010, %bp\n mov (%bp), %ax\n mov $0x7010, %bx\n mov (%bx), %cx");
CHECK(bp_ss, "[BP] defaults to SS, [BX] to DS (SS=DS+100h)", (In{.esp = 0xe000, .ss = 0x100}),
      AX(data16(0x10)), CX(0x0707));
SNIPPET(bp_ds, "mov $0x7010, %bp\n mov %ds:(%bp), %ax");
CHECK(bp_ds, "DS: override on [BP] (SS=DS+100h)", (In{.esp = 0xe000, .ss = 0x100}), AX(0x0707));
SNIPPET(cs_ovr, "mov %cs:0x8010, %ax");
CHECK(cs_ovr, "CS: override with DS elsewhere", In{.ds = 0x10}, AX(data16(0x10)));
SNIPPET(eawrap, "mov $0xfff0, %bx\n mov 0x8020(%bx), %al");
CHECK(eawrap, "BX+disp wraps at 64 KiB: FFF0h+8020h reads offset 8010h", In{}, AL('A' + 0x10));
SNIPPET(ss_push, "push $0x2468\n pop %ax\n mov 0xfffe, %bx");
CHECK(ss_push, "PUSH with SS=DS+800h, SP=8000h writes SS:7FFEh, which is DS:FFFEh",
      (In{.esp = 0x8000, .ss = 0x800}), AX(0x2468), BX(0x2468));
SNIPPET(limw, "mov $0xffff, %bx\n limw_at: mov (%bx), %ax");
LABEL(limw_at);
const Case limw_case{"a word read at offset FFFFh crosses the 64 KiB limit: #GP", limw_start, limw_end,
                     In{}, WANTS(VEC(13), AT(F::fip, limw_at)), {}, 0, true};

// ---- 66h and 67h prefixes ----
SNIPPET(add32, "mov $0x7fffffff, %eax\n add $1, %eax");
CHECK(add32, "66h: ADD EAX,1 with EAX=7FFFFFFFh", In{}, EAX(add(0x7fffffff, 1, 0, 32).r),
      FL(add(0x7fffffff, 1, 0, 32).f, kArith));
SNIPPET(mul32, "mov $0x10000, %eax\n mov $0x10000, %ebx\n mul %ebx");
CHECK(mul32, "66h: MUL EBX, 10000h * 10000h into EDX:EAX", In{}, EAX(0), EDX(1), FL(CF | OF, CF | OF));
SNIPPET(shr32, "mov $0x80000001, %eax\n shr $1, %eax");
CHECK(shr32, "66h: SHR EAX,1 with EAX=80000001h", In{}, EAX(shr1(0x80000001, 32).r),
      FL(shr1(0x80000001, 32).f, kLogic));
SNIPPET(push32, "pushl $0x12345678\n pop %ax\n pop %bx");
CHECK(push32, "66h: PUSH imm32 pushes 4 bytes on the 16-bit stack", In{}, AX(0x5678), BX(0x1234),
      SP(kStack));
SNIPPET(movsx32, "mov $0x80, %al\n movsbl %al, %ecx\n movzwl %cx, %edx");
CHECK(movsx32, "66h: MOVSX ECX,AL and MOVZX EDX,CX", In{}, ECX(0xffffff80), EDX(0xff80));
SNIPPET(sib32, "mov $0x8000, %ebx\n mov $2, %ecx\n mov (%ebx,%ecx,2), %ax");
CHECK(sib32, "67h: [EBX+ECX*2] addressing", In{}, AX(data16(4)));
SNIPPET(lea32, "mov $0x12345, %ebx\n lea 0x10(%ebx), %eax\n lea 0x10(%bx), %cx");
CHECK(lea32, "67h LEA keeps 32 bits; 16-bit LEA truncates", In{}, EAX(0x12355), CX(0x2355));
SNIPPET(lim32, "mov $0x10000, %ebx\n lim32_at: mov (%ebx), %al");
LABEL(lim32_at);
const Case lim32_case{"67h: a read at offset 10000h is beyond the 64 KiB limit: #GP", lim32_start,
                      lim32_end, In{}, WANTS(VEC(13), AT(F::fip, lim32_at)), {}, 0, true};

const Case* const kCases[] = {
    &add_of_case, &add_cf_case, &adc_c_case, &sub_b_case, &sbb_b_case, &inc_cf_case, &dec_cf_case,
    &neg5_case, &neg0_case, &mul_big_case, &mul_small_case, &imul1_case, &imul3_case, &div16_case,
    &idiv16_case, &div0_case, &divov_case, &div0_h_case, &and16_case, &or16_case, &xor16_case,
    &test16_case, &shl1s_case, &shr1s_case, &sar1s_case, &shlcl_case, &shlmask_case, &rol1s_case,
    &ror1s_case, &rcl1s_case, &rcr1s_case, &daa1_case, &das1_case, &aaa1_case, &aas1_case,
    &aam1_case, &aam0_case, &aad1_case, &aad16_case,
    &jmpn_case, &jmpnear_case, &jmpfar_case, &callret_case, &callip_case, &retimm_case,
    &farcall_case, &retfimm_case, &je_t_case, &jb_n_case, &jl_t_case, &ja_n_case, &loop5_case,
    &loope1_case, &loopne4_case, &jcxz_t_case, &jcxz_n_case,
    &movsb5_case, &movsw_d_case, &stos0_case, &stos3_case, &lods2_case, &lodsw_d_case,
    &cmps_e_case, &scas_ne_case, &scas_d_case, &movs_seg_case,
    &pushseg_case, &pushss_case, &pushsp_case, &pushmem_case, &pusha1_case, &pushf1_case,
    &enter0_case, &enter1_case, &spwrap_case,
    &int40_case, &int3s_case, &into1_case, &into0_case, &iretf_case, &stray_case, &ud_case,
    &es_ovr_case, &bp_ss_case, &bp_ds_case, &cs_ovr_case, &eawrap_case, &ss_push_case, &limw_case,
    &add32_case, &mul32_case, &shr32_case, &push32_case, &movsx32_case, &sib32_case, &lea32_case,
    &lim32_case,
};

uint32_t got_value(const Want& w, const modeswitch::RealResult& r, const uint8_t* area) {
  const RealRegs& o = r.out;
  switch (w.field) {
    case F::eax: return o.eax;
    case F::ebx: return o.ebx;
    case F::ecx: return o.ecx;
    case F::edx: return o.edx;
    case F::esi: return o.esi;
    case F::edi: return o.edi;
    case F::ebp: return o.ebp;
    case F::esp: return o.esp;
    case F::flags: return o.eflags;
    case F::ds: return o.ds;
    case F::es: return o.es;
    case F::fs: return o.fs;
    case F::ss: return o.ss;
    case F::vec: return r.vectored ? r.vector : kNoVector;
    case F::fip: return r.fault_ip;
    case F::fcs: return r.fault_cs;
    case F::mem16: return uint32_t(area[w.addr]) | uint32_t(area[uint16_t(w.addr + 1)]) << 8;
  }
  return 0;
}

// Appends " NAME=value" (masked, and the mask when partial) to buf.
void describe(char* buf, size_t size, const Want& w, uint32_t v) {
  const size_t n = strlen(buf);
  if (w.field == F::vec) {
    if (v == kNoVector)
      rt::snprintf(buf + n, size - n, " no vector");
    else
      rt::snprintf(buf + n, size - n, " vector %u", v);
  } else if (w.field == F::mem16) {
    rt::snprintf(buf + n, size - n, " word[%04xh]=%04xh", w.addr, v);
  } else if (w.mask != 0xffffffffu && w.mask != 0xffff && w.mask != 0xff) {
    rt::snprintf(buf + n, size - n, " %s&%xh=%xh", kFieldNames[unsigned(w.field)], w.mask, v & w.mask);
  } else if ((w.mask == 0xffff || w.mask == 0xff) && unsigned(w.field) < 8) {
    rt::snprintf(buf + n, size - n, " %s%s=%xh", w.mask == 0xff ? "low byte of " : "",
                 kNames16[unsigned(w.field)], v & w.mask);
  } else {
    rt::snprintf(buf + n, size - n, " %s=%xh", kFieldNames[unsigned(w.field)], v & w.mask);
  }
}

void run_case(const Case& c) {
  const uint16_t s = modeswitch::snippet_segment();
  uint8_t* area = modeswitch::snippet_area();
  prefill(area);
  modeswitch::RealRun run{};
  run.code = c.start;
  run.size = size_t(c.end - c.start);
  run.in = RealRegs{c.in.eax, c.in.ebx, c.in.ecx, c.in.edx, c.in.esi, c.in.edi, c.in.ebp, c.in.esp,
                    c.in.eflags, uint16_t(s + c.in.ds), uint16_t(s + c.in.es), uint16_t(s + c.in.fs),
                    uint16_t(s + c.in.gs), uint16_t(s + c.in.ss), 0};
  for (unsigned h = 0; h < c.handler_count; ++h)
    run.handlers[h] = {c.handlers[h].vector, uint16_t(c.handlers[h].label - c.start)};
  run.handler_count = c.handler_count;
  const modeswitch::RealResult r = modeswitch::run_real(run);

  char want[160] = "", got[160] = "";
  bool pass = true;
  bool vector_checked = false;
  for (unsigned i = 0; i < c.wants; ++i) {
    const Want& w = c.want[i];
    uint32_t expect = w.value;
    if (w.seg_rel) expect += s;
    if (w.label) expect += uint32_t(w.label - c.start);
    const uint32_t v = got_value(w, r, area);
    if ((v & w.mask) != (expect & w.mask)) pass = false;
    if (w.field == F::vec) vector_checked = true;
    describe(want, sizeof(want), w, expect);
    describe(got, sizeof(got), w, v);
  }
  // A vector nobody expected is always a failure, and says which.
  if (!vector_checked && r.vectored) {
    pass = false;
    const size_t n = strlen(got);
    rt::snprintf(got + n, sizeof(got) - n, " (ended by vector %u at %04x:%04xh)", r.vector,
                 r.fault_cs, r.fault_ip);
  }
  if (c.limit_check) {
    report_xfail(known_tcg_difference("no segment-limit check on real-mode data accesses"), pass,
                 "%s: wanted%s; got%s", c.what, want, got);
    return;
  }
  report(pass, "%s: wanted%s; got%s", c.what, want, got);
}

}  // namespace

int main() {
  if (const char* why = modeswitch::unavailable()) {
    report_skip("real mode: the mode-switch trampoline: %s", why);
    return report_summary();
  }
  report_info("snippet segment %04xh, trampoline segment %04xh", modeswitch::snippet_segment(),
              modeswitch::blob_segment());
  for (const Case* c : kCases) run_case(*c);
  return report_summary();
}
