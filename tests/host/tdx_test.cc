#include "platform/tdx.h"

#include <gtest/gtest.h>

namespace {

using namespace tdx;

TEST(TdxLeaves, Numbers) {
  EXPECT_EQ(static_cast<uint64_t>(Leaf::vp_vmcall), 0u);
  EXPECT_EQ(static_cast<uint64_t>(Leaf::vp_info), 1u);
  EXPECT_EQ(static_cast<uint64_t>(Leaf::vp_veinfo_get), 3u);
  EXPECT_EQ(static_cast<uint64_t>(Leaf::mem_page_accept), 6u);
}

TEST(TdxVmcall, SubFunctionNumbers) {
  EXPECT_EQ(static_cast<uint64_t>(Vmcall::cpuid), 10u);
  EXPECT_EQ(static_cast<uint64_t>(Vmcall::hlt), 12u);
  EXPECT_EQ(static_cast<uint64_t>(Vmcall::io), 30u);
  EXPECT_EQ(static_cast<uint64_t>(Vmcall::rdmsr), 31u);
  EXPECT_EQ(static_cast<uint64_t>(Vmcall::wrmsr), 32u);
  EXPECT_EQ(static_cast<uint64_t>(Vmcall::mmio), 48u);
  EXPECT_EQ(static_cast<uint64_t>(Vmcall::map_gpa), 0x10001u);
  EXPECT_EQ(static_cast<uint64_t>(Vmcall::get_quote), 0x10002u);
  EXPECT_EQ(static_cast<uint64_t>(Vmcall::report_fatal_error), 0x10003u);
}

TEST(TdxVmcall, EncodeLaysOutTheStandardAbi) {
  const TdcallRegs r = encode(vmcall::cpuid(0x7, 1));
  EXPECT_EQ(r.rax, 0u) << "TDG.VP.VMCALL";
  EXPECT_EQ(r.rcx, 0xfc00u) << "expose R10-R15";
  EXPECT_EQ(r.r10, 0u) << "standard sub-function space";
  EXPECT_EQ(r.r11, 10u);
  EXPECT_EQ(r.r12, 7u);
  EXPECT_EQ(r.r13, 1u);
  EXPECT_EQ(r.r14, 0u);
  EXPECT_EQ(r.r15, 0u);
  EXPECT_EQ(r.rdx | r.rbx | r.rsi | r.rdi | r.r8 | r.r9, 0u) << "hidden registers carry nothing";
}

TEST(TdxVmcall, RcxBitmapUsesRegisterNumbers) {
  for (unsigned n = 10; n <= 15; n++) EXPECT_TRUE(kExposeR10ToR15 & (1ull << n));
  for (unsigned n = 0; n < 10; n++) EXPECT_FALSE(kExposeR10ToR15 & (1ull << n));
}

TEST(TdxVmcall, Io) {
  TdcallRegs r = encode(vmcall::io_out(0x3f8, 1, 0x41));
  EXPECT_EQ(r.r11, 30u);
  EXPECT_EQ(r.r12, 1u);
  EXPECT_EQ(r.r13, 1u) << "write";
  EXPECT_EQ(r.r14, 0x3f8u);
  EXPECT_EQ(r.r15, 0x41u);
  r = encode(vmcall::io_in(0xcfc, 4));
  EXPECT_EQ(r.r12, 4u);
  EXPECT_EQ(r.r13, 0u) << "read";
  EXPECT_EQ(r.r14, 0xcfcu);
}

TEST(TdxVmcall, MsrMmioHlt) {
  TdcallRegs r = encode(vmcall::rdmsr(0x1b));
  EXPECT_EQ(r.r11, 31u);
  EXPECT_EQ(r.r12, 0x1bu);
  r = encode(vmcall::wrmsr(0x6e0, 0x123456789ull));
  EXPECT_EQ(r.r11, 32u);
  EXPECT_EQ(r.r13, 0x123456789ull);
  r = encode(vmcall::mmio_write(0xfee000b0, 4, 0));
  EXPECT_EQ(r.r11, 48u);
  EXPECT_EQ(r.r12, 4u);
  EXPECT_EQ(r.r13, 1u);
  EXPECT_EQ(r.r14, 0xfee000b0u);
  r = encode(vmcall::mmio_read(0xfed00000, 8));
  EXPECT_EQ(r.r13, 0u);
  r = encode(vmcall::hlt(true));
  EXPECT_EQ(r.r11, 12u);
  EXPECT_EQ(r.r12, 1u);
}

TEST(TdxVmcall, MapGpaAndFatalError) {
  TdcallRegs r = encode(vmcall::map_gpa((1ull << 51) | 0x100000, 0x2000));
  EXPECT_EQ(r.r11, 0x10001u);
  EXPECT_EQ(r.r12, (1ull << 51) | 0x100000);
  EXPECT_EQ(r.r13, 0x2000u);
  r = encode(vmcall::report_fatal_error(0x1234, 0));
  EXPECT_EQ(r.r11, 0x10003u);
  EXPECT_EQ(r.r12, 0x1234u);
  EXPECT_EQ(r.r13, 0u);
  r = encode(vmcall::report_fatal_error(0x1234, 0x5000));
  EXPECT_EQ(r.r12, (1ull << 63) | 0x1234);
  EXPECT_EQ(r.r13, 0x5000u);
}

TEST(TdxVmcall, Result) {
  TdcallRegs r;
  r.r10 = kVmcallRetry;
  r.r11 = 0x1000;
  TdvmcallResult res = decode_result(r);
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(res.vmcall_status, 1u);
  EXPECT_EQ(res.r11, 0x1000u);
  r.r10 = 0;
  EXPECT_TRUE(decode_result(r).ok());
}

TEST(TdxLeaves, PageAcceptAndInfo) {
  const TdcallRegs a = encode_mem_page_accept(0x200000, PageLevel::k2m);
  EXPECT_EQ(a.rax, 6u);
  EXPECT_EQ(a.rcx, 0x200001u);
  TdcallRegs out;
  out.rcx = 52;
  out.rdx = 0x10000000;
  out.r8 = (8ull << 32) | 4;
  out.r9 = 3;
  const VpInfo info = decode_vp_info(out);
  EXPECT_EQ(info.gpa_width, 52);
  EXPECT_EQ(info.shared_mask(), 1ull << 51);
  EXPECT_EQ(info.num_vcpus, 4u);
  EXPECT_EQ(info.max_vcpus, 8u);
  EXPECT_EQ(info.vcpu_index, 3u);
  EXPECT_EQ(encode_vp_veinfo_get().rax, 3u);
}

TEST(TdxVe, ExitReasons) {
  EXPECT_EQ(static_cast<uint32_t>(ExitReason::cpuid), 10u);
  EXPECT_EQ(static_cast<uint32_t>(ExitReason::hlt), 12u);
  EXPECT_EQ(static_cast<uint32_t>(ExitReason::io), 30u);
  EXPECT_EQ(static_cast<uint32_t>(ExitReason::msr_read), 31u);
  EXPECT_EQ(static_cast<uint32_t>(ExitReason::msr_write), 32u);
  EXPECT_EQ(static_cast<uint32_t>(ExitReason::ept_violation), 48u);
}

TEST(TdxVe, VeInfoRegisters) {
  TdcallRegs r;
  r.rcx = 30;
  r.rdx = 0x03f80008;
  r.r8 = 0x1000;
  r.r9 = 0x2000;
  r.r10 = (0x55ull << 32) | 2;
  const VeInfo ve = decode_veinfo(r);
  EXPECT_EQ(ve.exit_reason, 30u);
  EXPECT_EQ(ve.exit_qualification, 0x03f80008u);
  EXPECT_EQ(ve.gla, 0x1000u);
  EXPECT_EQ(ve.gpa, 0x2000u);
  EXPECT_EQ(ve.insn_length, 2u);
  EXPECT_EQ(ve.insn_info, 0x55u);
}

TEST(TdxVe, IoQualification) {
  // in al, dx from port 0x3f8: size 0, direction in.
  IoQualification q = IoQualification::decode(0x03f80008);
  EXPECT_EQ(q.size, 1);
  EXPECT_TRUE(q.in);
  EXPECT_FALSE(q.string);
  EXPECT_FALSE(q.imm_port);
  EXPECT_EQ(q.port, 0x3f8);
  // rep outsd through DX, port 0x80.
  q = IoQualification::decode(0x00800033);
  EXPECT_EQ(q.size, 4);
  EXPECT_FALSE(q.in);
  EXPECT_TRUE(q.string);
  EXPECT_TRUE(q.rep);
  EXPECT_EQ(q.port, 0x80);
  EXPECT_EQ(q.encode(), 0x00800033u);
  // out 0x80, ax: size 1 (2 bytes), immediate port.
  q = IoQualification::decode(0x00800041);
  EXPECT_EQ(q.size, 2);
  EXPECT_TRUE(q.imm_port);
}

}  // namespace
