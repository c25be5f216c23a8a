#include "cpu/xsave.h"

#include "cpu/processor.h"

namespace cpu::xsave {

bool leaf_present() { return cpuid(0).eax >= kCpuidLeaf; }

uint64_t supported_xcr0() {
  if (!leaf_present()) return 0;
  const CpuidResult r = cpuid(kCpuidLeaf, 0);
  return r.eax | uint64_t(r.edx) << 32;
}
uint32_t enabled_size() { return leaf_present() ? cpuid(kCpuidLeaf, 0).ebx : 0; }
uint32_t supported_size() { return leaf_present() ? cpuid(kCpuidLeaf, 0).ecx : 0; }
uint64_t supported_xss() {
  if (!leaf_present()) return 0;
  const CpuidResult r = cpuid(kCpuidLeaf, 1);
  return r.ecx | uint64_t(r.edx) << 32;
}
uint32_t compacted_size_xcr0_xss() { return leaf_present() ? cpuid(kCpuidLeaf, 1).ebx : 0; }

Component component_info(unsigned i) {
  if (!leaf_present() || i < 2 || i > 62) return {};
  const CpuidResult r = cpuid(kCpuidLeaf, i);
  return {r.eax, r.ebx, (r.ecx & 1) != 0, (r.ecx & 2) != 0};
}

// SDM vol.1 §13.4.3: the components of XCOMP_BV follow one another in
// order from byte 576, each rounded up to 64 bytes first when its
// sub-leaf's ECX[1] says so.
uint32_t compacted_offset(uint64_t xcomp, unsigned i) {
  if (i < 2 || i > 62 || !(xcomp & (1ull << i))) return 0;
  uint32_t at = kExtendedStart;
  for (unsigned j = 2; j <= i; ++j) {
    if (!(xcomp & (1ull << j))) continue;
    const Component c = component_info(j);
    if (c.align64) at = (at + 63) & ~63u;
    if (j == i) return at;
    at += c.size;
  }
  return 0;
}

uint64_t xgetbv(uint32_t index) {
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
  return lo | uint64_t(hi) << 32;
}

SafeResult<uint64_t> xgetbv_safe(uint32_t index) {
  register uint64_t ex asm("r11") = 0;
  uint32_t lo = 0, hi = 0;
  asm volatile("1: xgetbv\n2:\n" EX_TABLE_ENTRY("1b", "2b")
               : "+r"(ex), "+a"(lo), "=d"(hi)
               : "c"(index));
  return {lo | uint64_t(hi) << 32, ExInfo::from_raw(ex)};
}

const char* save_name(Save s) {
  switch (s) {
    case Save::xsave: return "XSAVE";
    case Save::xsaveopt: return "XSAVEOPT";
    case Save::xsavec: return "XSAVEC";
    case Save::xsaves: return "XSAVES";
  }
  return "?";
}

void save(Save s, void* area, uint64_t mask) {
  const uint32_t lo = uint32_t(mask), hi = uint32_t(mask >> 32);
  switch (s) {
    case Save::xsave:
      asm volatile("xsave64 (%0)" ::"r"(area), "a"(lo), "d"(hi) : "memory");
      break;
    case Save::xsaveopt:
      asm volatile("xsaveopt64 (%0)" ::"r"(area), "a"(lo), "d"(hi) : "memory");
      break;
    case Save::xsavec:
      asm volatile("xsavec64 (%0)" ::"r"(area), "a"(lo), "d"(hi) : "memory");
      break;
    case Save::xsaves:
      asm volatile("xsaves64 (%0)" ::"r"(area), "a"(lo), "d"(hi) : "memory");
      break;
  }
}

void xrstor(const void* area, uint64_t mask) {
  asm volatile("xrstor64 (%0)" ::"r"(area), "a"(uint32_t(mask)), "d"(uint32_t(mask >> 32))
               : "memory");
}
void xrstors(const void* area, uint64_t mask) {
  asm volatile("xrstors64 (%0)" ::"r"(area), "a"(uint32_t(mask)), "d"(uint32_t(mask >> 32))
               : "memory");
}

ScopedXsave::ScopedXsave() : cr4_(read_cr4()) {
  if (!(cr4_ & cr4::OSXSAVE)) write_cr4(cr4_ | cr4::OSXSAVE);
  xcr0_ = xgetbv(kXcr0);
}

ScopedXsave::~ScopedXsave() {
  if (!(read_cr4() & cr4::OSXSAVE)) write_cr4(read_cr4() | cr4::OSXSAVE);
  if (xgetbv(kXcr0) != xcr0_) (void)xsetbv_safe(kXcr0, xcr0_);
  write_cr4(cr4_);
}

}  // namespace cpu::xsave
