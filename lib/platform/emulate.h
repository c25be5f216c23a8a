// Instruction emulation shared by the #VC (SEV-ES/SNP) and #VE (TDX)
// handlers, portable so that host tests drive it with fake memory and a fake
// hypervisor.
//
// The handlers split the work in three: the exit-specific core (vc_core.h,
// ve_core.h) turns "exit + instruction + registers" into hypervisor requests;
// this file holds what both cores need (fetching and decoding the
// instruction, the MMIO and string-I/O instruction semantics); the guest
// side (vc.h, ve.h) supplies live memory and the real VMGEXIT/TDCALL.
//
// Contract: on EmulError::none the registers hold the architectural result
// and RIP points at the next instruction, except for a REP string
// instruction with iterations left, where RIP is unchanged so that the
// instruction runs (and exits) again with the updated rCX/rSI/rDI.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/decode.h"
#include "cpu/regs.h"

namespace platform {

// Why an exit was not emulated. The value doubles as the reason code of the
// termination request (GHCB reason set kReasonSetFramework) or of
// TDVMCALL ReportFatalError, so values are stable.
enum class EmulError : uint8_t {
  none = 0,
  unsupported_exit = 1,   // an exit code / exit reason the handler does not serve
  fetch_failed = 2,       // the instruction bytes could not be read
  decode_failed = 3,      // the decoder rejected them
  wrong_instruction = 4,  // the instruction does not match the exit
  unsupported_form = 5,   // a form the handler does not emulate (e.g. LOCK on MMIO)
  memory_fault = 6,       // an operand in ordinary memory could not be accessed
  hypervisor_error = 7,   // the hypervisor reported failure or an incomplete reply
  nested_too_deep = 8,    // #VC inside #VC inside #VC: no GHCB left
  no_ghcb = 9,            // a #VC that needs the GHCB arrived before it was set up
};
const char* emul_error_str(EmulError e);

// Guest memory as the interrupted context sees it.
class GuestMemory {
 public:
  // Copies bytes at a linear address; false where it is not mapped.
  virtual bool read(uint64_t la, void* dst, size_t n) = 0;
  virtual bool write(uint64_t la, const void* src, size_t n) = 0;
  // The guest-physical address behind `la` (C-bit / shared bit stripped),
  // and whether the mapping is shared with the host (MMIO and shared
  // buffers) rather than private.
  virtual bool translate(uint64_t la, uint64_t* gpa, bool* shared) = 0;

 protected:
  ~GuestMemory() = default;
};

// MMIO through the hypervisor (GHCB MMIO events, TDVMCALL #VE.RequestMMIO).
class MmioBus {
 public:
  virtual EmulError mmio_read(uint64_t gpa, uint8_t size, uint64_t* value) = 0;
  virtual EmulError mmio_write(uint64_t gpa, uint8_t size, uint64_t value) = 0;

 protected:
  ~MmioBus() = default;
};

// Port I/O through the hypervisor. The string forms move up to
// max_string_elements() elements per call; the data is packed, `size`
// bytes per element.
class PortBus {
 public:
  virtual EmulError port_in(uint16_t port, uint8_t size, uint32_t* value) = 0;
  virtual EmulError port_out(uint16_t port, uint8_t size, uint32_t value) = 0;
  virtual EmulError port_ins(uint16_t port, uint8_t size, void* data, uint32_t count) = 0;
  virtual EmulError port_outs(uint16_t port, uint8_t size, const void* data, uint32_t count) = 0;
  virtual uint32_t max_string_bytes() const = 0;

 protected:
  ~PortBus() = default;
};

// Reads up to 15 bytes at RIP (fewer at the end of a mapping) and decodes.
EmulError fetch_and_decode(const Regs& regs, GuestMemory& mem, x86::Insn* insn);

// The port access an I/O instruction makes (IN/OUT/INS/OUTS, imm8 or DX).
struct PortAccess {
  uint16_t port = 0;
  uint8_t size = 1;
  bool in = false;
  bool string = false;
  bool rep = false;
};
bool port_access(const x86::Insn& insn, const Regs& regs, PortAccess* out);

// AL/AX/EAX after IN: an 8/16-bit IN keeps the rest of RAX, a 32-bit IN
// zero-extends (Intel SDM vol.1 §3.4.1.1).
void complete_in(Regs& regs, uint8_t size, uint32_t value);

// Emulates an I/O instruction (non-string and string, with REP) through
// `bus`, then advances RIP as the contract above says.
EmulError emulate_io(const x86::Insn& insn, Regs& regs, GuestMemory& mem, PortBus& bus);

// Emulates the MMIO access of a MOV / MOVZX / MOVSX / MOV moffs / MOVS /
// STOS instruction through `bus`, then advances RIP. Operands in memory
// that translate() reports private are accessed as ordinary memory (a MOVS
// between RAM and MMIO).
EmulError emulate_mmio(const x86::Insn& insn, Regs& regs, GuestMemory& mem, MmioBus& bus);

}  // namespace platform
