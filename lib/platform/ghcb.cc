#include "platform/ghcb.h"

namespace ghcb {

void Page::begin(ExitCode code, uint64_t info1, uint64_t info2) {
  for (uint8_t& b : valid_bitmap) b = 0;
  protocol_version = kProtocolVersion;
  usage = kUsageStandard;
  sw_exit_code = static_cast<uint64_t>(code);
  sw_exit_info1 = info1;
  sw_exit_info2 = info2;
  mark_valid(offsetof(Page, sw_exit_code));
  mark_valid(offsetof(Page, sw_exit_info1));
  mark_valid(offsetof(Page, sw_exit_info2));
}

void Page::set_rax(uint64_t v) {
  rax = v;
  mark_valid(offsetof(Page, rax));
}
void Page::set_rbx(uint64_t v) {
  rbx = v;
  mark_valid(offsetof(Page, rbx));
}
void Page::set_rcx(uint64_t v) {
  rcx = v;
  mark_valid(offsetof(Page, rcx));
}
void Page::set_rdx(uint64_t v) {
  rdx = v;
  mark_valid(offsetof(Page, rdx));
}
void Page::set_xcr0(uint64_t v) {
  xcr0 = v;
  mark_valid(offsetof(Page, xcr0));
}
void Page::set_cpl(uint8_t v) {
  cpl = v;
  mark_valid(offsetof(Page, cpl));
}
void Page::set_sw_scratch(uint64_t gpa) {
  sw_scratch = gpa;
  mark_valid(offsetof(Page, sw_scratch));
}

uint64_t IoioInfo::encode() const {
  uint64_t v = uint64_t{port} << kPortShift;
  v |= uint64_t{static_cast<uint8_t>(segment & 7)} << kSegShift;
  if (in) v |= kTypeIn;
  if (string) v |= kString;
  if (rep) v |= kRep;
  v |= size == 1 ? kSz8 : size == 2 ? kSz16 : kSz32;
  v |= addr_size == 2 ? kA16 : addr_size == 4 ? kA32 : kA64;
  return v;
}

IoioInfo IoioInfo::decode(uint64_t v) {
  IoioInfo io;
  io.port = static_cast<uint16_t>(v >> kPortShift);
  io.segment = static_cast<uint8_t>((v >> kSegShift) & 7);
  io.in = v & kTypeIn;
  io.string = v & kString;
  io.rep = v & kRep;
  io.size = (v & kSz8) ? 1 : (v & kSz16) ? 2 : 4;
  io.addr_size = (v & kA16) ? 2 : (v & kA32) ? 4 : 8;
  return io;
}

namespace msr {
namespace {
constexpr uint64_t info(Info i) { return static_cast<uint64_t>(i); }
constexpr uint64_t kGfnMask = (1ull << 52) - 1;  // GHCBData, 52 bits
}  // namespace

uint64_t sev_info_request() { return info(Info::sev_info_request); }

uint64_t encode_sev_info(SevInfo s) {
  return uint64_t{s.max_version} << 48 | uint64_t{s.min_version} << 32 | uint64_t{s.c_bit} << 24 |
         info(Info::sev_info_response);
}

bool decode_sev_info(uint64_t v, SevInfo* out) {
  if (info_of(v) != Info::sev_info_response) return false;
  out->max_version = static_cast<uint16_t>(v >> 48);
  out->min_version = static_cast<uint16_t>(v >> 32);
  out->c_bit = static_cast<uint8_t>(v >> 24);
  return true;
}

uint64_t cpuid_request(uint32_t function, CpuidReg reg) {
  return uint64_t{function} << 32 | uint64_t{static_cast<uint8_t>(reg)} << 30 |
         info(Info::cpuid_request);
}

bool decode_cpuid_response(uint64_t v, CpuidReg expected, uint32_t* value) {
  if (info_of(v) != Info::cpuid_response) return false;
  if (((v >> 30) & 3) != static_cast<uint8_t>(expected)) return false;
  *value = static_cast<uint32_t>(v >> 32);
  return true;
}

uint64_t register_gpa_request(uint64_t gfn) {
  return (gfn & kGfnMask) << 12 | info(Info::register_gpa_request);
}

bool decode_register_gpa_response(uint64_t v, uint64_t expected_gfn) {
  return info_of(v) == Info::register_gpa_response && (v >> 12) == (expected_gfn & kGfnMask);
}

uint64_t page_state_change_request(uint64_t gfn, PageState op) {
  constexpr uint64_t kGfn40 = (1ull << 40) - 1;
  return uint64_t{static_cast<uint8_t>(op)} << 52 | (gfn & kGfn40) << 12 |
         info(Info::page_state_change_request);
}

bool decode_page_state_change_response(uint64_t v, uint32_t* error) {
  if (info_of(v) != Info::page_state_change_response) return false;
  *error = static_cast<uint32_t>(v >> 32);
  return true;
}

uint64_t hv_features_request() { return info(Info::hv_features_request); }

bool decode_hv_features_response(uint64_t v, uint64_t* features) {
  if (info_of(v) != Info::hv_features_response) return false;
  *features = v >> 12;
  return true;
}

uint64_t termination_request(uint8_t reason_set, uint8_t reason_code) {
  return uint64_t{reason_code} << 16 | uint64_t{static_cast<uint8_t>(reason_set & 0xf)} << 12 |
         info(Info::termination_request);
}

}  // namespace msr
}  // namespace ghcb
