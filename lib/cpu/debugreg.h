// The debug registers DR0-DR7 (Intel SDM vol.3B §18.2 "Debug Registers";
// AMD APM vol.2 §13.1.1 "Debug Registers").
//
// DR0-DR3 hold linear addresses; DR7 arms them, each with a condition
// (R/W) and a length (LEN); DR6 says which condition raised the #DB. DR4
// and DR5 are aliases of DR6 and DR7 while CR4.DE is clear and raise #UD
// while it is set (SDM §18.2.2). Every MOV to or from a DR needs CPL0 and,
// with DR7.GD set, raises #DB first (§18.2.4).
//
//   {
//     debugreg::ScopedBreakpoint bp(1, &var, debugreg::Rw::write, debugreg::Len::b4);
//     var = 1;  // #DB (trap) after the store, DR6.B1 set
//   }           // DR1 and its DR7 fields cleared, whatever happened inside
//
// The *_safe forms carry an exception-table entry, so a #UD, #GP or a #DB
// that no handler takes comes back as a value instead.
#pragma once

#include <cstdint>

#include "cpu/exceptions.h"

namespace debugreg {

constexpr unsigned kCount = 4;  // DR0-DR3

// DR6 (SDM §18.2.3, figure 18-1; APM figure 13-2). B0-B3, BD, BS and BT
// are set by the processor and never cleared by it (B0-B3 may be); BLD
// and RTM are active low. Bits 4-10 and 17-31 read as 1, bit 12 as 0.
namespace dr6 {
constexpr uint64_t kB0 = 1ull << 0;
constexpr uint64_t kB1 = 1ull << 1;
constexpr uint64_t kB2 = 1ull << 2;
constexpr uint64_t kB3 = 1ull << 3;
constexpr uint64_t kBreakpoints = kB0 | kB1 | kB2 | kB3;
constexpr uint64_t kBld = 1ull << 11;  // 0: bus lock detected; 1 where not enumerated
constexpr uint64_t kBd = 1ull << 13;   // the next instruction accesses a DR (DR7.GD)
constexpr uint64_t kBs = 1ull << 14;   // single step (RFLAGS.TF)
constexpr uint64_t kBt = 1ull << 15;   // task switch with the TSS T flag
constexpr uint64_t kRtm = 1ull << 16;  // 0: #DB in an RTM region; 1 where not enumerated
constexpr uint64_t kFixed1 = 0xfffe07f0;  // bits 4-10 and 17-31
// In 64-bit mode bits 63:32 must be written as 0 (SDM §18.2.6).
constexpr uint64_t kReservedHigh = 0xffffffff00000000ull;
// "No debug condition": every active-low bit 1, every status bit 0. The
// value the SDM asks a #DB handler to leave behind (§18.2.3), and DR6's
// value after reset (SDM vol.3A, the table of processor states following
// power-up, reset or INIT).
constexpr uint64_t kIdle = kFixed1 | kBld | kRtm;
static_assert(kIdle == 0xffff0ff0);
constexpr uint64_t b(unsigned n) { return kB0 << n; }
}  // namespace dr6

// DR7 (SDM §18.2.4, figure 18-1; APM figure 13-4). Bit 10 reads as 1,
// bits 12, 14 and 15 as 0.
namespace dr7 {
constexpr uint64_t kLe = 1ull << 8;
constexpr uint64_t kGe = 1ull << 9;
constexpr uint64_t kFixed1 = 1ull << 10;
constexpr uint64_t kRtm = 1ull << 11;  // with CPUID RTM and IA32_DEBUGCTL.RTM
constexpr uint64_t kGd = 1ull << 13;
constexpr uint64_t kReservedHigh = 0xffffffff00000000ull;
// The reset value (the same SDM table).
constexpr uint64_t kIdle = kFixed1;
constexpr uint64_t local(unsigned n) { return 1ull << (2 * n); }
constexpr uint64_t global(unsigned n) { return 2ull << (2 * n); }
constexpr unsigned rw_shift(unsigned n) { return 16 + 4 * n; }
constexpr unsigned len_shift(unsigned n) { return 18 + 4 * n; }
// Everything DR7 holds for breakpoint n: its enables, R/W and LEN.
constexpr uint64_t slot_mask(unsigned n) {
  return local(n) | global(n) | 3ull << rw_shift(n) | 3ull << len_shift(n);
}
}  // namespace dr7

// R/Wn: the condition (SDM §18.2.4). io needs CR4.DE; without it the
// encoding is undefined.
enum class Rw : uint8_t { exec = 0, write = 1, io = 2, read_write = 3 };
// LENn: the number of bytes watched. The address in DRn must be aligned
// to it: the processor ignores the low address bits, and the SDM gives an
// unaligned data breakpoint no defined result (§18.2.5). b8 is defined in
// 64-bit mode (and on AMD in long mode); an execute breakpoint must use b1.
enum class Len : uint8_t { b1 = 0, b2 = 1, b8 = 2, b4 = 3 };
constexpr unsigned len_bytes(Len l) {
  return l == Len::b1 ? 1 : l == Len::b2 ? 2 : l == Len::b4 ? 4 : 8;
}
constexpr const char* rw_name(Rw rw) {
  return rw == Rw::exec    ? "execute"
         : rw == Rw::write ? "write"
         : rw == Rw::io    ? "I/O"
                           : "read/write";
}

// The DR7 bits that arm breakpoint n (local enable) with rw and len.
constexpr uint64_t arm(unsigned n, Rw rw, Len len) {
  return dr7::local(n) | uint64_t(rw) << dr7::rw_shift(n) | uint64_t(len) << dr7::len_shift(n);
}

// MOV to and from DRn, n in 0-7 (4 and 5 are encoded as themselves, for
// the alias and #UD rules). Any other n is a programming error: ud2.
uint64_t read(unsigned n);
void write(unsigned n, uint64_t v);
SafeResult<uint64_t> read_safe(unsigned n);
ExInfo write_safe(unsigned n, uint64_t v);

// Arms breakpoint n at addr for its lifetime; on destruction clears DRn
// and every DR7 field of slot n, whether or not the breakpoint fired.
class ScopedBreakpoint {
 public:
  ScopedBreakpoint(unsigned n, const volatile void* addr, Rw rw, Len len);
  ~ScopedBreakpoint();
  ScopedBreakpoint(const ScopedBreakpoint&) = delete;
  ScopedBreakpoint& operator=(const ScopedBreakpoint&) = delete;

 private:
  unsigned n_;
};

}  // namespace debugreg
