// XSAVE state management (Intel SDM vol.1 ch.13, AMD APM vol.2 §11.5):
// XCR0's state components, CPUID leaf 0xD, XGETBV, and the XSAVE area's
// header.
//
// Contract:
//  - XGETBV and XSETBV need CR4.OSXSAVE (else #UD); the runtime leaves it as
//    the firmware handed it over, and a test that sets it clears it again.
//  - An XSAVE area is 64-byte aligned (else #GP); its legacy region is the
//    first 512 bytes (the FXSAVE layout), the 64-byte header follows.
#pragma once

#include <cstdint>

#include "cpu/processor.h"

namespace cpu {

// XCR0 / XSTATE_BV / IA32_XSS bits: the state components (SDM vol.1
// §13.1, table 13-1).
namespace xcr0 {
constexpr uint64_t X87 = 1ull << 0;
constexpr uint64_t SSE = 1ull << 1;
constexpr uint64_t AVX = 1ull << 2;       // the upper halves of YMM0-15
constexpr uint64_t BNDREGS = 1ull << 3;
constexpr uint64_t BNDCSR = 1ull << 4;
constexpr uint64_t OPMASK = 1ull << 5;    // AVX-512 k0-k7
constexpr uint64_t ZMM_HI256 = 1ull << 6;  // the upper halves of ZMM0-15
constexpr uint64_t HI16_ZMM = 1ull << 7;  // ZMM16-31
constexpr uint64_t AVX512 = OPMASK | ZMM_HI256 | HI16_ZMM;
constexpr uint64_t PKRU = 1ull << 9;
}  // namespace xcr0

// The header after the legacy region (SDM vol.1 §13.4.2).
constexpr unsigned kXsaveHeaderOffset = 512;
constexpr unsigned kXsaveAlign = 64;
struct XsaveHeader {
  uint64_t xstate_bv;
  uint64_t xcomp_bv;  // bit 63: the compacted format (XSAVEC, XSAVES)
  uint64_t reserved[6];
};
static_assert(sizeof(XsaveHeader) == 64);
constexpr uint64_t kXcompBvCompacted = 1ull << 63;

// CPUID leaf 0xD.
struct XsaveInfo {
  uint64_t supported_xcr0;  // sub-leaf 0, EDX:EAX
  uint32_t size_enabled;    // sub-leaf 0 EBX: the area for XCR0 as it is now
  uint32_t size_all;        // sub-leaf 0 ECX: for every supported component
  uint64_t supported_xss;   // sub-leaf 1, EDX:ECX
};
inline XsaveInfo xsave_info() {
  const CpuidResult s0 = cpuid(0xd, 0), s1 = cpuid(0xd, 1);
  return {uint64_t(s0.edx) << 32 | s0.eax, s0.ebx, s0.ecx, uint64_t(s1.edx) << 32 | s1.ecx};
}

// XGETBV: XCR0 for index 0, XINUSE for index 1 (where enumerated).
inline uint64_t xgetbv(uint32_t index) {
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
  return lo | uint64_t(hi) << 32;
}

// XCR0 as the CPU uses it now: x87 only when CR4.OSXSAVE is clear.
inline uint64_t current_xcr0() { return (read_cr4() & cr4::OSXSAVE) ? xgetbv(0) : xcr0::X87; }

}  // namespace cpu
