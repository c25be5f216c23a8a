#include "decode_diff.h"

#include <capstone/capstone.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "cpu/decode.h"

namespace decode_diff {
namespace {

csh g_cs;
cs_insn* g_insn;
constexpr uint64_t kAddress = 0x100000;

constexpr x86_reg kReg64[16] = {
    X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP,
    X86_REG_RSI, X86_REG_RDI, X86_REG_R8,  X86_REG_R9,  X86_REG_R10, X86_REG_R11,
    X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15};
constexpr x86_reg kReg32[16] = {
    X86_REG_EAX, X86_REG_ECX, X86_REG_EDX,  X86_REG_EBX,  X86_REG_ESP,  X86_REG_EBP,
    X86_REG_ESI, X86_REG_EDI, X86_REG_R8D,  X86_REG_R9D,  X86_REG_R10D, X86_REG_R11D,
    X86_REG_R12D, X86_REG_R13D, X86_REG_R14D, X86_REG_R15D};
constexpr x86_reg kReg16[16] = {
    X86_REG_AX,  X86_REG_CX,  X86_REG_DX,   X86_REG_BX,   X86_REG_SP,   X86_REG_BP,
    X86_REG_SI,  X86_REG_DI,  X86_REG_R8W,  X86_REG_R9W,  X86_REG_R10W, X86_REG_R11W,
    X86_REG_R12W, X86_REG_R13W, X86_REG_R14W, X86_REG_R15W};
constexpr x86_reg kReg8[16] = {
    X86_REG_AL,  X86_REG_CL,  X86_REG_DL,   X86_REG_BL,   X86_REG_SPL,  X86_REG_BPL,
    X86_REG_SIL, X86_REG_DIL, X86_REG_R8B,  X86_REG_R9B,  X86_REG_R10B, X86_REG_R11B,
    X86_REG_R12B, X86_REG_R13B, X86_REG_R14B, X86_REG_R15B};
constexpr x86_reg kRegHigh8[4] = {X86_REG_AH, X86_REG_CH, X86_REG_DH, X86_REG_BH};

x86_reg cs_reg(x86::RegOperand r) {
  if (r.high_byte) return kRegHigh8[r.num & 3];
  switch (r.size) {
    case 1: return kReg8[r.num & 15];
    case 2: return kReg16[r.num & 15];
    case 4: return kReg32[r.num & 15];
    default: return kReg64[r.num & 15];
  }
}

x86_reg cs_gpr64(uint8_t num, uint8_t addrsize) {
  if (num == x86::MemOperand::kNoReg) return X86_REG_INVALID;
  return addrsize == 8 ? kReg64[num & 15] : kReg32[num & 15];
}

Result disagree(const char* fmt, ...) {
  Result r;
  r.verdict = Verdict::disagree;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r.why, sizeof(r.why), fmt, ap);
  va_end(ap);
  return r;
}

const cs_x86_op* find_op(const cs_x86& d, x86_op_type type, int nth = 0) {
  for (int i = 0; i < d.op_count; i++) {
    if (d.operands[i].type == type && nth-- == 0) return &d.operands[i];
  }
  return nullptr;
}

uint64_t mask_bytes(uint64_t v, unsigned bytes) {
  return bytes >= 8 ? v : v & ((uint64_t{1} << (8 * bytes)) - 1);
}

Result compare_mem(const x86::Insn& in, const cs_x86& d) {
  const cs_x86_op* op = find_op(d, X86_OP_MEM);
  if (!op) return disagree("capstone has no memory operand");
  const x86_op_mem& m = op->mem;
  const x86::MemOperand& our = in.mem;
  const x86_reg base = our.rip_relative ? (in.addrsize == 8 ? X86_REG_RIP : X86_REG_EIP)
                                        : cs_gpr64(our.base, in.addrsize);
  if (m.base != base) {
    return disagree("base: ours %s, capstone %s", cs_reg_name(g_cs, base),
                    cs_reg_name(g_cs, m.base));
  }
  const x86_reg index = cs_gpr64(our.index, in.addrsize);
  if (m.index != index) {
    return disagree("index: ours %s, capstone %s", cs_reg_name(g_cs, index),
                    cs_reg_name(g_cs, m.index));
  }
  if (index != X86_REG_INVALID && m.scale != our.scale) {
    return disagree("scale: ours %d, capstone %d", our.scale, m.scale);
  }
  if (m.disp != our.disp) {
    return disagree("disp: ours %lld, capstone %lld", static_cast<long long>(our.disp),
                    static_cast<long long>(m.disp));
  }
  const bool ours_fsgs = in.segment == x86::Segment::fs || in.segment == x86::Segment::gs;
  const bool cs_fsgs = m.segment == X86_REG_FS || m.segment == X86_REG_GS;
  if (ours_fsgs != cs_fsgs ||
      (ours_fsgs && (m.segment == X86_REG_FS) != (in.segment == x86::Segment::fs))) {
    return disagree("segment: capstone %s", cs_reg_name(g_cs, m.segment));
  }
  return {};
}

Result compare_imm(const x86::Insn& in, const cs_x86& d) {
  const cs_x86_op* op = find_op(d, X86_OP_IMM);
  if (!op) return disagree("capstone has no immediate operand");
  if (in.is_relative_branch()) {
    uint64_t target = kAddress + in.length + static_cast<uint64_t>(in.imm_signed());
    uint64_t theirs = static_cast<uint64_t>(op->imm);
    // Capstone wraps the target to 16 bits whenever 66 is present, even
    // when REX.W makes the operation 64-bit; compare what both define.
    if (in.opsize_prefix) {
      target &= 0xffff;
      theirs &= 0xffff;
    }
    if (theirs != target) {
      return disagree("branch target: ours %#llx, capstone %#llx",
                      static_cast<unsigned long long>(target),
                      static_cast<unsigned long long>(op->imm));
    }
    return {};
  }
  // Compare at the width the instruction uses the immediate: Capstone
  // reports push imm16 as an 8-byte operand, and sign-extends the unsigned
  // imm16 of ENTER and RETF, so both are cut to what the encoding defines.
  unsigned width = op->size ? op->size : 8;
  if (width > in.opsize) width = in.opsize;
  if (in.imm_value() == in.imm && width > in.imm_size) width = in.imm_size;
  // Under 66 + REX.W Capstone does not sign-extend imm32 (push, ALU); the
  // immediate bytes are still compared.
  if (in.opsize_prefix && in.rex_w() && width > in.imm_size) width = in.imm_size;
  const uint64_t ours = mask_bytes(in.imm_value(), width);
  const uint64_t theirs = mask_bytes(static_cast<uint64_t>(op->imm), width);
  if (ours != theirs) {
    return disagree("imm: ours %#llx, capstone %#llx (width %u)",
                    static_cast<unsigned long long>(ours),
                    static_cast<unsigned long long>(theirs), width);
  }
  if (in.imm2_size) {
    const cs_x86_op* op2 = find_op(d, X86_OP_IMM, 1);
    if (!op2 || mask_bytes(static_cast<uint64_t>(op2->imm), 1) != in.imm2) {
      return disagree("second immediate differs");
    }
  }
  return {};
}

Result expect_reg(const cs_x86& d, int idx, x86::RegOperand r, const char* what) {
  if (idx >= d.op_count || d.operands[idx].type != X86_OP_REG) {
    return disagree("%s: capstone operand %d is not a register", what, idx);
  }
  const x86_reg want = cs_reg(r);
  if (d.operands[idx].reg != want) {
    return disagree("%s: ours %s, capstone %s", what, cs_reg_name(g_cs, want),
                    cs_reg_name(g_cs, d.operands[idx].reg));
  }
  return {};
}

// The r/m operand of a handler form: register (mod == 3) or memory of the
// access width.
Result expect_rm(const x86::Insn& in, const cs_x86& d, int idx, uint8_t size) {
  if (in.mod == 3) return expect_reg(d, idx, in.rm_operand(size), "rm");
  if (idx >= d.op_count || d.operands[idx].type != X86_OP_MEM) {
    return disagree("rm: capstone operand %d is not memory", idx);
  }
  if (d.operands[idx].size != size) {
    return disagree("access size: ours %u, capstone %u", size, d.operands[idx].size);
  }
  return {};
}

Result compare_handler_form(const x86::Insn& in, const cs_x86& d) {
  using x86::Kind;
  const uint8_t acc = in.access_size;
  Result r;
  switch (in.kind) {
    case Kind::mov_store:
      if ((r = expect_rm(in, d, 0, acc)).verdict != Verdict::agree) return r;
      return expect_reg(d, 1, in.reg_operand(acc), "reg");
    case Kind::mov_load:
      if ((r = expect_reg(d, 0, in.reg_operand(acc), "reg")).verdict != Verdict::agree) return r;
      return expect_rm(in, d, 1, acc);
    case Kind::movzx:
    case Kind::movsx:
      if ((r = expect_reg(d, 0, in.reg_operand(in.opsize), "reg")).verdict != Verdict::agree) {
        return r;
      }
      return expect_rm(in, d, 1, acc);
    case Kind::mov_store_imm:
      return expect_rm(in, d, 0, acc);
    case Kind::mov_load_moffs:
    case Kind::mov_store_moffs: {
      const int reg_idx = in.kind == Kind::mov_load_moffs ? 0 : 1;
      if ((r = expect_reg(d, reg_idx, x86::RegOperand{0, acc, false}, "acc")).verdict !=
          Verdict::agree) {
        return r;
      }
      const cs_x86_op* m = find_op(d, X86_OP_MEM);
      if (!m || static_cast<uint64_t>(m->mem.disp) != in.moffs || m->size != acc) {
        return disagree("moffs operand differs");
      }
      return {};
    }
    case Kind::in_imm:
    case Kind::in_dx:
      return expect_reg(d, 0, x86::RegOperand{0, acc, false}, "in data");
    case Kind::out_imm:
    case Kind::out_dx:
      return expect_reg(d, 1, x86::RegOperand{0, acc, false}, "out data");
    default:
      return {};
  }
}

bool is_prefix_byte(uint8_t b) {
  return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x26 ||
         b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 || (b & 0xf0) == 0x40;
}

// Encodings the SDM defines as #UD that Capstone 4 still decodes. Each is a
// Capstone deviation, not a decoder choice; the run counts them separately
// and still requires Capstone's length to be plausible (non-zero).
bool capstone_accepts_ud(const x86::Insn& in) {
  if (in.map == x86::Map::map0f) {
    // MOV DR with REX.R: "#UD if REX.R = 1" (Intel SDM vol.2, MOV-Move
    // to/from Debug Registers).
    if ((in.opcode == 0x21 || in.opcode == 0x23) && (in.rex & 0x4)) return true;
    // MOV CR to a reserved control register: #UD (Intel SDM vol.2, MOV-Move
    // to/from Control Registers).
    if ((in.opcode == 0x20 || in.opcode == 0x22) && in.has_modrm) return true;
  }
  // MOV CS, r/m: "#UD if an attempt is made to load the CS register" (Intel
  // SDM vol.2, MOV page).
  if (in.map == x86::Map::primary && in.opcode == 0x8e && in.has_modrm &&
      ((in.modrm >> 3) & 7) == 1) {
    return true;
  }
  return false;
}



// Rewrites prefix bytes so that Capstone 4 answers for an equivalent
// encoding where it has operand-size bugs. Only prefix bytes change, each
// into another legacy prefix, so REX placement and length stay the same:
//  - 66 together with F2/F3: it keeps 32-bit operands for IN/OUT, mixes
//    16- and 32-bit operands on MOV, reads push imm32 and rejects MOV moffs.
//    In the 1-byte map F2/F3 never change length or operands (Intel SDM
//    vol.2 §2.1.1: string repeats and hints only), so they become another 66.
//  - 67 together with REX.W: it takes the operation as 16-bit (IN/OUT data,
//    rel16 branches). Without a memory operand 67 has no effect on length or
//    operands, so it becomes a DS override, equally inert there.
// Returns true if anything was rewritten.
bool steer_around_capstone(const x86::Insn& in, uint8_t* q, size_t n) {
  if (in.map != x86::Map::primary) return false;
  const bool rep_66 = in.opsize_prefix && in.last_rep;
  const uint8_t op = in.opcode;
  const bool string_op = (op >= 0xa4 && op <= 0xaf && op != 0xa8 && op != 0xa9) ||
                         (op >= 0x6c && op <= 0x6f) || op == 0xd7;
  const bool has_mem_operand = in.has_mem || (op >= 0xa0 && op <= 0xa3) || string_op;
  const bool inert_67 = in.addrsize_prefix && in.rex_w() && !has_mem_operand;
  bool changed = false;
  for (size_t i = 0; i < n && is_prefix_byte(q[i]); i++) {
    if (rep_66 && (q[i] == 0xf2 || q[i] == 0xf3)) q[i] = 0x66, changed = true;
    if (inert_67 && q[i] == 0x67) q[i] = 0x3e, changed = true;
  }
  return changed;
}

bool capstone_decode(const uint8_t* q, size_t n) {
  const uint8_t* code = q;
  size_t size = n;
  uint64_t addr = kAddress;
  return cs_disasm_iter(g_cs, &code, &size, &addr, g_insn);
}

Result deviation(const char* what) {
  Result r;
  r.verdict = Verdict::oracle_deviation;
  r.deviation = what;
  return r;
}

// Capstone 4 reads RET/RETF imm16 as imm32 under REX.W with 66 or 67 (and
// then rejects it if that crosses 15 bytes); the SDM encodes C2/CA with an
// imm16 in every mode.
bool capstone_ret_imm32(const x86::Insn& in) {
  return in.map == x86::Map::primary && (in.opcode == 0xc2 || in.opcode == 0xca) &&
         in.rex_w() && (in.opsize_prefix || in.addrsize_prefix);
}

Result compare_ok(const x86::Insn& in, const cs_x86& d) {
  char text[200];
  snprintf(text, sizeof(text), "%s %s", g_insn->mnemonic, g_insn->op_str);
  if (capstone_ret_imm32(in) && g_insn->size == in.length + 2) {
    return deviation("ret imm16 read as imm32");
  }
  if (g_insn->size != in.length) {
    return disagree("length: ours %u, capstone %u [%s]", in.length, g_insn->size, text);
  }
  // Capstone 4 reports encoding.disp_size 2 for a disp32 under a 66 prefix
  // (the value and the length are right), so the size is compared only
  // without 66.
  if (in.has_modrm && !in.opsize_prefix && in.disp_size != d.encoding.disp_size) {
    return disagree("disp size: ours %u, capstone %u [%s]", in.disp_size, d.encoding.disp_size,
                    text);
  }
  Result r;
  if (in.has_mem && (r = compare_mem(in, d)).verdict != Verdict::agree) {
  } else if (in.imm_size && (r = compare_imm(in, d)).verdict != Verdict::agree) {
  } else if ((r = compare_handler_form(in, d)).verdict != Verdict::agree) {
  } else {
    return {};
  }
  snprintf(r.why + strlen(r.why), sizeof(r.why) - strlen(r.why), " [%s]", text);
  return r;
}

}  // namespace

bool init() {
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &g_cs) != CS_ERR_OK) return false;
  cs_option(g_cs, CS_OPT_DETAIL, CS_OPT_ON);
  g_insn = cs_malloc(g_cs);
  return g_insn != nullptr;
}

void fini() {
  cs_free(g_insn, 1);
  cs_close(&g_cs);
}

void hex(const uint8_t* bytes, size_t len, char* out, size_t out_len) {
  size_t o = 0;
  out[0] = 0;
  for (size_t i = 0; i < len && o + 4 < out_len; i++) {
    o += static_cast<size_t>(snprintf(out + o, out_len - o, i ? " %02x" : "%02x", bytes[i]));
  }
}

Result compare(const uint8_t* bytes, size_t len) {
  x86::Insn in;
  const x86::Status st = x86::decode(bytes, len, &in);
  if (st == x86::Status::unsupported || st == x86::Status::truncated) {
    return Result{Verdict::skipped, nullptr, {}};
  }

  uint8_t q[x86::kMaxInsnLength];
  const size_t n = len < sizeof(q) ? len : sizeof(q);
  memcpy(q, bytes, n);
  const bool steered = steer_around_capstone(in, q, n);
  const bool cs_ok = capstone_decode(q, n);

  if (st == x86::Status::ok) {
    if (!cs_ok && capstone_ret_imm32(in) && in.length + 2u > x86::kMaxInsnLength) {
      return deviation("ret imm16 read as imm32");
    }
    if (!cs_ok) return disagree("ours ok (len %u), capstone rejects", in.length);
    return compare_ok(in, g_insn->detail->x86);
  }

  // Ours: invalid or too_long.
  if (!cs_ok) return {};
  if (st == x86::Status::invalid && capstone_accepts_ud(in)) {
    return deviation("decodes a #UD register encoding");
  }
  // Capstone 4 enforces LOCK only partly (it accepts LOCK together with
  // F2/F3, and on some register-destination forms). When our only objection
  // is LOCK, the same bytes with LOCK turned into a DS override (same
  // length, same REX placement) must decode to Capstone's length.
  if (st == x86::Status::invalid && in.lock) {
    uint8_t unlocked[x86::kMaxInsnLength];
    memcpy(unlocked, bytes, n);
    for (size_t i = 0; i < n && is_prefix_byte(unlocked[i]); i++) {
      if (unlocked[i] == 0xf0) unlocked[i] = 0x3e;
    }
    x86::Insn plain;
    const x86::Status ps = x86::decode(unlocked, n, &plain);
    if (ps == x86::Status::unsupported) return Result{Verdict::skipped, nullptr, {}};
    if (ps == x86::Status::ok) {
      if (plain.length == g_insn->size) return deviation("accepts LOCK on a non-lockable form");
      return disagree("LOCK form: ours len %u without LOCK, capstone %u [%s %s]", plain.length,
                      g_insn->size, g_insn->mnemonic, g_insn->op_str);
    }
  }
  return disagree("ours %s, capstone decodes %s %s (len %u)%s", x86::status_name(st),
                  g_insn->mnemonic, g_insn->op_str, g_insn->size,
                  steered ? " (steered)" : "");
}

}  // namespace decode_diff
