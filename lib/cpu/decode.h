// x86-64 instruction decoder shared by the #VC (SEV-ES/SNP) and #VE (TDX)
// handlers, and usable on the host.
//
// Scope: 64-bit mode only (CS.L=1). The handlers run after takeover, when
// every interrupted instruction is 64-bit code; compatibility mode and real
// mode are not decoded.
//
// Contract:
//  - decode() reads at most 15 bytes (Intel SDM vol.2 §2.3.11, AMD APM vol.3
//    §1.1) and never past `len`. It returns a Status; only Status::ok fills
//    every field of Insn. `truncated` means the bytes end before the
//    instruction does (fetch more and retry); `too_long` means the encoding
//    exceeds 15 bytes (#GP on hardware); `invalid` means #UD in 64-bit mode;
//    `unsupported` means a valid instruction outside the claimed subset below.
//    On failure `length` is 0 and the fields decoded before the failure point
//    (prefixes, map, opcode, ModRM) are kept for diagnostics.
//  - LOCK is validated (Intel SDM vol.2 LOCK page: only the read-modify-write
//    forms with a memory destination accept it, anything else is #UD).
//    LOCK MOV CRn is `unsupported`: AMD reads it as CR8 access, Intel #UDs.
//    Repeated or conflicting prefixes are otherwise recorded, not validated.
//
// Claimed subset (length, prefixes, ModRM/SIB/displacement and immediate are
// exact; the handler forms additionally get a Kind):
//  - 1-byte map: every opcode valid in 64-bit mode except the x87 escapes
//    D8-DF, VEX/EVEX (C4, C5, 62), XOP (8F /1-/7) and the TSX forms
//    C6 /7 (XABORT) and C7 /7 (XBEGIN), which are `unsupported`.
//  - 0F map: 00 (group 6 /0-/5), 01 (group 7 memory forms /0-/4,/6,/7; the
//    register forms C1 VMCALL, C8 MONITOR, C9 MWAIT, CA CLAC, CB STAC,
//    D0 XGETBV, D1 XSETBV, D9 VMMCALL, F8 SWAPGS, F9 RDTSCP, and /4 /6
//    SMSW/LMSW), 05-09, 0B, 1F /0 (multi-byte NOP), 20-23 (MOV CR/DR),
//    30-33, 40-4F, 80-8F, 90-9F, A0-A5, A8-AD, AF, B0-B7, BA /4-/7, BB-BF,
//    C0, C1, C7 /1 memory (CMPXCHG8B/16B), C8-CF, and AE E8/F0/F8
//    (LFENCE/MFENCE/SFENCE) without a 66/F2/F3 prefix. 0F 1F is claimed in
//    its memory form only (the form compilers emit as padding).
//  - 0F 38 and 0F 3A, SSE/MMX, x87: `unsupported`.
//  - MOV Sreg (8C, 8E) with REX.R: `unsupported`.
//  - Near branches with a rel16/32 immediate (E8, E9, 0F 80-8F) under a 66
//    prefix: `unsupported`, because their length differs between vendors
//    (Intel ignores 66 there in 64-bit mode, AMD honours it; Intel SDM vol.2
//    §2.2.1.3, AMD APM vol.3 §1.2.5).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/regs.h"

namespace x86 {

constexpr unsigned kMaxInsnLength = 15;

enum class Status : uint8_t { ok, truncated, too_long, invalid, unsupported };

enum class Map : uint8_t { primary, map0f };

enum class Segment : uint8_t { none, es, cs, ss, ds, fs, gs };

// The instruction forms the #VC/#VE handlers emulate or forward.
enum class Kind : uint8_t {
  other,
  mov_store,      // 88, 89: MOV r/m <- reg
  mov_load,       // 8A, 8B: MOV reg <- r/m
  mov_store_imm,  // C6 /0, C7 /0
  mov_load_moffs,   // A0, A1
  mov_store_moffs,  // A2, A3
  movzx,          // 0F B6, 0F B7
  movsx,          // 0F BE, 0F BF
  movs,           // A4, A5
  stos,           // AA, AB
  in_imm,         // E4, E5
  out_imm,        // E6, E7
  in_dx,          // EC, ED
  out_dx,         // EE, EF
  ins,            // 6C, 6D
  outs,           // 6E, 6F
  cpuid,          // 0F A2
  rdmsr,          // 0F 32
  wrmsr,          // 0F 30
  rdtsc,          // 0F 31
  rdtscp,         // 0F 01 F9
  vmmcall,        // 0F 01 D9
  vmcall,         // 0F 01 C1
  wbinvd,         // 0F 09
  mov_from_dr,    // 0F 21
  mov_to_dr,      // 0F 23
  hlt,            // F4
};

// A ModRM memory operand, register numbers as in Regs::gpr.
struct MemOperand {
  static constexpr uint8_t kNoReg = 0xff;
  uint8_t base = kNoReg;   // kNoReg: no base (disp32 only)
  uint8_t index = kNoReg;  // kNoReg: no index
  uint8_t scale = 1;       // 1, 2, 4 or 8
  bool rip_relative = false;
  int64_t disp = 0;        // sign-extended
};

// A general-purpose register operand of a given width. `high_byte` selects
// AH/CH/DH/BH (register numbers 4-7 with size 1 and no REX prefix, Intel SDM
// vol.2 §3.1.1.1 table 3-1); `num` is then 0-3, the register holding it.
struct RegOperand {
  uint8_t num = 0;
  uint8_t size = 8;
  bool high_byte = false;
};

struct Insn {
  uint8_t length = 0;
  Map map = Map::primary;
  uint8_t opcode = 0;
  Kind kind = Kind::other;

  // Legacy prefixes (Intel SDM vol.2 §2.1.1). Within a group the last one
  // counts; `last_rep` is 0xf2, 0xf3 or 0.
  bool opsize_prefix = false;  // 66
  bool addrsize_prefix = false;  // 67
  bool lock = false;             // F0
  uint8_t last_rep = 0;
  Segment segment = Segment::none;

  // REX (Intel SDM vol.2 §2.2.1): 0 when absent or not effective, i.e. not
  // the byte right before the opcode.
  uint8_t rex = 0;

  uint8_t opsize = 4;    // effective operand-size attribute: 2, 4 or 8
  uint8_t addrsize = 8;  // effective address size: 4 or 8

  bool has_modrm = false;
  uint8_t modrm = 0;
  uint8_t mod = 0;
  uint8_t reg = 0;  // ModRM.reg extended by REX.R
  uint8_t rm = 0;   // ModRM.rm extended by REX.B (register when mod == 3)
  bool has_sib = false;
  uint8_t sib = 0;
  bool has_mem = false;  // ModRM names a memory operand
  MemOperand mem;
  uint8_t disp_size = 0;

  uint8_t imm_size = 0;  // bytes of the (first) immediate
  uint64_t imm = 0;      // zero-extended raw bytes
  uint8_t imm2_size = 0;  // ENTER's second immediate (imm8)
  uint64_t imm2 = 0;
  uint8_t moffs_size = 0;  // A0-A3: 8, or 4 under 67
  uint64_t moffs = 0;

  // Width in bytes of the data the handler forms move (memory, port, or
  // register source for movzx/movsx); 0 for other kinds.
  uint8_t access_size = 0;

  bool rep() const { return last_rep != 0; }
  bool rex_w() const { return rex & 0x08; }
  bool is_relative_branch() const;
  // The immediate sign-extended from imm_size bytes.
  int64_t imm_signed() const;
  // The immediate as the instruction uses it: zero-extended for port
  // numbers, INT vectors, RET/RETF/ENTER sizes and bit offsets, sign-extended
  // otherwise (Intel SDM vol.2 §2.2.1.5 and the instruction pages).
  uint64_t imm_value() const;
  // The register operand named by ModRM.reg at width `size`.
  RegOperand reg_operand(uint8_t size) const;
  // The register operand named by ModRM.rm (mod == 3) at width `size`.
  RegOperand rm_operand(uint8_t size) const;
};

[[nodiscard]] Status decode(const uint8_t* bytes, size_t len, Insn* out);

const char* status_name(Status s);

// FS and GS bases at the time of the fault; the other segments have base 0 in
// 64-bit mode (Intel SDM vol.3 §3.4.4, AMD APM vol.2 §4.5.3).
struct SegmentBases {
  uint64_t fs = 0;
  uint64_t gs = 0;
};

// Linear address of the ModRM memory operand (has_mem). RIP-relative is
// relative to the next instruction, i.e. regs.rip + length. The sum wraps at
// the address size before the segment base is added.
uint64_t memory_address(const Insn& insn, const Regs& regs, SegmentBases seg = {});
// Linear address of the moffs operand of A0-A3.
uint64_t moffs_address(const Insn& insn, const Regs& regs, SegmentBases seg = {});
// String instructions: the source is seg:rSI (segment overridable), the
// destination always ES:rDI (Intel SDM vol.1 §7.3.9.1).
uint64_t string_source_address(const Insn& insn, const Regs& regs, SegmentBases seg = {});
uint64_t string_dest_address(const Insn& insn, const Regs& regs);
// rCX truncated to the address size: the REP count.
uint64_t rep_count(const Insn& insn, const Regs& regs);

// Register access with x86 width semantics: a 32-bit write zero-extends to
// 64 bits, 8- and 16-bit writes preserve the other bits (Intel SDM vol.1
// §3.4.1.1).
uint64_t read_reg(const Regs& regs, RegOperand r);
void write_reg(Regs& regs, RegOperand r, uint64_t value);
// By number: size 1 with `rex` false maps numbers 4-7 to AH/CH/DH/BH.
RegOperand reg_by_number(uint8_t num, uint8_t size, bool rex);

}  // namespace x86
