// TDX guest ABI encodings: TDCALL leaves (Intel TDX Module ABI spec, "TDCALL
// Instruction Leaf Numbers"), TDG.VP.VMCALL sub-functions and their register
// layout (Intel TDX Guest-Hypervisor Communication Interface, "GHCI", §3),
// and the #VE information the handler works from (GHCI §3.x and Intel SDM
// vol.3 exit reasons and exit qualifications).
//
// Every call's register layout is produced by one encoder into TdcallRegs,
// the full register file of one TDCALL. The guest's only assembly wrapper
// (lib/platform/insn.h) loads a TdcallRegs, executes TDCALL and stores the
// registers back; host tests check the encodings.
#pragma once

#include <cstdint>

namespace tdx {

// TDCALL leaf numbers, passed in RAX (TDX Module ABI, TDCALL leaf table).
enum class Leaf : uint64_t {
  vp_vmcall = 0,
  vp_info = 1,
  mr_rtmr_extend = 2,
  vp_veinfo_get = 3,
  mr_report = 4,
  vp_cpuidve_set = 5,
  mem_page_accept = 6,
};

// The registers TDCALL reads and writes. Inputs and outputs share one struct
// so that the wrapper stays a plain load/TDCALL/store.
struct TdcallRegs {
  uint64_t rax = 0;  // leaf in, completion status out
  uint64_t rcx = 0;
  uint64_t rdx = 0;
  uint64_t rbx = 0;
  uint64_t rsi = 0;
  uint64_t rdi = 0;
  uint64_t r8 = 0;
  uint64_t r9 = 0;
  uint64_t r10 = 0;
  uint64_t r11 = 0;
  uint64_t r12 = 0;
  uint64_t r13 = 0;
  uint64_t r14 = 0;
  uint64_t r15 = 0;
};

// TDG.VP.VMCALL sub-functions, in R11 (GHCI §3: the "Instruction.*" and
// "#VE.RequestMMIO" leaves reuse the VMX basic exit reason numbers; the
// TDX-specific ones start at 0x10000).
enum class Vmcall : uint64_t {
  cpuid = 10,
  hlt = 12,
  io = 30,
  rdmsr = 31,
  wrmsr = 32,
  mmio = 48,
  get_td_vmcall_info = 0x10000,
  map_gpa = 0x10001,
  get_quote = 0x10002,
  report_fatal_error = 0x10003,
  setup_event_notify_interrupt = 0x10004,
};

// A portable TDVMCALL request: sub-function plus its arguments R12-R15, as
// GHCI §3 lays them out per sub-function. Use the builders below.
struct TdvmcallArgs {
  Vmcall fn = Vmcall::cpuid;
  uint64_t r12 = 0;
  uint64_t r13 = 0;
  uint64_t r14 = 0;
  uint64_t r15 = 0;
};

// RCX of TDG.VP.VMCALL: bit n exposes GPR n (numbering as in cpu/regs.h) to
// the VMM; every other GPR is hidden and preserved by the TDX module (TDX
// Module ABI, TDG.VP.VMCALL). Standard calls need R10-R15.
constexpr uint64_t kExposeR10ToR15 = 0xfc00;

// R10 = 0 selects the GHCI-standard sub-function space (GHCI §3.1); a
// non-zero R10 would be vendor-specific.
constexpr uint64_t kStandardVmcall = 0;

// The one place that lays out TDG.VP.VMCALL: RAX=0, RCX=exposed mask,
// R10=0, R11=sub-function, R12-R15=arguments.
TdcallRegs encode(const TdvmcallArgs& args);

// After TDCALL(TDG.VP.VMCALL): RAX is the TDX module's status (0 unless the
// call itself was malformed), R10 the VMM's return code, R11 the output value.
struct TdvmcallResult {
  uint64_t tdcall_status;
  uint64_t vmcall_status;
  uint64_t r11;
  uint64_t r12, r13, r14, r15;
  bool ok() const { return tdcall_status == 0 && vmcall_status == 0; }
};
TdvmcallResult decode_result(const TdcallRegs& regs);

// TDG.VP.VMCALL return codes in R10 (GHCI §3.1).
constexpr uint64_t kVmcallSuccess = 0;
constexpr uint64_t kVmcallRetry = 1;
constexpr uint64_t kVmcallOperandInvalid = 0x8000000000000000ull;
constexpr uint64_t kVmcallGpaInuse = 0x8000000000000001ull;
constexpr uint64_t kVmcallAlignError = 0x8000000000000002ull;

// Builders, one per sub-function (GHCI §3.x, the section of each).
namespace vmcall {
// Instruction.CPUID: R12=EAX leaf, R13=ECX subleaf; out R12-R15=EAX,EBX,ECX,EDX.
TdvmcallArgs cpuid(uint32_t leaf, uint32_t subleaf);
// Instruction.HLT: R12=1 if interrupts are blocked (RFLAGS.IF=0 / STI shadow).
TdvmcallArgs hlt(bool interrupts_blocked);
// Instruction.IO: R12=size (1,2,4), R13=direction (0 in, 1 out), R14=port,
// R15=data to write; out R11=data read.
TdvmcallArgs io_in(uint16_t port, uint8_t size);
TdvmcallArgs io_out(uint16_t port, uint8_t size, uint32_t value);
// Instruction.RDMSR: R12=index; out R11=value. WRMSR: R12=index, R13=value.
TdvmcallArgs rdmsr(uint32_t index);
TdvmcallArgs wrmsr(uint32_t index, uint64_t value);
// #VE.RequestMMIO: R12=size (1,2,4,8), R13=direction (0 read, 1 write),
// R14=GPA, R15=data to write; out R11=data read.
TdvmcallArgs mmio_read(uint64_t gpa, uint8_t size);
TdvmcallArgs mmio_write(uint64_t gpa, uint8_t size, uint64_t value);
// MapGPA: R12=start GPA (shared bit set to map shared), R13=size in bytes;
// on kVmcallRetry R11 holds the GPA to resume from.
TdvmcallArgs map_gpa(uint64_t gpa, uint64_t size);
// GetQuote: R12=shared buffer GPA, R13=buffer size.
TdvmcallArgs get_quote(uint64_t shared_gpa, uint64_t size);
// ReportFatalError: R12=error code, R13=GPA of an optional shared page with a
// message (0: none). Bit 63 of R12 says whether R13 is valid.
constexpr uint64_t kFatalErrorGpaValid = 1ull << 63;
TdvmcallArgs report_fatal_error(uint32_t error_code, uint64_t message_gpa);
TdvmcallArgs setup_event_notify_interrupt(uint8_t vector);
}  // namespace vmcall

// TDCALL leaves other than VMCALL.
TdcallRegs encode_vp_info();
TdcallRegs encode_vp_veinfo_get();
// TDG.MEM.PAGE.ACCEPT: RCX = GPA | level (bits 2:0, 0 = 4K, 1 = 2M).
enum class PageLevel : uint8_t { k4k = 0, k2m = 1 };
TdcallRegs encode_mem_page_accept(uint64_t gpa, PageLevel level);

// TDG.VP.INFO outputs: RCX[5:0] GPAW, RDX attributes, R8 vCPU counts,
// R9 this vCPU's index. The shared bit is GPA bit (GPAW - 1).
struct VpInfo {
  uint8_t gpa_width;
  uint64_t attributes;
  uint32_t num_vcpus;
  uint32_t max_vcpus;
  uint32_t vcpu_index;
  uint64_t shared_mask() const { return gpa_width ? 1ull << (gpa_width - 1) : 0; }
};
VpInfo decode_vp_info(const TdcallRegs& regs);

// VMX basic exit reasons reported in #VE info (Intel SDM vol.3 appendix C).
enum class ExitReason : uint32_t {
  cpuid = 10,
  hlt = 12,
  vmcall = 18,
  io = 30,
  msr_read = 31,
  msr_write = 32,
  ept_violation = 48,
  ept_misconfig = 49,
};

// TDG.VP.VEINFO.GET outputs: RCX exit reason, RDX exit qualification,
// R8 guest linear address, R9 guest physical address, R10[31:0] instruction
// length, R10[63:32] instruction information.
struct VeInfo {
  uint32_t exit_reason;
  uint64_t exit_qualification;
  uint64_t gla;
  uint64_t gpa;
  uint32_t insn_length;
  uint32_t insn_info;
};
VeInfo decode_veinfo(const TdcallRegs& regs);

// Exit qualification of an I/O instruction (Intel SDM vol.3 §28.2.1,
// table 28-5): [2:0] size-1, [3] direction (1 = in), [4] string, [5] REP,
// [6] operand (1 = immediate port), [31:16] port.
struct IoQualification {
  uint8_t size;
  bool in;
  bool string;
  bool rep;
  bool imm_port;
  uint16_t port;

  static constexpr uint64_t kSizeMask = 0x7;
  static constexpr uint64_t kDirIn = 1ull << 3;
  static constexpr uint64_t kString = 1ull << 4;
  static constexpr uint64_t kRep = 1ull << 5;
  static constexpr uint64_t kImmPort = 1ull << 6;
  static constexpr unsigned kPortShift = 16;

  static IoQualification decode(uint64_t q);
  uint64_t encode() const;
};

}  // namespace tdx
