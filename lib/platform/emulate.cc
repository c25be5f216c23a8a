#include "platform/emulate.h"

namespace platform {
namespace {

constexpr uint64_t mask_of(uint8_t size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

int64_t sign_extend(uint64_t v, uint8_t size) {
  const unsigned shift = 64 - 8 * size;
  return static_cast<int64_t>(v << shift) >> shift;
}

// rSI/rDI/rCX updates of string instructions happen at the address size
// (Intel SDM vol.1 §7.3.9.1): a 32-bit update zero-extends.
void set_addr_reg(Regs& regs, Gpr r, uint64_t value, uint8_t addrsize) {
  regs[r] = addrsize == 4 ? (value & 0xffffffffull) : value;
}

int64_t string_step(const Regs& regs, uint8_t size) {
  return (regs.rflags & rflags::kDirection) ? -int64_t{size} : int64_t{size};
}

// An operand in ordinary memory or in MMIO, by what the mapping says.
EmulError load(uint64_t la, uint8_t size, GuestMemory& mem, MmioBus& bus, uint64_t* v) {
  uint64_t gpa;
  bool shared;
  if (!mem.translate(la, &gpa, &shared)) return EmulError::memory_fault;
  if (shared) return bus.mmio_read(gpa, size, v);
  *v = 0;
  return mem.read(la, v, size) ? EmulError::none : EmulError::memory_fault;
}

EmulError store(uint64_t la, uint8_t size, uint64_t v, GuestMemory& mem, MmioBus& bus) {
  uint64_t gpa;
  bool shared;
  if (!mem.translate(la, &gpa, &shared)) return EmulError::memory_fault;
  if (shared) return bus.mmio_write(gpa, size, v & mask_of(size));
  return mem.write(la, &v, size) ? EmulError::none : EmulError::memory_fault;
}

EmulError mmio_read_at(uint64_t la, uint8_t size, GuestMemory& mem, MmioBus& bus, uint64_t* v) {
  uint64_t gpa;
  bool shared;
  if (!mem.translate(la, &gpa, &shared)) return EmulError::memory_fault;
  return bus.mmio_read(gpa, size, v);
}

EmulError mmio_write_at(uint64_t la, uint8_t size, uint64_t v, GuestMemory& mem, MmioBus& bus) {
  uint64_t gpa;
  bool shared;
  if (!mem.translate(la, &gpa, &shared)) return EmulError::memory_fault;
  return bus.mmio_write(gpa, size, v & mask_of(size));
}

void advance(Regs& regs, const x86::Insn& insn) { regs.rip += insn.length; }

// MOVS/STOS: one element per iteration, all of rCX in one go. The count is
// bounded so that a huge REP cannot keep interrupts off for long; the rest
// re-executes.
constexpr uint64_t kMaxStringIterations = 4096;

EmulError emulate_string_mmio(const x86::Insn& insn, Regs& regs, GuestMemory& mem, MmioBus& bus) {
  const uint8_t size = insn.access_size;
  const int64_t step = string_step(regs, size);
  uint64_t count = insn.rep() ? x86::rep_count(insn, regs) : 1;
  if (count == 0) {
    advance(regs, insn);
    return EmulError::none;
  }
  const uint64_t todo = count > kMaxStringIterations ? kMaxStringIterations : count;
  for (uint64_t i = 0; i < todo; ++i) {
    const uint64_t dst = x86::string_dest_address(insn, regs);
    uint64_t v;
    if (insn.kind == x86::Kind::movs) {
      if (EmulError e = load(x86::string_source_address(insn, regs), size, mem, bus, &v);
          e != EmulError::none)
        return e;
      set_addr_reg(regs, Gpr::rsi, regs[Gpr::rsi] + step, insn.addrsize);
    } else {
      v = regs[Gpr::rax] & mask_of(size);
    }
    if (EmulError e = store(dst, size, v, mem, bus); e != EmulError::none) return e;
    set_addr_reg(regs, Gpr::rdi, regs[Gpr::rdi] + step, insn.addrsize);
  }
  count -= todo;
  if (insn.rep()) set_addr_reg(regs, Gpr::rcx, count, insn.addrsize);
  if (count == 0) advance(regs, insn);
  return EmulError::none;
}

}  // namespace

const char* emul_error_str(EmulError e) {
  switch (e) {
    case EmulError::none: return "none";
    case EmulError::unsupported_exit: return "unsupported exit";
    case EmulError::fetch_failed: return "instruction fetch failed";
    case EmulError::decode_failed: return "instruction decode failed";
    case EmulError::wrong_instruction: return "instruction does not match the exit";
    case EmulError::unsupported_form: return "instruction form not emulated";
    case EmulError::memory_fault: return "operand memory not accessible";
    case EmulError::hypervisor_error: return "hypervisor reported an error";
    case EmulError::nested_too_deep: return "exception nesting too deep for the GHCB";
    case EmulError::no_ghcb: return "GHCB not set up yet";
  }
  return "?";
}

EmulError fetch_and_decode(const Regs& regs, GuestMemory& mem, x86::Insn* insn) {
  uint8_t bytes[x86::kMaxInsnLength];
  size_t n = 0;
  // Byte by byte: the instruction may end just before an unmapped page.
  while (n < sizeof(bytes) && mem.read(regs.rip + n, &bytes[n], 1)) ++n;
  if (n == 0) return EmulError::fetch_failed;
  x86::Status s = x86::decode(bytes, n, insn);
  if (s == x86::Status::truncated) return EmulError::fetch_failed;
  return s == x86::Status::ok ? EmulError::none : EmulError::decode_failed;
}

bool port_access(const x86::Insn& insn, const Regs& regs, PortAccess* out) {
  PortAccess a;
  a.size = insn.access_size;
  switch (insn.kind) {
    case x86::Kind::in_imm: a.in = true; [[fallthrough]];
    case x86::Kind::out_imm: a.port = static_cast<uint16_t>(insn.imm_value()); break;
    case x86::Kind::in_dx: a.in = true; [[fallthrough]];
    case x86::Kind::out_dx: a.port = static_cast<uint16_t>(regs[Gpr::rdx]); break;
    case x86::Kind::ins: a.in = true; [[fallthrough]];
    case x86::Kind::outs:
      a.port = static_cast<uint16_t>(regs[Gpr::rdx]);
      a.string = true;
      a.rep = insn.rep();
      break;
    default: return false;
  }
  *out = a;
  return true;
}

void complete_in(Regs& regs, uint8_t size, uint32_t value) {
  x86::write_reg(regs, x86::RegOperand{0, size, false}, value & mask_of(size));
}

EmulError emulate_io(const x86::Insn& insn, Regs& regs, GuestMemory& mem, PortBus& bus) {
  PortAccess a;
  if (!port_access(insn, regs, &a)) return EmulError::wrong_instruction;
  if (!a.string) {
    if (a.in) {
      uint32_t v = 0;
      if (EmulError e = bus.port_in(a.port, a.size, &v); e != EmulError::none) return e;
      complete_in(regs, a.size, v);
    } else {
      const uint32_t v = static_cast<uint32_t>(regs[Gpr::rax] & mask_of(a.size));
      if (EmulError e = bus.port_out(a.port, a.size, v); e != EmulError::none) return e;
    }
    advance(regs, insn);
    return EmulError::none;
  }

  // INS/OUTS: gather or scatter one chunk between guest memory and a
  // packed buffer, one hypervisor request per chunk.
  uint8_t buf[512];
  uint32_t cap = bus.max_string_bytes();
  if (cap > sizeof(buf)) cap = sizeof(buf);
  const uint32_t max_elems = cap / a.size;
  uint64_t count = a.rep ? x86::rep_count(insn, regs) : 1;
  if (count == 0) {
    advance(regs, insn);
    return EmulError::none;
  }
  const uint32_t n = static_cast<uint32_t>(count > max_elems ? max_elems : count);
  const int64_t step = string_step(regs, a.size);
  const Gpr ptr = a.in ? Gpr::rdi : Gpr::rsi;
  if (a.in) {
    if (EmulError e = bus.port_ins(a.port, a.size, buf, n); e != EmulError::none) return e;
    for (uint32_t i = 0; i < n; ++i) {
      if (!mem.write(x86::string_dest_address(insn, regs), buf + i * a.size, a.size))
        return EmulError::memory_fault;
      set_addr_reg(regs, ptr, regs[ptr] + step, insn.addrsize);
    }
  } else {
    Regs probe = regs;
    for (uint32_t i = 0; i < n; ++i) {
      if (!mem.read(x86::string_source_address(insn, probe), buf + i * a.size, a.size))
        return EmulError::memory_fault;
      set_addr_reg(probe, ptr, probe[ptr] + step, insn.addrsize);
    }
    if (EmulError e = bus.port_outs(a.port, a.size, buf, n); e != EmulError::none) return e;
    regs[ptr] = probe[ptr];
  }
  count -= n;
  if (a.rep) set_addr_reg(regs, Gpr::rcx, count, insn.addrsize);
  if (count == 0) advance(regs, insn);
  return EmulError::none;
}

EmulError emulate_mmio(const x86::Insn& insn, Regs& regs, GuestMemory& mem, MmioBus& bus) {
  // A locked read-modify-write cannot be split into a read and a write
  // request without losing atomicity.
  if (insn.lock) return EmulError::unsupported_form;
  const uint8_t size = insn.access_size;
  uint64_t v = 0;
  EmulError e = EmulError::none;
  switch (insn.kind) {
    case x86::Kind::mov_store:
      if (!insn.has_mem) return EmulError::wrong_instruction;
      e = mmio_write_at(x86::memory_address(insn, regs), size,
                        x86::read_reg(regs, insn.reg_operand(size)), mem, bus);
      break;
    case x86::Kind::mov_store_imm:
      if (!insn.has_mem) return EmulError::wrong_instruction;
      e = mmio_write_at(x86::memory_address(insn, regs), size, insn.imm_value(), mem, bus);
      break;
    case x86::Kind::mov_store_moffs:
      e = mmio_write_at(x86::moffs_address(insn, regs), size,
                        x86::read_reg(regs, x86::RegOperand{0, size, false}), mem, bus);
      break;
    case x86::Kind::mov_load:
      if (!insn.has_mem) return EmulError::wrong_instruction;
      e = mmio_read_at(x86::memory_address(insn, regs), size, mem, bus, &v);
      if (e == EmulError::none) x86::write_reg(regs, insn.reg_operand(size), v & mask_of(size));
      break;
    case x86::Kind::mov_load_moffs:
      e = mmio_read_at(x86::moffs_address(insn, regs), size, mem, bus, &v);
      if (e == EmulError::none)
        x86::write_reg(regs, x86::RegOperand{0, size, false}, v & mask_of(size));
      break;
    case x86::Kind::movzx:
    case x86::Kind::movsx:
      if (!insn.has_mem) return EmulError::wrong_instruction;
      e = mmio_read_at(x86::memory_address(insn, regs), size, mem, bus, &v);
      if (e == EmulError::none) {
        v &= mask_of(size);
        if (insn.kind == x86::Kind::movsx) v = static_cast<uint64_t>(sign_extend(v, size));
        x86::write_reg(regs, insn.reg_operand(insn.opsize), v & mask_of(insn.opsize));
      }
      break;
    case x86::Kind::movs:
    case x86::Kind::stos:
      return emulate_string_mmio(insn, regs, mem, bus);
    default: return EmulError::wrong_instruction;
  }
  if (e == EmulError::none) advance(regs, insn);
  return e;
}

}  // namespace platform
