// Host tests of lib/svm's portable part: the VMCB layout (the offsets are
// also static_asserts in vmcb.h; these check the encodings and printers),
// and the IOPM/MSRPM helpers against AMD APM vol.2 §15.10.1 and §15.11.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "svm/bitmap.h"
#include "svm/vmcb.h"

namespace {

TEST(SvmVmcb, LayoutMatchesAppendixB) {
  EXPECT_EQ(sizeof(svm::Vmcb), 4096u);
  EXPECT_EQ(offsetof(svm::Vmcb, save), 0x400u);
  EXPECT_EQ(offsetof(svm::Vmcb, control) + offsetof(svm::VmcbControl, exit_code), 0x070u);
  EXPECT_EQ(offsetof(svm::Vmcb, save) + offsetof(svm::VmcbSave, efer), 0x4d0u);
  EXPECT_EQ(offsetof(svm::Vmcb, save) + offsetof(svm::VmcbSave, rax), 0x5f8u);
  EXPECT_EQ(offsetof(svm::Vmcb, save) + offsetof(svm::VmcbSave, g_pat), 0x668u);
}

TEST(SvmVmcb, SegmentAttributesFromDescriptor) {
  // 64-bit kernel code (0x00af9b000000ffff): type 0xb, S, P, L, G.
  EXPECT_EQ(svm::seg_attr::from_descriptor(0x00af9b000000ffffull), 0xa9bu);
  // Flat data (0x00cf93000000ffff): type 3, S, P, D/B, G.
  EXPECT_EQ(svm::seg_attr::from_descriptor(0x00cf93000000ffffull), 0xc93u);
}

TEST(SvmVmcb, EventEncoding) {
  namespace ev = svm::event;
  const uint64_t e = ev::make(ev::Type::exception, 13, 0x1234);
  EXPECT_EQ(e, 0x0000123480000b0dull);
  EXPECT_EQ(ev::vector(e), 13);
  EXPECT_EQ(ev::type(e), ev::Type::exception);
  EXPECT_EQ(ev::error_code(e), 0x1234u);
  EXPECT_EQ(ev::make(ev::Type::intr, 0x80), 0x80000080ull);
  EXPECT_FALSE(ev::make(ev::Type::nmi, 2) & ev::kEv);
}

std::string code_str(svm::ExitCode c) {
  char buf[32];
  return svm::exit_code_str(c, buf, sizeof(buf));
}

TEST(SvmVmcb, ExitCodeNames) {
  EXPECT_EQ(code_str(svm::ExitCode::cpuid), "CPUID");
  EXPECT_EQ(code_str(svm::read_cr(3)), "READ_CR3");
  EXPECT_EQ(code_str(svm::write_dr(7)), "WRITE_DR7");
  EXPECT_EQ(code_str(svm::exception(14)), "EXCP vector 14");
  EXPECT_EQ(code_str(svm::ExitCode::shutdown), "SHUTDOWN");
  EXPECT_EQ(code_str(svm::ExitCode::vmmcall), "VMMCALL");
  EXPECT_EQ(code_str(svm::ExitCode::rdtscp), "RDTSCP");
  EXPECT_EQ(code_str(svm::ExitCode::npf), "NPF");
  EXPECT_EQ(code_str(svm::ExitCode::invalid), "VMEXIT_INVALID");
  EXPECT_EQ(code_str(svm::ExitCode(0x1234)), "exit 0x1234");
  EXPECT_EQ(static_cast<uint64_t>(svm::ExitCode::intr), 0x60u + 0);  // vector 3 bit 0
  EXPECT_EQ(static_cast<uint64_t>(svm::ExitCode::vmrun), 0x80u + 0);  // vector 4 bit 0
}

TEST(SvmVmcb, InfoPrinters) {
  char buf[96];
  const uint64_t io = svm::ioio::kIn | svm::ioio::kSz16 | svm::ioio::kA64 | 0x87ull << 16;
  EXPECT_STREQ(svm::ioio::info1_str(io, buf, sizeof(buf)), "IN port 0x87, 16-bit, A64");
  EXPECT_EQ(svm::ioio::port(io), 0x87);
  EXPECT_STREQ(svm::npf::info1_str(svm::npf::kP | svm::npf::kW | svm::npf::kU | svm::npf::kFinalGpa,
                                   buf, sizeof(buf)),
               "0x100000007 (P W U final-GPA)");
}

TEST(SvmBitmap, IopmSingleAndStraddling) {
  std::vector<uint8_t> iopm(svm::kIopmSize, 0);
  svm::iopm_set(iopm.data(), 0x88, true);
  EXPECT_EQ(iopm[0x11], 0x01);
  EXPECT_TRUE(svm::iopm_get(iopm.data(), 0x88));
  EXPECT_FALSE(svm::iopm_intercepts(iopm.data(), 0x87, 1));
  EXPECT_TRUE(svm::iopm_intercepts(iopm.data(), 0x87, 2));   // straddles bytes 0x10, 0x11
  EXPECT_TRUE(svm::iopm_intercepts(iopm.data(), 0x85, 4));
  EXPECT_FALSE(svm::iopm_intercepts(iopm.data(), 0x89, 4));
  svm::iopm_set(iopm.data(), 0x88, false);
  EXPECT_FALSE(svm::iopm_intercepts(iopm.data(), 0x87, 2));
}

TEST(SvmBitmap, IopmPastPortFfffUsesThirdPage) {
  std::vector<uint8_t> iopm(svm::kIopmSize, 0);
  iopm[0x2000] = 0x01;  // the bit of "port 0x10000"
  EXPECT_FALSE(svm::iopm_intercepts(iopm.data(), 0xffff, 1));
  EXPECT_TRUE(svm::iopm_intercepts(iopm.data(), 0xffff, 2));
}

TEST(SvmBitmap, MsrpmRanges) {
  auto s = svm::msrpm_slot(0x10);
  EXPECT_TRUE(s.covered);
  EXPECT_EQ(s.byte, 0x10u * 2 / 8);
  EXPECT_EQ(s.read_bit, (0x10u * 2) % 8);
  s = svm::msrpm_slot(0xc0000082);
  EXPECT_TRUE(s.covered);
  EXPECT_EQ(s.byte, 0x800u + 0x82 * 2 / 8);
  EXPECT_EQ(s.read_bit, 4u);
  s = svm::msrpm_slot(0xc0011fff);
  EXPECT_TRUE(s.covered);
  EXPECT_EQ(s.byte, 0x17ffu);
  EXPECT_EQ(s.read_bit, 6u);
  EXPECT_FALSE(svm::msrpm_slot(0x2000).covered);
  EXPECT_FALSE(svm::msrpm_slot(0xc0002000).covered);
  EXPECT_FALSE(svm::msrpm_slot(0xc0012000).covered);
}

TEST(SvmBitmap, MsrpmReadWriteBits) {
  std::vector<uint8_t> pm(svm::kMsrpmSize, 0);
  ASSERT_TRUE(svm::msrpm_set(pm.data(), 0xc0000102, true, false));
  EXPECT_TRUE(svm::msrpm_intercepts(pm.data(), 0xc0000102, false));
  EXPECT_FALSE(svm::msrpm_intercepts(pm.data(), 0xc0000102, true));
  EXPECT_FALSE(svm::msrpm_intercepts(pm.data(), 0xc0000103, false));
  ASSERT_TRUE(svm::msrpm_set(pm.data(), 0xc0000102, false, true));
  EXPECT_FALSE(svm::msrpm_intercepts(pm.data(), 0xc0000102, false));
  EXPECT_TRUE(svm::msrpm_intercepts(pm.data(), 0xc0000102, true));
  EXPECT_EQ(pm[0x800 + 0x102 * 2 / 8], 0x20);  // MSR 0x102 in its range: bits 4 (R), 5 (W)
  EXPECT_FALSE(svm::msrpm_set(pm.data(), 0x40000000, true, true));
  EXPECT_TRUE(svm::msrpm_intercepts(pm.data(), 0x40000000, false));  // outside: always
}

}  // namespace
