#include "platform/tdx.h"

namespace tdx {

TdcallRegs encode(const TdvmcallArgs& args) {
  TdcallRegs r;
  r.rax = static_cast<uint64_t>(Leaf::vp_vmcall);
  r.rcx = kExposeR10ToR15;
  r.r10 = kStandardVmcall;
  r.r11 = static_cast<uint64_t>(args.fn);
  r.r12 = args.r12;
  r.r13 = args.r13;
  r.r14 = args.r14;
  r.r15 = args.r15;
  return r;
}

TdvmcallResult decode_result(const TdcallRegs& r) {
  return TdvmcallResult{r.rax, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
}

namespace vmcall {
namespace {
constexpr uint64_t kIoIn = 0;
constexpr uint64_t kIoOut = 1;
constexpr uint64_t kMmioRead = 0;
constexpr uint64_t kMmioWrite = 1;
}  // namespace

TdvmcallArgs cpuid(uint32_t leaf, uint32_t subleaf) {
  return {.fn = Vmcall::cpuid, .r12 = leaf, .r13 = subleaf};
}
TdvmcallArgs hlt(bool interrupts_blocked) {
  return {.fn = Vmcall::hlt, .r12 = interrupts_blocked ? 1u : 0u};
}
TdvmcallArgs io_in(uint16_t port, uint8_t size) {
  return {.fn = Vmcall::io, .r12 = size, .r13 = kIoIn, .r14 = port};
}
TdvmcallArgs io_out(uint16_t port, uint8_t size, uint32_t value) {
  return {.fn = Vmcall::io, .r12 = size, .r13 = kIoOut, .r14 = port, .r15 = value};
}
TdvmcallArgs rdmsr(uint32_t index) { return {.fn = Vmcall::rdmsr, .r12 = index}; }
TdvmcallArgs wrmsr(uint32_t index, uint64_t value) {
  return {.fn = Vmcall::wrmsr, .r12 = index, .r13 = value};
}
TdvmcallArgs mmio_read(uint64_t gpa, uint8_t size) {
  return {.fn = Vmcall::mmio, .r12 = size, .r13 = kMmioRead, .r14 = gpa};
}
TdvmcallArgs mmio_write(uint64_t gpa, uint8_t size, uint64_t value) {
  return {.fn = Vmcall::mmio, .r12 = size, .r13 = kMmioWrite, .r14 = gpa, .r15 = value};
}
TdvmcallArgs map_gpa(uint64_t gpa, uint64_t size) {
  return {.fn = Vmcall::map_gpa, .r12 = gpa, .r13 = size};
}
TdvmcallArgs get_quote(uint64_t shared_gpa, uint64_t size) {
  return {.fn = Vmcall::get_quote, .r12 = shared_gpa, .r13 = size};
}
TdvmcallArgs report_fatal_error(uint32_t error_code, uint64_t message_gpa) {
  const uint64_t valid = message_gpa ? kFatalErrorGpaValid : 0;
  return {.fn = Vmcall::report_fatal_error, .r12 = error_code | valid, .r13 = message_gpa};
}
TdvmcallArgs setup_event_notify_interrupt(uint8_t vector) {
  return {.fn = Vmcall::setup_event_notify_interrupt, .r12 = vector};
}
}  // namespace vmcall

TdcallRegs encode_vp_info() {
  TdcallRegs r;
  r.rax = static_cast<uint64_t>(Leaf::vp_info);
  return r;
}

TdcallRegs encode_vp_veinfo_get() {
  TdcallRegs r;
  r.rax = static_cast<uint64_t>(Leaf::vp_veinfo_get);
  return r;
}

TdcallRegs encode_mem_page_accept(uint64_t gpa, PageLevel level) {
  TdcallRegs r;
  r.rax = static_cast<uint64_t>(Leaf::mem_page_accept);
  r.rcx = (gpa & ~0xfffull) | static_cast<uint8_t>(level);
  return r;
}

VpInfo decode_vp_info(const TdcallRegs& r) {
  return VpInfo{static_cast<uint8_t>(r.rcx & 0x3f), r.rdx, static_cast<uint32_t>(r.r8),
                static_cast<uint32_t>(r.r8 >> 32), static_cast<uint32_t>(r.r9)};
}

VeInfo decode_veinfo(const TdcallRegs& r) {
  return VeInfo{static_cast<uint32_t>(r.rcx), r.rdx, r.r8, r.r9,
                static_cast<uint32_t>(r.r10), static_cast<uint32_t>(r.r10 >> 32)};
}

IoQualification IoQualification::decode(uint64_t q) {
  return IoQualification{static_cast<uint8_t>((q & kSizeMask) + 1), (q & kDirIn) != 0,
                         (q & kString) != 0, (q & kRep) != 0, (q & kImmPort) != 0,
                         static_cast<uint16_t>(q >> kPortShift)};
}

uint64_t IoQualification::encode() const {
  uint64_t q = static_cast<uint64_t>(size - 1) & kSizeMask;
  if (in) q |= kDirIn;
  if (string) q |= kString;
  if (rep) q |= kRep;
  if (imm_port) q |= kImmPort;
  return q | uint64_t{port} << kPortShift;
}

}  // namespace tdx
