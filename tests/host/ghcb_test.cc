#include "platform/ghcb.h"

#include <gtest/gtest.h>

#include <memory>

namespace {

using namespace ghcb;

TEST(GhcbMsr, SevInfoRequestIsBareInfoCode) { EXPECT_EQ(msr::sev_info_request(), 0x002u); }

TEST(GhcbMsr, SevInfoResponseFields) {
  // max 2, min 1, C-bit 51: GHCB spec §2.3.1, SEV Information.
  const uint64_t v = 0x0002000133000001ull;
  msr::SevInfo info{};
  ASSERT_TRUE(msr::decode_sev_info(v, &info));
  EXPECT_EQ(info.max_version, 2);
  EXPECT_EQ(info.min_version, 1);
  EXPECT_EQ(info.c_bit, 51);
  EXPECT_EQ(msr::encode_sev_info(info), v);
  EXPECT_FALSE(msr::decode_sev_info(0x0002000133000005ull, &info)) << "wrong GHCBInfo";
}

TEST(GhcbMsr, CpuidRequestAndResponse) {
  EXPECT_EQ(msr::cpuid_request(0x8000001f, msr::CpuidReg::eax), 0x8000001f00000004ull);
  EXPECT_EQ(msr::cpuid_request(1, msr::CpuidReg::ebx), 0x0000000140000004ull);
  EXPECT_EQ(msr::cpuid_request(1, msr::CpuidReg::ecx), 0x0000000180000004ull);
  EXPECT_EQ(msr::cpuid_request(1, msr::CpuidReg::edx), 0x00000001c0000004ull);
  uint32_t value = 0;
  ASSERT_TRUE(msr::decode_cpuid_response(0x12345678c0000005ull, msr::CpuidReg::edx, &value));
  EXPECT_EQ(value, 0x12345678u);
  EXPECT_FALSE(msr::decode_cpuid_response(0x12345678c0000005ull, msr::CpuidReg::eax, &value))
      << "register echo mismatch";
  EXPECT_FALSE(msr::decode_cpuid_response(0x12345678c0000004ull, msr::CpuidReg::edx, &value));
}

TEST(GhcbMsr, RegisterGpa) {
  EXPECT_EQ(msr::register_gpa_request(0x12345), 0x12345012ull);
  EXPECT_TRUE(msr::decode_register_gpa_response(0x12345013ull, 0x12345));
  EXPECT_FALSE(msr::decode_register_gpa_response(0xfffffffffffff013ull, 0x12345));
}

TEST(GhcbMsr, PageStateChange) {
  EXPECT_EQ(msr::page_state_change_request(0xabcde, msr::PageState::shared),
            0x00200000abcde014ull);
  EXPECT_EQ(msr::page_state_change_request(0xabcde, msr::PageState::private_),
            0x00100000abcde014ull);
  uint32_t err = 1;
  ASSERT_TRUE(msr::decode_page_state_change_response(0x0000000000000015ull, &err));
  EXPECT_EQ(err, 0u);
  ASSERT_TRUE(msr::decode_page_state_change_response(0x0000000700000015ull, &err));
  EXPECT_EQ(err, 7u);
}

TEST(GhcbMsr, Termination) {
  EXPECT_EQ(msr::termination_request(msr::kReasonSetGeneral, msr::kReasonGeneral), 0x100u);
  EXPECT_EQ(msr::termination_request(0, msr::kReasonProtocolUnsupported), 0x10100u);
  EXPECT_EQ(msr::termination_request(1, 0x42), 0x421100u);
  EXPECT_EQ(msr::termination_request(0x1f, 0), 0xf100u) << "reason set is 4 bits";
}

TEST(GhcbMsr, HvFeatures) {
  EXPECT_EQ(msr::hv_features_request(), 0x080u);
  uint64_t f = 0;
  ASSERT_TRUE(msr::decode_hv_features_response(0x3081, &f));
  EXPECT_EQ(f, 3u);
}

TEST(GhcbExitCodes, MatchSvmAndGhcbSpec) {
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::cpuid), 0x72u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::ioio), 0x7bu);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::msr), 0x7cu);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::rdtsc), 0x6eu);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::rdtscp), 0x87u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::vmmcall), 0x81u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::wbinvd), 0x89u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::dr7_read), 0x27u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::dr7_write), 0x37u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::mmio_read), 0x80000001u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::mmio_write), 0x80000002u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::nmi_complete), 0x80000003u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::ap_reset_hold), 0x80000004u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::snp_page_state_change), 0x80000010u);
  EXPECT_EQ(static_cast<uint64_t>(ExitCode::termination), 0x8000fffeu);
}

TEST(GhcbIoio, EncodesApmFigure) {
  // in al, 0x80
  IoioInfo in8{.port = 0x80, .size = 1, .in = true};
  EXPECT_EQ(in8.encode(), 0x00800000ull | 1 << 0 | 1 << 4 | 1 << 9 | 3 << 10);
  // rep outsw with 32-bit addresses through FS, port 0x3f8
  IoioInfo outs{.port = 0x3f8, .size = 2, .addr_size = 4, .segment = 4, .string = true, .rep = true};
  EXPECT_EQ(outs.encode(), 0x03f80000ull | 1 << 2 | 1 << 3 | 1 << 5 | 1 << 8 | 4 << 10);
  // out dx, eax
  IoioInfo out32{.port = 0xcf8, .size = 4};
  EXPECT_EQ(out32.encode(), 0x0cf80000ull | 1 << 6 | 1 << 9 | 3 << 10);
}

TEST(GhcbIoio, RoundTrip) {
  for (uint8_t size : {1, 2, 4}) {
    for (uint8_t as : {2, 4, 8}) {
      IoioInfo io{.port = 0x1234, .size = size, .addr_size = as, .segment = 5, .in = size != 2,
                  .string = as != 8, .rep = size == 4};
      const IoioInfo back = IoioInfo::decode(io.encode());
      EXPECT_EQ(back.port, io.port);
      EXPECT_EQ(back.size, io.size);
      EXPECT_EQ(back.addr_size, io.addr_size);
      EXPECT_EQ(back.segment, io.segment);
      EXPECT_EQ(back.in, io.in);
      EXPECT_EQ(back.string, io.string);
      EXPECT_EQ(back.rep, io.rep);
    }
  }
}

TEST(GhcbPage, ValidBitmapFollowsFieldOffsets) {
  auto page = std::make_unique<Page>();
  *page = Page{};
  page->begin(ExitCode::msr, kMsrWrite, 0);
  page->set_rcx(0x10);
  page->set_rax(1);
  page->set_rdx(2);
  // Bit index = offset / 8 (GHCB spec §2.3.1): rax 63, rcx 97, rdx 98,
  // sw_exit_code 114, info1 115, info2 116.
  auto bit = [&](unsigned n) { return (page->valid_bitmap[n / 8] >> (n % 8)) & 1; };
  EXPECT_EQ(bit(63), 1);
  EXPECT_EQ(bit(97), 1);
  EXPECT_EQ(bit(98), 1);
  EXPECT_EQ(bit(99), 0) << "rbx not set";
  EXPECT_EQ(bit(114), 1);
  EXPECT_EQ(bit(115), 1);
  EXPECT_EQ(bit(116), 1);
  EXPECT_EQ(bit(117), 0) << "sw_scratch not set";
  EXPECT_EQ(page->sw_exit_code, 0x7cu);
  EXPECT_EQ(page->protocol_version, 2);
  EXPECT_EQ(page->usage, 0u);
  EXPECT_TRUE(page->is_valid(offsetof(Page, rcx)));

  page->begin(ExitCode::cpuid, 0, 0);
  EXPECT_FALSE(page->is_valid(offsetof(Page, rcx))) << "begin() clears the bitmap";
  page->set_xcr0(1);
  EXPECT_EQ(bit(125), 1);
}

}  // namespace
