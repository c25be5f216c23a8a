#include "cpu/decode.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <string>

#include "decode_cases.h"

namespace decode_cases {
void PrintTo(const Case& c, std::ostream* os) { *os << c.text << " [" << c.hex << "]"; }
}  // namespace decode_cases

namespace {

using decode_cases::Case;
using decode_cases::kCases;
using decode_cases::kNone;
using decode_cases::kRip;

class DecodeTable : public ::testing::TestWithParam<Case> {};

TEST_P(DecodeTable, Matches) {
  const Case& c = GetParam();
  uint8_t bytes[32];
  const unsigned n = decode_cases::parse_hex(c.hex, bytes, sizeof(bytes));
  x86::Insn in;
  const x86::Status st = x86::decode(bytes, n, &in);
  ASSERT_STREQ(x86::status_name(st), x86::status_name(c.status));
  if (st != x86::Status::ok) return;

  EXPECT_EQ(in.length, n) << "a row holds exactly one instruction";
  if (c.length >= 0) {
    EXPECT_EQ(in.length, c.length);
  }
  if (c.opcode >= 0) {
    const int op = in.map == x86::Map::map0f ? 0x0f00 | in.opcode : in.opcode;
    EXPECT_EQ(op, c.opcode);
  }
  EXPECT_EQ(static_cast<int>(in.kind), static_cast<int>(c.kind));
  if (c.opsize >= 0) {
    EXPECT_EQ(in.opsize, c.opsize);
  }
  if (c.addrsize >= 0) {
    EXPECT_EQ(in.addrsize, c.addrsize);
  }
  if (c.access >= 0) {
    EXPECT_EQ(in.access_size, c.access);
  }
  if (c.reg >= 0) {
    EXPECT_EQ(in.reg, c.reg);
  }
  if (c.rm >= 0) {
    EXPECT_EQ(in.rm, c.rm);
  }
  if (c.base != -1) {
    ASSERT_TRUE(in.has_mem);
    if (c.base == kRip) {
      EXPECT_TRUE(in.mem.rip_relative);
    } else {
      EXPECT_FALSE(in.mem.rip_relative);
      EXPECT_EQ(in.mem.base, c.base == kNone ? x86::MemOperand::kNoReg : c.base);
    }
    EXPECT_EQ(in.mem.index, c.index == kNone ? x86::MemOperand::kNoReg : c.index);
    if (c.index != kNone) {
      EXPECT_EQ(in.mem.scale, c.scale);
    }
    EXPECT_EQ(in.mem.disp, c.disp);
  }
  if (c.imm_size >= 0) {
    EXPECT_EQ(in.imm_size, c.imm_size);
    if (c.imm_size > 0) {
      EXPECT_EQ(in.imm, c.imm);
    }
  }
  if (c.imm2 >= 0) {
    EXPECT_EQ(in.imm2, static_cast<uint64_t>(c.imm2));
  }
  if (c.seg >= 0) {
    EXPECT_EQ(static_cast<int>(in.segment), c.seg);
  }
  if (c.rex >= 0) {
    EXPECT_EQ(in.rex, c.rex);
  }
  if (c.rep >= 0) {
    EXPECT_EQ(in.last_rep, c.rep);
  }
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return "row" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Encodings, DecodeTable, ::testing::ValuesIn(kCases), CaseName);

TEST(Decode, TableIsLarge) { EXPECT_GE(decode_cases::kNumCases, 80u); }

// Every proper prefix of a decodable row is `truncated`, never a shorter
// instruction and never a read past the buffer (ASan watches the heap copy).
TEST(Decode, EveryPrefixOfAnInstructionIsTruncated) {
  for (const Case& c : kCases) {
    if (c.status != x86::Status::ok) continue;
    uint8_t bytes[32];
    const unsigned n = decode_cases::parse_hex(c.hex, bytes, sizeof(bytes));
    for (unsigned k = 0; k < n; k++) {
      std::unique_ptr<uint8_t[]> exact(new uint8_t[k ? k : 1]);
      std::memcpy(exact.get(), bytes, k);
      x86::Insn in;
      EXPECT_EQ(x86::decode(exact.get(), k, &in), x86::Status::truncated) << c.text << " k=" << k;
      EXPECT_EQ(in.length, 0);
    }
  }
}

TEST(Decode, TrailingBytesAreNotConsumed) {
  const uint8_t bytes[] = {0x0f, 0xa2, 0x90, 0x90, 0x90};
  x86::Insn in;
  ASSERT_EQ(x86::decode(bytes, sizeof(bytes), &in), x86::Status::ok);
  EXPECT_EQ(in.length, 2);
}

TEST(Decode, ImmediateExtension) {
  x86::Insn in;
  const uint8_t out_imm[] = {0xe6, 0x80};  // port 0x80, not -128
  ASSERT_EQ(x86::decode(out_imm, sizeof(out_imm), &in), x86::Status::ok);
  EXPECT_EQ(in.imm_value(), 0x80u);
  const uint8_t add_imm[] = {0x48, 0x83, 0xc0, 0xff};  // add rax, -1
  ASSERT_EQ(x86::decode(add_imm, sizeof(add_imm), &in), x86::Status::ok);
  EXPECT_EQ(in.imm_value(), ~uint64_t{0});
  const uint8_t mov_imm[] = {0x48, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80};  // mov qword [rax], imm32
  ASSERT_EQ(x86::decode(mov_imm, sizeof(mov_imm), &in), x86::Status::ok);
  EXPECT_EQ(in.imm_value(), 0xffffffff80000000ull);
  const uint8_t ret_imm[] = {0xc2, 0x00, 0x80};
  ASSERT_EQ(x86::decode(ret_imm, sizeof(ret_imm), &in), x86::Status::ok);
  EXPECT_EQ(in.imm_value(), 0x8000u);
}

TEST(Decode, LockOnlyOnReadModifyWriteMemory) {
  x86::Insn in;
  const uint8_t lock_add_mem[] = {0xf0, 0x01, 0x00};
  EXPECT_EQ(x86::decode(lock_add_mem, 3, &in), x86::Status::ok);
  const uint8_t lock_add_reg[] = {0xf0, 0x01, 0xc0};
  EXPECT_EQ(x86::decode(lock_add_reg, 3, &in), x86::Status::invalid);
  const uint8_t lock_mov[] = {0xf0, 0x89, 0x00};
  EXPECT_EQ(x86::decode(lock_mov, 3, &in), x86::Status::invalid);
  const uint8_t lock_cmp[] = {0xf0, 0x39, 0x00};
  EXPECT_EQ(x86::decode(lock_cmp, 3, &in), x86::Status::invalid);
  const uint8_t lock_cmpxchg16b[] = {0xf0, 0x48, 0x0f, 0xc7, 0x08};
  EXPECT_EQ(x86::decode(lock_cmpxchg16b, 5, &in), x86::Status::ok);
  const uint8_t lock_mov_cr0[] = {0xf0, 0x0f, 0x20, 0xc0};  // AMD: CR8
  EXPECT_EQ(x86::decode(lock_mov_cr0, 4, &in), x86::Status::unsupported);
}

Regs sample_regs() {
  Regs r{};
  for (unsigned i = 0; i < kNumGprs; i++) r.gpr[i] = 0x1111111111111111ull * (i + 1) + i;
  r.rip = 0x401000;
  return r;
}

TEST(Regs, LayoutMatchesHardwareNumbering) {
  Regs r{};
  r[Gpr::rsp] = 42;
  EXPECT_EQ(r.gpr[4], 42u);
  EXPECT_EQ(regs_offset_of(Gpr::r15), 0x78u);
  EXPECT_EQ(kRegsOffRip, offsetof(Regs, rip));
}

TEST(RegAccess, HighByteRegistersWithoutRex) {
  Regs r{};
  r[Gpr::rax] = 0x1122334455667788ull;
  const x86::RegOperand ah = x86::reg_by_number(4, 1, false);
  EXPECT_TRUE(ah.high_byte);
  EXPECT_EQ(x86::read_reg(r, ah), 0x77u);
  x86::write_reg(r, ah, 0xab);
  EXPECT_EQ(r[Gpr::rax], 0x112233445566ab88ull);

  r[Gpr::rsp] = 0xffff;
  const x86::RegOperand spl = x86::reg_by_number(4, 1, true);
  EXPECT_FALSE(spl.high_byte);
  x86::write_reg(r, spl, 0x12);
  EXPECT_EQ(r[Gpr::rsp], 0xff12u);
}

TEST(RegAccess, WidthSemantics) {
  Regs r{};
  r[Gpr::r9] = ~uint64_t{0};
  x86::write_reg(r, x86::reg_by_number(9, 4, true), 0x12345678);
  EXPECT_EQ(r[Gpr::r9], 0x12345678u) << "32-bit writes zero-extend";
  r[Gpr::r9] = ~uint64_t{0};
  x86::write_reg(r, x86::reg_by_number(9, 2, true), 0x1234);
  EXPECT_EQ(r[Gpr::r9], 0xffffffffffff1234ull);
  x86::write_reg(r, x86::reg_by_number(9, 8, true), 5);
  EXPECT_EQ(x86::read_reg(r, x86::reg_by_number(9, 2, true)), 5u);
}

TEST(RegAccess, DecodedOperandsRoundTrip) {
  // mov [rax], bh: ModRM.reg 7 without REX names BH.
  const uint8_t bytes[] = {0x88, 0x38};
  x86::Insn in;
  ASSERT_EQ(x86::decode(bytes, sizeof(bytes), &in), x86::Status::ok);
  Regs r{};
  r[Gpr::rbx] = 0xbeef;
  EXPECT_EQ(x86::read_reg(r, in.reg_operand(in.access_size)), 0xbeu);
}

TEST(EffectiveAddress, BaseIndexScaleDisp) {
  const uint8_t bytes[] = {0x47, 0x8b, 0x4c, 0xac, 0x7f};  // mov r9d, [r12+r13*4+0x7f]
  x86::Insn in;
  ASSERT_EQ(x86::decode(bytes, sizeof(bytes), &in), x86::Status::ok);
  Regs r = sample_regs();
  EXPECT_EQ(x86::memory_address(in, r), r[Gpr::r12] + r[Gpr::r13] * 4 + 0x7f);
}

TEST(EffectiveAddress, RipRelativeIsFromNextInstruction) {
  const uint8_t bytes[] = {0x48, 0x8b, 0x0d, 0xf0, 0xff, 0xff, 0xff};  // mov rcx, [rip-0x10]
  x86::Insn in;
  ASSERT_EQ(x86::decode(bytes, sizeof(bytes), &in), x86::Status::ok);
  Regs r = sample_regs();
  EXPECT_EQ(x86::memory_address(in, r), r.rip + 7 - 0x10);
}

TEST(EffectiveAddress, AddressSizeWrapsBeforeSegmentBase) {
  const uint8_t bytes[] = {0x64, 0x67, 0x8b, 0x43, 0x10};  // mov eax, fs:[ebx+0x10]
  x86::Insn in;
  ASSERT_EQ(x86::decode(bytes, sizeof(bytes), &in), x86::Status::ok);
  Regs r{};
  r[Gpr::rbx] = 0x12fffffff8ull;
  EXPECT_EQ(x86::memory_address(in, r, {.fs = 0x10000, .gs = 0}), 0x8u + 0x10000);
}

TEST(EffectiveAddress, NoBaseNoIndex) {
  const uint8_t bytes[] = {0x65, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00};  // mov eax, gs:[0x28]
  x86::Insn in;
  ASSERT_EQ(x86::decode(bytes, sizeof(bytes), &in), x86::Status::ok);
  Regs r = sample_regs();
  EXPECT_EQ(x86::memory_address(in, r, {.fs = 0, .gs = 0x5000}), 0x5028u);
}

TEST(EffectiveAddress, MoffsAndStrings) {
  const uint8_t moffs[] = {0x67, 0xa1, 0x00, 0x10, 0x00, 0xfe};
  x86::Insn in;
  ASSERT_EQ(x86::decode(moffs, sizeof(moffs), &in), x86::Status::ok);
  Regs r = sample_regs();
  EXPECT_EQ(x86::moffs_address(in, r), 0xfe001000u);

  const uint8_t movs[] = {0x64, 0x67, 0xf3, 0xa4};  // rep movsb fs:[esi] -> es:[edi]
  ASSERT_EQ(x86::decode(movs, sizeof(movs), &in), x86::Status::ok);
  r[Gpr::rsi] = 0xaa00000010ull;
  r[Gpr::rdi] = 0xbb00000020ull;
  r[Gpr::rcx] = 0x100000003ull;
  EXPECT_EQ(x86::string_source_address(in, r, {.fs = 0x1000, .gs = 0}), 0x1010u);
  EXPECT_EQ(x86::string_dest_address(in, r), 0x20u) << "ES cannot be overridden";
  EXPECT_EQ(x86::rep_count(in, r), 3u);
}

}  // namespace
