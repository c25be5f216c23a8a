// The general-purpose register file as the exception entry stubs save it.
//
// Contract with the interrupt entry assembly: the stubs build exactly this
// layout on the stack (or in a per-CPU save area) and hand a `Regs*` to the
// C++ handler. The #VC and #VE handlers emulate an instruction by reading and
// writing this struct, then the stub restores every field, so a handler's
// write to `rip`, `rflags` or a GPR is what the interrupted code resumes with.
//
// Layout (every field 8 bytes, no padding, offsets fixed by static_asserts):
//
//   0x00 rax   0x08 rcx   0x10 rdx   0x18 rbx
//   0x20 rsp   0x28 rbp   0x30 rsi   0x38 rdi
//   0x40 r8    0x48 r9    0x50 r10   0x58 r11
//   0x60 r12   0x68 r13   0x70 r14   0x78 r15
//   0x80 rip   0x88 rflags
//   0x90 cs    0x98 ss          (selector in the low 16 bits, rest zero)
//   size 0xa0
//
// The GPRs are in hardware register-number order (the 3-bit ModRM/SIB field
// extended by REX.R/X/B, Intel SDM vol.2 §2.1.5 table 2-2 and §2.2.1.2), so the
// decoder indexes them as `gpr[n]` without a translation table.
#pragma once

#include <cstddef>
#include <cstdint>

enum class Gpr : uint8_t {
  rax = 0, rcx = 1, rdx = 2, rbx = 3, rsp = 4, rbp = 5, rsi = 6, rdi = 7,
  r8 = 8, r9 = 9, r10 = 10, r11 = 11, r12 = 12, r13 = 13, r14 = 14, r15 = 15,
};

constexpr unsigned kNumGprs = 16;

struct Regs {
  uint64_t gpr[kNumGprs];
  uint64_t rip;
  uint64_t rflags;
  uint64_t cs;
  uint64_t ss;

  constexpr uint64_t& operator[](Gpr r) { return gpr[static_cast<unsigned>(r)]; }
  constexpr uint64_t operator[](Gpr r) const { return gpr[static_cast<unsigned>(r)]; }
};

static_assert(sizeof(Regs) == 0xa0);
static_assert(offsetof(Regs, gpr) == 0x00);
static_assert(offsetof(Regs, rip) == 0x80);
static_assert(offsetof(Regs, rflags) == 0x88);
static_assert(offsetof(Regs, cs) == 0x90);
static_assert(offsetof(Regs, ss) == 0x98);

// Byte offsets for the assembly stubs, which cannot use offsetof.
constexpr size_t regs_offset_of(Gpr r) { return static_cast<size_t>(r) * 8; }
constexpr size_t kRegsOffRip = 0x80;
constexpr size_t kRegsOffRflags = 0x88;
constexpr size_t kRegsOffCs = 0x90;
constexpr size_t kRegsOffSs = 0x98;
constexpr size_t kRegsSize = 0xa0;

// RFLAGS bits (Intel SDM vol.1 §3.4.3, vol.3 §2.3; AMD APM vol.2 §3.1.6).
namespace rflags {
constexpr uint64_t kCarry = 1ull << 0;
constexpr uint64_t kFixed1 = 1ull << 1;  // reads as 1
constexpr uint64_t kParity = 1ull << 2;
constexpr uint64_t kAdjust = 1ull << 4;
constexpr uint64_t kZero = 1ull << 6;
constexpr uint64_t kSign = 1ull << 7;
constexpr uint64_t kTrap = 1ull << 8;
constexpr uint64_t kInterrupt = 1ull << 9;
constexpr uint64_t kDirection = 1ull << 10;
constexpr uint64_t kOverflow = 1ull << 11;
constexpr uint64_t kIopl = 3ull << 12;
constexpr uint64_t kNested = 1ull << 14;
constexpr uint64_t kResume = 1ull << 16;
constexpr uint64_t kVirtual8086 = 1ull << 17;
constexpr uint64_t kAlignmentCheck = 1ull << 18;
constexpr uint64_t kId = 1ull << 21;
}  // namespace rflags
