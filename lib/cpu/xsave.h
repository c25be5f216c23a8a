// The XSAVE feature set: state-component bits, the XSAVE area's layout,
// CPUID leaf 0DH and the instructions (Intel SDM vol.1 ch.13, vol.2
// XSAVE/XRSTOR/XSAVEOPT/XSAVEC/XSAVES/XRSTORS/XGETBV/XSETBV; AMD APM
// vol.2 §11.5 "XSAVE/XRSTOR Instructions").
//
// Every instruction here needs CR4.OSXSAVE (else #UD); ScopedXsave sets it
// for a scope and puts CR4 and XCR0 back. The save and restore wrappers
// fault like the instructions do; run them inside catch_fault to see it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/exceptions.h"
#include "cpu/processor.h"

namespace cpu::xsave {

// State components, as bits of XCR0, XSTATE_BV, XCOMP_BV and the
// instruction mask (SDM vol.1 §13.1).
namespace component {
constexpr uint64_t X87 = 1ull << 0;
constexpr uint64_t SSE = 1ull << 1;
constexpr uint64_t AVX = 1ull << 2;
constexpr uint64_t BNDREGS = 1ull << 3;
constexpr uint64_t BNDCSR = 1ull << 4;
constexpr uint64_t OPMASK = 1ull << 5;
constexpr uint64_t ZMM_HI256 = 1ull << 6;
constexpr uint64_t HI16_ZMM = 1ull << 7;
constexpr uint64_t PKRU = 1ull << 9;
constexpr uint64_t MPX = BNDREGS | BNDCSR;
constexpr uint64_t AVX512 = OPMASK | ZMM_HI256 | HI16_ZMM;
}  // namespace component

// XCOMP_BV[63]: the area is in the compacted format (SDM vol.1 §13.4.2).
constexpr uint64_t kXcompBvCompacted = 1ull << 63;
constexpr uint32_t kCpuidLeaf = 0xd;
// XGETBV's ECX: XCR0, and XINUSE & XCR0 where XGETBV1 is enumerated.
constexpr uint32_t kXcr0 = 0, kXinuse = 1;
// MXCSR after RESET and the x87 control word after FNINIT (SDM vol.1
// §13.6, "initial configuration").
constexpr uint32_t kMxcsrInit = 0x1f80;
constexpr uint16_t kFcwInit = 0x037f;

// The legacy region and the header: the first 576 bytes of every XSAVE
// area (SDM vol.1 §13.4.1, table 13-1; §13.4.2).
struct LegacyRegion {
  uint16_t fcw;
  uint16_t fsw;
  uint8_t ftw;  // abridged: one bit per register, 1 = valid
  uint8_t reserved0;
  uint16_t fop;
  uint64_t fip;
  uint64_t fdp;
  uint32_t mxcsr;
  uint32_t mxcsr_mask;
  uint8_t st[8][16];  // ST(i): 10 bytes, then 6 reserved
  uint8_t xmm[16][16];
  uint8_t reserved[96];
};
struct Header {
  uint64_t xstate_bv;
  uint64_t xcomp_bv;
  uint64_t reserved[6];
};
struct alignas(64) AreaStart {
  LegacyRegion legacy;
  Header header;
};
static_assert(offsetof(LegacyRegion, mxcsr) == 24);
static_assert(offsetof(LegacyRegion, st) == 32);
static_assert(offsetof(LegacyRegion, xmm) == 160);
static_assert(sizeof(LegacyRegion) == 512);
static_assert(offsetof(AreaStart, header) == 512);
constexpr uint32_t kExtendedStart = sizeof(AreaStart);  // 576
static_assert(kExtendedStart == 576);

// Sizes that follow from the registers each component holds (SDM vol.1
// §13.5): the upper 128 bits of 16 YMM registers, 8 opmask registers, the
// upper 256 bits of ZMM0-15, and ZMM16-31.
constexpr uint32_t kAvxBytes = 16 * 16;
constexpr uint32_t kOpmaskBytes = 8 * 8;
constexpr uint32_t kZmmHi256Bytes = 16 * 32;
constexpr uint32_t kHi16ZmmBytes = 16 * 64;
// Where each register sits inside its AVX-512 component (SDM vol.1
// §13.5.5): k_i at byte 8i of opmask state, bits 511:256 of ZMMi
// (i < 16) at byte 32i of ZMM_Hi256 state, ZMM(16+i) at byte 64i of
// Hi16_ZMM state.
constexpr uint32_t kOpmaskSlot = 8, kZmmHi256Slot = 32, kHi16ZmmSlot = 64;
// The opmask registers are 64 bits wide, but only with AVX512BW are there
// instructions that reach bits 63:16 (KMOVQ, KMOVD); AVX512F alone has
// KMOVW, which zeroes them on a load (SDM vol.2 "KMOVW/KMOVB/KMOVQ/KMOVD").
constexpr CpuidBit kAvx512bw{7, 0, CpuidReg::ebx, 30, "CPUID.(EAX=7,ECX=0):EBX[bit 30] AVX512BW"};

// CPUID leaf 0DH (SDM vol.2A CPUID, "Processor Extended State Enumeration").
// All of these return 0 when the leaf is above the maximum basic leaf.
bool leaf_present();
uint64_t supported_xcr0();   // sub-leaf 0, EDX:EAX
uint32_t enabled_size();     // sub-leaf 0, EBX: the area for today's XCR0
uint32_t supported_size();   // sub-leaf 0, ECX: the area for every supported bit
uint64_t supported_xss();    // sub-leaf 1, EDX:ECX
uint32_t compacted_size_xcr0_xss();  // sub-leaf 1, EBX
struct Component {
  uint32_t size;     // EAX
  uint32_t offset;   // EBX: in the standard format; 0 for supervisor
  bool supervisor;   // ECX[0]: an IA32_XSS bit, not an XCR0 bit
  bool align64;      // ECX[1]: 64-byte aligned in the compacted format
};
Component component_info(unsigned i);  // sub-leaf i >= 2
// Where component i (i >= 2) sits in a compacted area whose XCOMP_BV is
// `xcomp` (SDM vol.1 §13.4.3); 0 if it is not in there.
uint32_t compacted_offset(uint64_t xcomp, unsigned i);

uint64_t xgetbv(uint32_t index);
SafeResult<uint64_t> xgetbv_safe(uint32_t index);
// XCR0 as the CPU uses it now: x87 only while CR4.OSXSAVE is clear.
inline uint64_t current_xcr0() {
  return (read_cr4() & cr4::OSXSAVE) ? xgetbv(kXcr0) : component::X87;
}

// The save instructions and the restores, 64-bit forms (REX.W), with the
// instruction mask in EDX:EAX.
enum class Save : uint8_t { xsave, xsaveopt, xsavec, xsaves };
const char* save_name(Save s);
void save(Save s, void* area, uint64_t mask);
void xrstor(const void* area, uint64_t mask);
void xrstors(const void* area, uint64_t mask);

// Sets CR4.OSXSAVE for its lifetime (the CPU must enumerate XSAVE); the
// destructor writes back the XCR0 found at construction, then CR4.
class ScopedXsave {
 public:
  ScopedXsave();
  ~ScopedXsave();
  ScopedXsave(const ScopedXsave&) = delete;
  ScopedXsave& operator=(const ScopedXsave&) = delete;
  uint64_t saved_xcr0() const { return xcr0_; }

 private:
  uint64_t cr4_;
  uint64_t xcr0_;
};

}  // namespace cpu::xsave
