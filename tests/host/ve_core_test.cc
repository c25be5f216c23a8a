// The #VE core: #VE information + instruction + registers -> TDVMCALLs ->
// registers, with a scripted TDX module/VMM.
#include "platform/ve_core.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "platform_fakes.h"

namespace {

using platform::EmulError;
using tdx::ExitReason;
using tdx::Vmcall;

constexpr uint64_t kRip = fake::Memory::kBase + 0x100;
constexpr uint64_t kMmio = fake::Memory::kMmio + 0x30;

class Module final : public ve::Module {
 public:
  tdx::TdvmcallResult tdvmcall(const tdx::TdvmcallArgs& a) override {
    calls.push_back(a);
    tdx::TdvmcallResult r{};
    if (reply) reply(a, r);
    return r;
  }
  std::vector<tdx::TdvmcallArgs> calls;
  std::function<void(const tdx::TdvmcallArgs&, tdx::TdvmcallResult&)> reply;
};

struct VeTest : ::testing::Test {
  fake::Memory mem;
  Module m;
  Regs regs{};
  void SetUp() override { regs.rip = kRip; }
  EmulError run(ExitReason r, uint32_t len = 0, uint64_t qual = 0, uint64_t gpa = 0) {
    tdx::VeInfo info{static_cast<uint32_t>(r), qual, gpa, gpa, len, 0};
    return ve::handle(info, regs, mem, m);
  }
};

TEST_F(VeTest, Cpuid) {
  mem.put(kRip, {0x0f, 0xa2});
  regs[Gpr::rax] = 7;
  regs[Gpr::rcx] = 0;
  m.reply = [](const tdx::TdvmcallArgs& a, tdx::TdvmcallResult& r) {
    EXPECT_EQ(a.fn, Vmcall::cpuid);
    EXPECT_EQ(a.r12, 7u);
    r.r12 = 1;
    r.r13 = 2;
    r.r14 = 3;
    r.r15 = 0xffffffff00000004ull;
  };
  EXPECT_EQ(run(ExitReason::cpuid, 2), EmulError::none);
  EXPECT_EQ(regs[Gpr::rax], 1u);
  EXPECT_EQ(regs[Gpr::rdx], 4u);
  EXPECT_EQ(regs.rip, kRip + 2);
}

TEST_F(VeTest, LengthMismatch) {
  mem.put(kRip, {0x0f, 0xa2});
  EXPECT_EQ(run(ExitReason::cpuid, 3), EmulError::wrong_instruction);
  EXPECT_TRUE(m.calls.empty());
}

TEST_F(VeTest, OutDx) {
  mem.put(kRip, {0x66, 0xef});  // out %ax, %dx
  regs[Gpr::rdx] = 0x3f8;
  regs[Gpr::rax] = 0xabcd1234;
  const uint64_t q = tdx::IoQualification{2, false, false, false, false, 0x3f8}.encode();
  EXPECT_EQ(run(ExitReason::io, 2, q), EmulError::none);
  ASSERT_EQ(m.calls.size(), 1u);
  EXPECT_EQ(m.calls[0].fn, Vmcall::io);
  EXPECT_EQ(m.calls[0].r12, 2u);
  EXPECT_EQ(m.calls[0].r13, 1u);
  EXPECT_EQ(m.calls[0].r14, 0x3f8u);
  EXPECT_EQ(m.calls[0].r15, 0x1234u);
}

TEST_F(VeTest, IoQualificationMustMatch) {
  mem.put(kRip, {0xee});
  const uint64_t q = tdx::IoQualification{1, true, false, false, false, 0x3f8}.encode();
  EXPECT_EQ(run(ExitReason::io, 1, q), EmulError::wrong_instruction);
}

TEST_F(VeTest, RepOutsbOneCallPerByte) {
  mem.put(kRip, {0xf3, 0x6e});
  mem.put(fake::Memory::kBase + 0x1000, {'a', 'b', 'c'});
  regs[Gpr::rsi] = fake::Memory::kBase + 0x1000;
  regs[Gpr::rcx] = 3;
  regs[Gpr::rdx] = 0x3f8;
  const uint64_t q = tdx::IoQualification{1, false, true, true, false, 0x3f8}.encode();
  EXPECT_EQ(run(ExitReason::io, 2, q), EmulError::none);
  ASSERT_EQ(m.calls.size(), 3u);
  EXPECT_EQ(m.calls[2].r15, static_cast<uint64_t>('c'));
  EXPECT_EQ(regs[Gpr::rcx], 0u);
}

TEST_F(VeTest, MmioLoadByGpa) {
  mem.put(kRip, {0x8b, 0x03});
  regs[Gpr::rbx] = kMmio;
  m.reply = [](const tdx::TdvmcallArgs& a, tdx::TdvmcallResult& r) {
    EXPECT_EQ(a.fn, Vmcall::mmio);
    EXPECT_EQ(a.r12, 4u);
    EXPECT_EQ(a.r13, 0u);
    EXPECT_EQ(a.r14, kMmio);
    r.r11 = 0x50014;
  };
  EXPECT_EQ(run(ExitReason::ept_violation, 0, 0, kMmio), EmulError::none);
  EXPECT_EQ(regs[Gpr::rax], 0x50014u);
}

TEST_F(VeTest, RdmsrSplitsR11) {
  mem.put(kRip, {0x0f, 0x32});
  regs[Gpr::rcx] = 0x10;
  m.reply = [](const tdx::TdvmcallArgs&, tdx::TdvmcallResult& r) { r.r11 = 0x1122334455667788ull; };
  EXPECT_EQ(run(ExitReason::msr_read, 2), EmulError::none);
  EXPECT_EQ(regs[Gpr::rax], 0x55667788u);
  EXPECT_EQ(regs[Gpr::rdx], 0x11223344u);
}

TEST_F(VeTest, HltReportsInterruptState) {
  mem.put(kRip, {0xf4});
  regs.rflags = rflags::kInterrupt;
  EXPECT_EQ(run(ExitReason::hlt, 1), EmulError::none);
  ASSERT_EQ(m.calls.size(), 1u);
  EXPECT_EQ(m.calls[0].r12, 0u);
}

TEST_F(VeTest, VmmErrorAndUnsupported) {
  mem.put(kRip, {0x0f, 0x30});
  m.reply = [](const tdx::TdvmcallArgs&, tdx::TdvmcallResult& r) {
    r.vmcall_status = tdx::kVmcallOperandInvalid;
  };
  EXPECT_EQ(run(ExitReason::msr_write, 2), EmulError::hypervisor_error);
  EXPECT_EQ(regs.rip, kRip);
  EXPECT_EQ(run(ExitReason::ept_misconfig), EmulError::unsupported_exit);
}

}  // namespace
