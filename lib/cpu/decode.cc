// x86-64 decoder; see decode.h for the contract and the claimed subset.
// Encoding rules: Intel SDM vol.2 chapter 2 and appendix A (opcode maps),
// AMD APM vol.3 chapter 1 and appendix A.
#include "cpu/decode.h"

namespace x86 {
namespace {

enum class Imm : uint8_t {
  none,
  b,       // imm8
  w,       // imm16
  z,       // 16 or 32 by operand size
  v,       // 16, 32 or 64 by operand size (B8-BF)
  w_b,     // ENTER: imm16, imm8
  moffs,   // A0-A3: address-size offset
  rel8,
  relz,    // rel16/32; 66 makes it vendor-specific
};

// Per-opcode attributes.
constexpr uint8_t kModrm = 1 << 0;
constexpr uint8_t kDefault64 = 1 << 1;  // operand size 64 without REX.W
constexpr uint8_t kInvalid = 1 << 2;    // #UD in 64-bit mode
constexpr uint8_t kUnclaimed = 1 << 3;  // valid, outside our subset
constexpr uint8_t kForceReg = 1 << 4;   // ModRM.mod ignored, always register

struct OpInfo {
  uint8_t flags = 0;
  Imm imm = Imm::none;
};

constexpr OpInfo primary_info(uint8_t op) {
  if (op < 0x40) {
    switch (op & 7) {
      case 0: case 1: case 2: case 3: return {kModrm, Imm::none};
      case 4: return {0, Imm::b};
      case 5: return {0, Imm::z};
      default: return {kInvalid, Imm::none};  // push/pop seg, DAA/DAS/AAA/AAS
    }
  }
  if (op >= 0x50 && op <= 0x5f) return {kDefault64, Imm::none};
  if (op >= 0x70 && op <= 0x7f) return {kDefault64, Imm::rel8};
  if (op >= 0x91 && op <= 0x97) return {0, Imm::none};
  if (op >= 0xb0 && op <= 0xb7) return {0, Imm::b};
  if (op >= 0xb8 && op <= 0xbf) return {0, Imm::v};
  if (op >= 0xd8 && op <= 0xdf) return {kModrm | kUnclaimed, Imm::none};
  switch (op) {
    case 0x60: case 0x61: case 0x82: case 0x9a: case 0xce: case 0xd4:
    case 0xd5: case 0xd6: case 0xea:
      return {kInvalid, Imm::none};
    case 0x62: case 0xc4: case 0xc5:
      return {kUnclaimed, Imm::none};  // EVEX / VEX escapes in 64-bit mode
    case 0x63: return {kModrm, Imm::none};
    case 0x68: return {kDefault64, Imm::z};
    case 0x69: return {kModrm, Imm::z};
    case 0x6a: return {kDefault64, Imm::b};
    case 0x6b: return {kModrm, Imm::b};
    case 0x6c: case 0x6d: case 0x6e: case 0x6f: return {0, Imm::none};
    case 0x80: return {kModrm, Imm::b};
    case 0x81: return {kModrm, Imm::z};
    case 0x83: return {kModrm, Imm::b};
    case 0x84: case 0x85: case 0x86: case 0x87: case 0x88: case 0x89:
    case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x8e:
      return {kModrm, Imm::none};
    case 0x8f: return {kModrm | kDefault64, Imm::none};
    case 0x90: case 0x98: case 0x99: case 0x9b: case 0x9e: case 0x9f:
      return {0, Imm::none};
    case 0x9c: case 0x9d: return {kDefault64, Imm::none};
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: return {0, Imm::moffs};
    case 0xa4: case 0xa5: case 0xa6: case 0xa7: return {0, Imm::none};
    case 0xa8: return {0, Imm::b};
    case 0xa9: return {0, Imm::z};
    case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
      return {0, Imm::none};
    case 0xc0: case 0xc1: return {kModrm, Imm::b};
    case 0xc2: return {kDefault64, Imm::w};
    case 0xc3: return {kDefault64, Imm::none};
    case 0xc6: return {kModrm, Imm::b};
    case 0xc7: return {kModrm, Imm::z};
    case 0xc8: return {kDefault64, Imm::w_b};
    case 0xc9: return {kDefault64, Imm::none};
    case 0xca: return {0, Imm::w};
    case 0xcb: case 0xcc: case 0xcf: return {0, Imm::none};
    case 0xcd: return {0, Imm::b};
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: return {kModrm, Imm::none};
    case 0xd7: return {0, Imm::none};
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: return {kDefault64, Imm::rel8};
    case 0xe4: case 0xe5: case 0xe6: case 0xe7: return {0, Imm::b};
    case 0xe8: case 0xe9: return {kDefault64, Imm::relz};
    case 0xeb: return {kDefault64, Imm::rel8};
    case 0xec: case 0xed: case 0xee: case 0xef: case 0xf1: case 0xf4:
    case 0xf5: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc:
    case 0xfd:
      return {0, Imm::none};
    case 0xf6: case 0xf7: case 0xfe: case 0xff: return {kModrm, Imm::none};
    default: return {kInvalid, Imm::none};
  }
}

constexpr OpInfo map0f_info(uint8_t op) {
  if (op >= 0x40 && op <= 0x4f) return {kModrm, Imm::none};
  if (op >= 0x80 && op <= 0x8f) return {kDefault64, Imm::relz};
  if (op >= 0x90 && op <= 0x9f) return {kModrm, Imm::none};
  if (op >= 0xc8 && op <= 0xcf) return {0, Imm::none};
  switch (op) {
    case 0x00: case 0x01: case 0x1f: return {kModrm, Imm::none};
    case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0b:
    case 0x30: case 0x31: case 0x32: case 0x33: case 0xa2:
      return {0, Imm::none};
    case 0x20: case 0x21: case 0x22: case 0x23:
      return {kModrm | kForceReg | kDefault64, Imm::none};
    case 0xa0: case 0xa1: case 0xa8: case 0xa9: return {kDefault64, Imm::none};
    case 0xa4: case 0xac: case 0xba: return {kModrm, Imm::b};
    case 0xa3: case 0xa5: case 0xab: case 0xad: case 0xaf: case 0xb0:
    case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6:
    case 0xb7: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
    case 0xc0: case 0xc1: case 0xc7: case 0xae:
      return {kModrm, Imm::none};
    case 0x04: case 0x0a: case 0x0c: case 0x24: case 0x25: case 0x26:
    case 0x27: case 0x36: case 0x39: case 0x3b: case 0x3c: case 0x3d:
    case 0x3e: case 0x3f:
      return {kInvalid, Imm::none};
    default: return {kUnclaimed, Imm::none};
  }
}

// Reads the instruction stream with the two limits decode() must honour.
class Cursor {
 public:
  Cursor(const uint8_t* bytes, size_t len) : bytes_(bytes), len_(len) {}

  Status need(unsigned n) const {
    if (pos_ + n > kMaxInsnLength) return Status::too_long;
    if (pos_ + n > len_) return Status::truncated;
    return Status::ok;
  }
  uint8_t peek() const { return bytes_[pos_]; }
  uint64_t take(unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= uint64_t{bytes_[pos_ + i]} << (8 * i);
    pos_ += n;
    return v;
  }
  unsigned pos() const { return pos_; }

 private:
  const uint8_t* bytes_;
  size_t len_;
  unsigned pos_ = 0;
};

constexpr int64_t sign_extend(uint64_t v, unsigned bytes) {
  if (bytes == 0 || bytes >= 8) return static_cast<int64_t>(v);
  unsigned shift = 64 - 8 * bytes;
  return static_cast<int64_t>(v << shift) >> shift;
}

constexpr uint64_t addr_mask(const Insn& insn) {
  return insn.addrsize == 8 ? ~uint64_t{0} : 0xffffffffull;
}

Segment segment_of(uint8_t prefix) {
  switch (prefix) {
    case 0x26: return Segment::es;
    case 0x2e: return Segment::cs;
    case 0x36: return Segment::ss;
    case 0x3e: return Segment::ds;
    case 0x64: return Segment::fs;
    case 0x65: return Segment::gs;
    default: return Segment::none;
  }
}

uint64_t segment_base(Segment s, SegmentBases bases) {
  if (s == Segment::fs) return bases.fs;
  if (s == Segment::gs) return bases.gs;
  return 0;
}

Status decode_modrm(Cursor& c, Insn& insn, bool force_reg) {
  if (Status s = c.need(1); s != Status::ok) return s;
  insn.has_modrm = true;
  insn.modrm = static_cast<uint8_t>(c.take(1));
  insn.mod = insn.modrm >> 6;
  const uint8_t rex_r = (insn.rex & 0x4) ? 8 : 0;
  const uint8_t rex_x = (insn.rex & 0x2) ? 8 : 0;
  const uint8_t rex_b = (insn.rex & 0x1) ? 8 : 0;
  insn.reg = ((insn.modrm >> 3) & 7) | rex_r;
  insn.rm = (insn.modrm & 7) | rex_b;
  if (insn.mod == 3 || force_reg) return Status::ok;

  insn.has_mem = true;
  MemOperand& m = insn.mem;
  if ((insn.modrm & 7) == 4) {
    if (Status s = c.need(1); s != Status::ok) return s;
    insn.has_sib = true;
    insn.sib = static_cast<uint8_t>(c.take(1));
    insn.mem.scale = static_cast<uint8_t>(1u << (insn.sib >> 6));
    const uint8_t index = ((insn.sib >> 3) & 7) | rex_x;
    m.index = index == 4 ? MemOperand::kNoReg : index;  // r12 is indexable
    if ((insn.sib & 7) == 5 && insn.mod == 0) {
      m.base = MemOperand::kNoReg;
      insn.disp_size = 4;
    } else {
      m.base = (insn.sib & 7) | rex_b;
    }
  } else if ((insn.modrm & 7) == 5 && insn.mod == 0) {
    // RIP-relative regardless of REX.B (Intel SDM vol.2 §2.2.1.6).
    m.rip_relative = true;
    insn.disp_size = 4;
  } else {
    m.base = insn.rm;
  }
  if (insn.mod == 1) insn.disp_size = 1;
  if (insn.mod == 2) insn.disp_size = 4;
  if (insn.disp_size) {
    if (Status s = c.need(insn.disp_size); s != Status::ok) return s;
    m.disp = sign_extend(c.take(insn.disp_size), insn.disp_size);
  }
  return Status::ok;
}

// Opcode-extension and ModRM-dependent validity, checked once ModRM is known.
Status check_groups(const Insn& insn) {
  const uint8_t r = (insn.modrm >> 3) & 7;
  const bool reg_form = insn.mod == 3;
  if (insn.map == Map::primary) {
    switch (insn.opcode) {
      case 0x8d:
        return reg_form ? Status::invalid : Status::ok;
      // MOV Sreg: whether REX.R widens the Sreg field is not pinned down by
      // the SDM's MOV page, so those encodings are left unclaimed.
      case 0x8e:
        if (insn.rex & 0x4) return Status::unsupported;
        return (r == 1 || r > 5) ? Status::invalid : Status::ok;  // no MOV CS
      case 0x8c:
        if (insn.rex & 0x4) return Status::unsupported;
        return r > 5 ? Status::invalid : Status::ok;
      case 0x8f:
        return r == 0 ? Status::ok : Status::unsupported;  // XOP escape
      case 0xc6: case 0xc7:
        if (r == 0) return Status::ok;
        return (r == 7 && insn.modrm == 0xf8) ? Status::unsupported : Status::invalid;
      case 0xfe:
        return r <= 1 ? Status::ok : Status::invalid;
      case 0xff:
        if (r == 7) return Status::invalid;
        if ((r == 3 || r == 5) && reg_form) return Status::invalid;
        return Status::ok;
      default:
        return Status::ok;
    }
  }
  switch (insn.opcode) {
    case 0x00:
      return r <= 5 ? Status::ok : Status::invalid;
    case 0x01:
      if (!reg_form) return r == 5 ? Status::unsupported : Status::ok;
      if (r == 4 || r == 6) return Status::ok;
      switch (insn.modrm) {
        case 0xc1: case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xd0:
        case 0xd1: case 0xd9: case 0xf8: case 0xf9:
          return Status::ok;
        default:
          return Status::unsupported;
      }
    case 0x1f:
      return (r == 0 && !reg_form) ? Status::ok : Status::unsupported;
    case 0x20: case 0x22: {
      // Only CR0, CR2-CR4 and CR8 exist (Intel SDM vol.3 §2.5).
      const uint8_t cr = insn.reg;
      return (cr == 0 || cr == 2 || cr == 3 || cr == 4 || cr == 8) ? Status::ok
                                                                    : Status::invalid;
    }
    case 0x21: case 0x23:
      return (insn.rex & 0x4) ? Status::invalid : Status::ok;  // DR8-DR15 #UD
    case 0xae:
      if (insn.opsize_prefix || insn.last_rep) return Status::unsupported;
      return (insn.modrm == 0xe8 || insn.modrm == 0xf0 || insn.modrm == 0xf8)
                 ? Status::ok
                 : Status::unsupported;
    case 0xb2: case 0xb4: case 0xb5:
      return reg_form ? Status::invalid : Status::ok;
    case 0xba:
      return r >= 4 ? Status::ok : Status::invalid;
    case 0xc7:
      return (r == 1 && !reg_form) ? Status::ok : Status::unsupported;
    default:
      return Status::ok;
  }
}

// LOCK is accepted only by read-modify-write instructions with a memory
// destination (Intel SDM vol.2, LOCK instruction page).
bool lockable(const Insn& insn) {
  if (!insn.has_mem) return false;
  const uint8_t op = insn.opcode;
  const uint8_t r = (insn.modrm >> 3) & 7;
  if (insn.map == Map::primary) {
    if (op < 0x40) return (op & 7) < 2 && (op & 0x38) != 0x38;  // not CMP
    switch (op) {
      case 0x80: case 0x81: case 0x83: return r != 7;
      case 0x86: case 0x87: return true;
      case 0xf6: case 0xf7: return r == 2 || r == 3;
      case 0xfe: case 0xff: return r <= 1;
      default: return false;
    }
  }
  switch (op) {
    case 0xab: case 0xb3: case 0xbb: case 0xb0: case 0xb1: case 0xc0: case 0xc1: return true;
    case 0xba: return r >= 5;
    case 0xc7: return r == 1;
    default: return false;
  }
}

// Kind and access width of the forms the handlers care about.
void classify(Insn& insn) {
  const uint8_t op = insn.opcode;
  const uint8_t byte_or_op = (op & 1) ? insn.opsize : 1;
  // Port I/O is 8, 16 or 32 bits: 66 selects 16 even under REX.W, which
  // has no effect (Intel SDM vol.2 IN/OUT/INS/OUTS pages, 64-bit mode).
  const uint8_t io_size = (op & 1) ? (insn.opsize_prefix ? 2 : 4) : 1;
  Kind k = Kind::other;
  uint8_t size = 0;
  if (insn.map == Map::primary) {
    switch (op) {
      case 0x88: case 0x89: k = Kind::mov_store; size = byte_or_op; break;
      case 0x8a: case 0x8b: k = Kind::mov_load; size = byte_or_op; break;
      case 0xc6: case 0xc7: k = Kind::mov_store_imm; size = byte_or_op; break;
      case 0xa0: case 0xa1: k = Kind::mov_load_moffs; size = byte_or_op; break;
      case 0xa2: case 0xa3: k = Kind::mov_store_moffs; size = byte_or_op; break;
      case 0xa4: case 0xa5: k = Kind::movs; size = byte_or_op; break;
      case 0xaa: case 0xab: k = Kind::stos; size = byte_or_op; break;
      case 0xe4: case 0xe5: k = Kind::in_imm; size = io_size; break;
      case 0xe6: case 0xe7: k = Kind::out_imm; size = io_size; break;
      case 0xec: case 0xed: k = Kind::in_dx; size = io_size; break;
      case 0xee: case 0xef: k = Kind::out_dx; size = io_size; break;
      case 0x6c: case 0x6d: k = Kind::ins; size = io_size; break;
      case 0x6e: case 0x6f: k = Kind::outs; size = io_size; break;
      case 0xf4: k = Kind::hlt; break;
      default: break;
    }
  } else {
    switch (op) {
      case 0xb6: k = Kind::movzx; size = 1; break;
      case 0xb7: k = Kind::movzx; size = 2; break;
      case 0xbe: k = Kind::movsx; size = 1; break;
      case 0xbf: k = Kind::movsx; size = 2; break;
      case 0xa2: k = Kind::cpuid; break;
      case 0x30: k = Kind::wrmsr; break;
      case 0x31: k = Kind::rdtsc; break;
      case 0x32: k = Kind::rdmsr; break;
      case 0x09: k = Kind::wbinvd; break;
      case 0x21: k = Kind::mov_from_dr; size = 8; break;
      case 0x23: k = Kind::mov_to_dr; size = 8; break;
      case 0x01:
        if (insn.modrm == 0xf9) k = Kind::rdtscp;
        if (insn.modrm == 0xd9) k = Kind::vmmcall;
        if (insn.modrm == 0xc1) k = Kind::vmcall;
        break;
      default: break;
    }
  }
  insn.kind = k;
  insn.access_size = size;
}

Status decode_into(const uint8_t* bytes, size_t len, Insn& insn) {
  Cursor c(bytes, len);

  // Prefixes. A REX byte is only effective as the last byte before the
  // opcode; one followed by a legacy prefix is ignored (Intel SDM vol.2
  // §2.2.1, AMD APM vol.3 §1.2.7).
  uint8_t rex = 0;
  for (;;) {
    if (Status s = c.need(1); s != Status::ok) return s;
    const uint8_t b = c.peek();
    if ((b & 0xf0) == 0x40) {
      rex = b;
      c.take(1);
      continue;
    }
    bool legacy = true;
    switch (b) {
      case 0x66: insn.opsize_prefix = true; break;
      case 0x67: insn.addrsize_prefix = true; break;
      case 0xf0: insn.lock = true; break;
      case 0xf2: case 0xf3: insn.last_rep = b; break;
      case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
        insn.segment = segment_of(b);
        break;
      default: legacy = false; break;
    }
    if (!legacy) break;
    rex = 0;
    c.take(1);
  }
  insn.rex = rex;
  insn.addrsize = insn.addrsize_prefix ? 4 : 8;

  uint8_t op = static_cast<uint8_t>(c.take(1));
  OpInfo info;
  if (op == 0x0f) {
    if (Status s = c.need(1); s != Status::ok) return s;
    op = static_cast<uint8_t>(c.take(1));
    insn.map = Map::map0f;
    if (op == 0x38 || op == 0x3a) return Status::unsupported;
    info = map0f_info(op);
  } else {
    info = primary_info(op);
  }
  insn.opcode = op;
  if (info.flags & kInvalid) return Status::invalid;
  if (info.flags & kUnclaimed) return Status::unsupported;

  if (insn.rex_w()) {
    insn.opsize = 8;
  } else if (info.flags & kDefault64) {
    insn.opsize = insn.opsize_prefix ? 2 : 8;
  } else {
    insn.opsize = insn.opsize_prefix ? 2 : 4;
  }
  if (insn.map == Map::map0f && op >= 0x20 && op <= 0x23) insn.opsize = 8;

  if (info.flags & kModrm) {
    if (Status s = decode_modrm(c, insn, info.flags & kForceReg); s != Status::ok) return s;
    if (Status s = check_groups(insn); s != Status::ok) return s;
  }
  if (insn.lock && !lockable(insn)) {
    const bool alt_cr8 = insn.map == Map::map0f && (op == 0x20 || op == 0x22);
    return alt_cr8 ? Status::unsupported : Status::invalid;
  }

  unsigned imm_bytes = 0;
  unsigned imm2_bytes = 0;
  switch (info.imm) {
    case Imm::none: break;
    case Imm::b: case Imm::rel8: imm_bytes = 1; break;
    case Imm::w: imm_bytes = 2; break;
    case Imm::z: imm_bytes = insn.opsize == 2 ? 2 : 4; break;
    case Imm::v: imm_bytes = insn.opsize; break;
    case Imm::w_b: imm_bytes = 2; imm2_bytes = 1; break;
    case Imm::moffs: break;
    case Imm::relz:
      if (insn.opsize == 2) return Status::unsupported;
      imm_bytes = 4;
      break;
  }
  // TEST r/m, imm lives in group 3 as /0 and its alias /1 (Intel SDM vol.2
  // appendix A.4, table A-6).
  if (insn.map == Map::primary && (op == 0xf6 || op == 0xf7) && ((insn.modrm >> 3) & 7) < 2) {
    imm_bytes = op == 0xf6 ? 1 : (insn.opsize == 2 ? 2 : 4);
  }
  if (imm_bytes) {
    if (Status s = c.need(imm_bytes); s != Status::ok) return s;
    insn.imm_size = static_cast<uint8_t>(imm_bytes);
    insn.imm = c.take(imm_bytes);
  }
  if (imm2_bytes) {
    if (Status s = c.need(imm2_bytes); s != Status::ok) return s;
    insn.imm2_size = static_cast<uint8_t>(imm2_bytes);
    insn.imm2 = c.take(imm2_bytes);
  }
  if (info.imm == Imm::moffs) {
    if (Status s = c.need(insn.addrsize); s != Status::ok) return s;
    insn.moffs_size = insn.addrsize;
    insn.moffs = c.take(insn.addrsize);
  }

  insn.length = static_cast<uint8_t>(c.pos());
  classify(insn);
  return Status::ok;
}

}  // namespace

Status decode(const uint8_t* bytes, size_t len, Insn* out) {
  Insn insn;
  const Status s = decode_into(bytes, len, insn);
  if (s != Status::ok) insn.length = 0;
  *out = insn;
  return s;
}

const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::truncated: return "truncated";
    case Status::too_long: return "too_long";
    case Status::invalid: return "invalid";
    case Status::unsupported: return "unsupported";
  }
  return "?";
}

bool Insn::is_relative_branch() const {
  if (map == Map::map0f) return opcode >= 0x80 && opcode <= 0x8f;
  return (opcode >= 0x70 && opcode <= 0x7f) || (opcode >= 0xe0 && opcode <= 0xe3) ||
         opcode == 0xe8 || opcode == 0xe9 || opcode == 0xeb;
}

int64_t Insn::imm_signed() const { return sign_extend(imm, imm_size); }

uint64_t Insn::imm_value() const {
  if (map == Map::primary) {
    switch (opcode) {
      case 0xe4: case 0xe5: case 0xe6: case 0xe7: case 0xcd: case 0xc2: case 0xca:
      case 0xc8:
        return imm;
      default: break;
    }
  } else if (opcode == 0xba || opcode == 0xa4 || opcode == 0xac) {
    return imm;
  }
  return static_cast<uint64_t>(imm_signed());
}

RegOperand Insn::reg_operand(uint8_t size) const { return reg_by_number(reg, size, rex != 0); }

RegOperand Insn::rm_operand(uint8_t size) const { return reg_by_number(rm, size, rex != 0); }

RegOperand reg_by_number(uint8_t num, uint8_t size, bool rex) {
  if (size == 1 && !rex && num >= 4 && num <= 7) {
    return RegOperand{static_cast<uint8_t>(num - 4), 1, true};
  }
  return RegOperand{static_cast<uint8_t>(num & 15), size, false};
}

uint64_t read_reg(const Regs& regs, RegOperand r) {
  const uint64_t v = regs.gpr[r.num & 15];
  switch (r.size) {
    case 1: return r.high_byte ? (v >> 8) & 0xff : v & 0xff;
    case 2: return v & 0xffff;
    case 4: return v & 0xffffffff;
    default: return v;
  }
}

void write_reg(Regs& regs, RegOperand r, uint64_t value) {
  uint64_t& dst = regs.gpr[r.num & 15];
  switch (r.size) {
    case 1:
      if (r.high_byte) {
        dst = (dst & ~uint64_t{0xff00}) | ((value & 0xff) << 8);
      } else {
        dst = (dst & ~uint64_t{0xff}) | (value & 0xff);
      }
      break;
    case 2: dst = (dst & ~uint64_t{0xffff}) | (value & 0xffff); break;
    case 4: dst = value & 0xffffffff; break;
    default: dst = value; break;
  }
}

uint64_t memory_address(const Insn& insn, const Regs& regs, SegmentBases seg) {
  const MemOperand& m = insn.mem;
  uint64_t ea = static_cast<uint64_t>(m.disp);
  if (m.rip_relative) ea += regs.rip + insn.length;
  if (m.base != MemOperand::kNoReg) ea += regs.gpr[m.base & 15];
  if (m.index != MemOperand::kNoReg) ea += regs.gpr[m.index & 15] * m.scale;
  return (ea & addr_mask(insn)) + segment_base(insn.segment, seg);
}

uint64_t moffs_address(const Insn& insn, const Regs&, SegmentBases seg) {
  return (insn.moffs & addr_mask(insn)) + segment_base(insn.segment, seg);
}

uint64_t string_source_address(const Insn& insn, const Regs& regs, SegmentBases seg) {
  return (regs[Gpr::rsi] & addr_mask(insn)) + segment_base(insn.segment, seg);
}

uint64_t string_dest_address(const Insn& insn, const Regs& regs) {
  return regs[Gpr::rdi] & addr_mask(insn);
}

uint64_t rep_count(const Insn& insn, const Regs& regs) {
  return regs[Gpr::rcx] & addr_mask(insn);
}

}  // namespace x86
