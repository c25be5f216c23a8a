// The #VC core: instruction + registers -> GHCB request -> registers, with
// a scripted hypervisor that checks each request the way the GHCB spec
// lays it out.
#include "platform/vc_core.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <functional>

#include "platform_fakes.h"

namespace {

using ghcb::ExitCode;
using ghcb::Page;
using platform::EmulError;

constexpr uint64_t kRip = fake::Memory::kBase + 0x100;
constexpr uint64_t kData = fake::Memory::kBase + 0x1000;
constexpr uint64_t kMmio = fake::Memory::kMmio + 0x30;

class Hv final : public vc::Hypervisor {
 public:
  Page& ghcb() override { return page; }
  uint64_t ghcb_gpa() override { return 0x7000000; }
  void vmgexit() override {
    ++exits;
    if (reply) reply(page);
  }
  uint64_t xcr0() override { return 7; }
  alignas(4096) Page page{};
  std::function<void(Page&)> reply;
  int exits = 0;
};

struct VcTest : ::testing::Test {
  fake::Memory mem;
  Hv hv;
  Regs regs{};
  void SetUp() override { regs.rip = kRip; }
  EmulError run(ExitCode c) { return vc::handle(static_cast<uint64_t>(c), regs, mem, hv); }
  static void ok(Page& g) { g.sw_exit_info1 = 0; }
};

TEST_F(VcTest, CpuidCarriesLeafSubleafAndXcr0) {
  mem.put(kRip, {0x0f, 0xa2});
  regs[Gpr::rax] = 0xffffffff0000000dull;
  regs[Gpr::rcx] = 1;
  hv.reply = [](Page& g) {
    EXPECT_EQ(g.sw_exit_code, 0x72u);
    EXPECT_TRUE(g.is_valid(offsetof(Page, rax)) && g.is_valid(offsetof(Page, rcx)));
    EXPECT_EQ(g.rax, 0xdu);
    EXPECT_EQ(g.rcx, 1u);
    EXPECT_TRUE(g.is_valid(offsetof(Page, xcr0)));
    EXPECT_EQ(g.xcr0, 7u);
    g.sw_exit_info1 = 0;
    g.set_rax(0xffffffff00000001ull);
    g.set_rbx(2);
    g.set_rcx(3);
    g.set_rdx(4);
  };
  EXPECT_EQ(run(ExitCode::cpuid), EmulError::none);
  EXPECT_EQ(regs[Gpr::rax], 1u);
  EXPECT_EQ(regs[Gpr::rbx], 2u);
  EXPECT_EQ(regs[Gpr::rdx], 4u);
  EXPECT_EQ(regs.rip, kRip + 2);
}

TEST_F(VcTest, CpuidReplyWithoutValidRegistersIsAnError) {
  mem.put(kRip, {0x0f, 0xa2});
  hv.reply = [](Page& g) {
    for (auto& b : g.valid_bitmap) b = 0;
    g.sw_exit_info1 = 0;
  };
  EXPECT_EQ(run(ExitCode::cpuid), EmulError::hypervisor_error);
  EXPECT_EQ(regs.rip, kRip);
}

TEST_F(VcTest, HypervisorErrorStatus) {
  mem.put(kRip, {0x0f, 0x09});
  hv.reply = [](Page& g) { g.sw_exit_info1 = 1; };
  EXPECT_EQ(run(ExitCode::wbinvd), EmulError::hypervisor_error);
}

TEST_F(VcTest, OutImm8) {
  mem.put(kRip, {0xe6, 0x80});
  regs[Gpr::rax] = 0x1234;
  hv.reply = [](Page& g) {
    ghcb::IoioInfo io = ghcb::IoioInfo::decode(g.sw_exit_info1);
    EXPECT_EQ(io.port, 0x80);
    EXPECT_EQ(io.size, 1);
    EXPECT_FALSE(io.in);
    EXPECT_FALSE(io.string);
    EXPECT_EQ(g.rax, 0x34u);
    g.sw_exit_info1 = 0;
  };
  EXPECT_EQ(run(ExitCode::ioio), EmulError::none);
  EXPECT_EQ(regs.rip, kRip + 2);
}

TEST_F(VcTest, InEaxDxZeroExtends) {
  mem.put(kRip, {0xed});
  regs[Gpr::rdx] = 0xcf8;
  regs[Gpr::rax] = ~0ull;
  hv.reply = [](Page& g) {
    ghcb::IoioInfo io = ghcb::IoioInfo::decode(g.sw_exit_info1);
    EXPECT_EQ(io.port, 0xcf8);
    EXPECT_EQ(io.size, 4);
    EXPECT_TRUE(io.in);
    g.sw_exit_info1 = 0;
    g.set_rax(0xffffffff12345678ull);
  };
  EXPECT_EQ(run(ExitCode::ioio), EmulError::none);
  EXPECT_EQ(regs[Gpr::rax], 0x12345678u);
}

TEST_F(VcTest, InAlKeepsUpperBits) {
  mem.put(kRip, {0xec});
  regs[Gpr::rax] = 0x1111111111111111ull;
  hv.reply = [](Page& g) {
    g.sw_exit_info1 = 0;
    g.set_rax(0xab);
  };
  EXPECT_EQ(run(ExitCode::ioio), EmulError::none);
  EXPECT_EQ(regs[Gpr::rax], 0x11111111111111abull);
}

TEST_F(VcTest, RepOutswUsesTheScratchBuffer) {
  mem.put(kRip, {0x66, 0xf3, 0x6f});
  mem.put(kData, {1, 2, 3, 4, 5, 6});
  regs[Gpr::rsi] = kData;
  regs[Gpr::rcx] = 3;
  regs[Gpr::rdx] = 0x3f8;
  hv.reply = [this](Page& g) {
    ghcb::IoioInfo io = ghcb::IoioInfo::decode(g.sw_exit_info1);
    EXPECT_TRUE(io.string && io.rep && !io.in);
    EXPECT_EQ(io.size, 2);
    EXPECT_EQ(g.sw_exit_info2, 3u);
    EXPECT_EQ(g.sw_scratch, hv.ghcb_gpa() + offsetof(Page, shared_buffer));
    EXPECT_EQ(g.shared_buffer[0], 1);
    EXPECT_EQ(g.shared_buffer[5], 6);
    g.sw_exit_info1 = 0;
  };
  EXPECT_EQ(run(ExitCode::ioio), EmulError::none);
  EXPECT_EQ(regs[Gpr::rcx], 0u);
  EXPECT_EQ(regs[Gpr::rsi], kData + 6);
  EXPECT_EQ(regs.rip, kRip + 3);
  EXPECT_EQ(hv.exits, 1);
}

TEST_F(VcTest, RepInsbBackwardsWithDf) {
  mem.put(kRip, {0xf3, 0x6c});
  regs[Gpr::rdi] = kData + 2;
  regs[Gpr::rcx] = 3;
  regs.rflags = rflags::kDirection;
  hv.reply = [](Page& g) {
    EXPECT_TRUE(ghcb::IoioInfo::decode(g.sw_exit_info1).in);
    g.shared_buffer[0] = 0xa;
    g.shared_buffer[1] = 0xb;
    g.shared_buffer[2] = 0xc;
    g.sw_exit_info1 = 0;
  };
  EXPECT_EQ(run(ExitCode::ioio), EmulError::none);
  EXPECT_EQ(*mem.at(kData + 2), 0xa);
  EXPECT_EQ(*mem.at(kData + 1), 0xb);
  EXPECT_EQ(*mem.at(kData), 0xc);
  EXPECT_EQ(regs[Gpr::rdi], kData - 1);
}

TEST_F(VcTest, LongRepStringIoReExecutes) {
  mem.put(kRip, {0xf3, 0x6e});
  regs[Gpr::rsi] = kData;
  regs[Gpr::rcx] = 1000;
  hv.reply = ok;
  EXPECT_EQ(run(ExitCode::ioio), EmulError::none);
  EXPECT_EQ(regs.rip, kRip);  // 512-byte chunks: not done yet
  EXPECT_EQ(regs[Gpr::rcx], 1000u - 512u);
  EXPECT_EQ(run(ExitCode::ioio), EmulError::none);
  EXPECT_EQ(regs[Gpr::rcx], 0u);
  EXPECT_EQ(regs.rip, kRip + 2);
}

TEST_F(VcTest, MmioLoad) {
  mem.put(kRip, {0x8b, 0x03});
  regs[Gpr::rbx] = kMmio;
  regs[Gpr::rax] = ~0ull;
  hv.reply = [](Page& g) {
    EXPECT_EQ(g.sw_exit_code, static_cast<uint64_t>(ExitCode::mmio_read));
    EXPECT_EQ(g.sw_exit_info1, kMmio);
    EXPECT_EQ(g.sw_exit_info2, 4u);
    g.shared_buffer[0] = 0x14;
    g.shared_buffer[1] = 0x00;
    g.shared_buffer[2] = 0x05;
    g.shared_buffer[3] = 0x80;
    g.sw_exit_info1 = 0;
  };
  EXPECT_EQ(run(ExitCode::npf), EmulError::none);
  EXPECT_EQ(regs[Gpr::rax], 0x80050014u);
  EXPECT_EQ(regs.rip, kRip + 2);
}

TEST_F(VcTest, MmioStoreImmediate) {
  mem.put(kRip, {0xc7, 0x03, 0x78, 0x56, 0x34, 0x12});
  regs[Gpr::rbx] = kMmio;
  hv.reply = [](Page& g) {
    EXPECT_EQ(g.sw_exit_code, static_cast<uint64_t>(ExitCode::mmio_write));
    EXPECT_EQ(g.sw_exit_info2, 4u);
    EXPECT_EQ(g.shared_buffer[0], 0x78);
    EXPECT_EQ(g.shared_buffer[3], 0x12);
    g.sw_exit_info1 = 0;
  };
  EXPECT_EQ(run(ExitCode::npf), EmulError::none);
  EXPECT_EQ(regs.rip, kRip + 6);
}

TEST_F(VcTest, MmioMovsxAndMovzx) {
  hv.reply = [](Page& g) {
    g.shared_buffer[0] = 0x80;
    g.shared_buffer[1] = 0xff;
    g.sw_exit_info1 = 0;
  };
  mem.put(kRip, {0x0f, 0xbe, 0x03});  // movsbl (%rbx), %eax
  regs[Gpr::rbx] = kMmio;
  regs[Gpr::rax] = ~0ull;
  EXPECT_EQ(run(ExitCode::npf), EmulError::none);
  EXPECT_EQ(regs[Gpr::rax], 0xffffff80u);
  regs.rip = kRip;
  mem.put(kRip, {0x48, 0x0f, 0xb7, 0x0b});  // movzwq (%rbx), %rcx
  regs[Gpr::rcx] = ~0ull;
  EXPECT_EQ(run(ExitCode::npf), EmulError::none);
  EXPECT_EQ(regs[Gpr::rcx], 0xff80u);
}

TEST_F(VcTest, MovsFromMmioToRam) {
  mem.put(kRip, {0xa5});
  regs[Gpr::rsi] = kMmio;
  regs[Gpr::rdi] = kData;
  hv.reply = [](Page& g) {
    EXPECT_EQ(g.sw_exit_code, static_cast<uint64_t>(ExitCode::mmio_read));
    for (int i = 0; i < 4; ++i) g.shared_buffer[i] = static_cast<uint8_t>(0x10 + i);
    g.sw_exit_info1 = 0;
  };
  EXPECT_EQ(run(ExitCode::npf), EmulError::none);
  EXPECT_EQ(*mem.at(kData), 0x10);
  EXPECT_EQ(*mem.at(kData + 3), 0x13);
  EXPECT_EQ(regs[Gpr::rsi], kMmio + 4);
  EXPECT_EQ(regs[Gpr::rdi], kData + 4);
  EXPECT_EQ(hv.exits, 1);
}

TEST_F(VcTest, LockedMmioIsRefused) {
  mem.put(kRip, {0xf0, 0x01, 0x03});  // lock add %eax, (%rbx)
  regs[Gpr::rbx] = kMmio;
  EXPECT_NE(run(ExitCode::npf), EmulError::none);
  EXPECT_EQ(hv.exits, 0);
}

TEST_F(VcTest, MsrReadAndWrite) {
  mem.put(kRip, {0x0f, 0x32});
  regs[Gpr::rcx] = 0x1b;
  hv.reply = [](Page& g) {
    EXPECT_EQ(g.sw_exit_info1, ghcb::kMsrRead);
    EXPECT_EQ(g.rcx, 0x1bu);
    g.sw_exit_info1 = 0;
    g.set_rax(0xfee00900);
    g.set_rdx(0x1);
  };
  EXPECT_EQ(run(ExitCode::msr), EmulError::none);
  EXPECT_EQ(regs[Gpr::rax], 0xfee00900u);
  EXPECT_EQ(regs[Gpr::rdx], 1u);
  regs.rip = kRip;
  mem.put(kRip, {0x0f, 0x30});
  regs[Gpr::rax] = 0xffffffff00000005ull;
  regs[Gpr::rdx] = 6;
  hv.reply = [](Page& g) {
    EXPECT_EQ(g.sw_exit_info1, ghcb::kMsrWrite);
    EXPECT_EQ(g.rax, 5u);
    EXPECT_EQ(g.rdx, 6u);
    g.sw_exit_info1 = 0;
  };
  EXPECT_EQ(run(ExitCode::msr), EmulError::none);
}

TEST_F(VcTest, RdtscpAndDr7) {
  mem.put(kRip, {0x0f, 0x01, 0xf9});
  hv.reply = [](Page& g) {
    g.sw_exit_info1 = 0;
    g.set_rax(1);
    g.set_rdx(2);
    g.set_rcx(3);
  };
  EXPECT_EQ(run(ExitCode::rdtscp), EmulError::none);
  EXPECT_EQ(regs[Gpr::rcx], 3u);
  regs.rip = kRip;
  mem.put(kRip, {0x0f, 0x23, 0xf8});  // mov %rax, %dr7
  regs[Gpr::rax] = 0x401;
  hv.reply = [](Page& g) {
    EXPECT_EQ(g.sw_exit_code, static_cast<uint64_t>(ExitCode::dr7_write));
    EXPECT_EQ(g.rax, 0x401u);
    g.sw_exit_info1 = 0;
  };
  EXPECT_EQ(run(ExitCode::dr7_write), EmulError::none);
  EXPECT_EQ(regs.rip, kRip + 3);
}

TEST_F(VcTest, Failures) {
  mem.put(kRip, {0x0f, 0x01, 0xc8});  // monitor
  EXPECT_EQ(run(ExitCode::monitor), EmulError::unsupported_exit);
  mem.put(kRip, {0xee});
  EXPECT_EQ(run(ExitCode::cpuid), EmulError::wrong_instruction);
  regs.rip = 0x10;  // unmapped
  EXPECT_EQ(run(ExitCode::cpuid), EmulError::fetch_failed);
  EXPECT_EQ(hv.exits, 0);
}

}  // namespace
