#include "svm/bitmap.h"

namespace svm {

void iopm_set(uint8_t* iopm, uint16_t port, bool intercept) {
  const uint8_t m = static_cast<uint8_t>(1u << iopm_bit(port));
  if (intercept)
    iopm[iopm_byte(port)] |= m;
  else
    iopm[iopm_byte(port)] &= static_cast<uint8_t>(~m);
}

bool iopm_get(const uint8_t* iopm, uint16_t port) {
  return iopm[iopm_byte(port)] >> iopm_bit(port) & 1;
}

bool iopm_intercepts(const uint8_t* iopm, uint16_t port, unsigned size) {
  // Port + size may pass 0xffff: those bits are in the map's third page.
  for (uint32_t p = port; p < uint32_t(port) + size; ++p)
    if (iopm[iopm_byte(p)] >> iopm_bit(p) & 1) return true;
  return false;
}

MsrpmSlot msrpm_slot(uint32_t msr) {
  struct Range {
    uint32_t first;
    size_t byte;
  };
  constexpr Range kRanges[] = {{0x00000000, 0x0000}, {0xc0000000, 0x0800}, {0xc0010000, 0x1000}};
  constexpr uint32_t kRangeMsrs = 0x2000;
  for (const Range& r : kRanges) {
    if (msr - r.first < kRangeMsrs) {
      const uint32_t bit = (msr - r.first) * 2;
      return {true, r.byte + bit / 8, bit % 8};
    }
  }
  return {false, 0, 0};
}

bool msrpm_set(uint8_t* msrpm, uint32_t msr, bool read, bool write) {
  const MsrpmSlot s = msrpm_slot(msr);
  if (!s.covered) return false;
  uint8_t v = static_cast<uint8_t>(msrpm[s.byte] & ~(3u << s.read_bit));
  v = static_cast<uint8_t>(v | (read ? 1u : 0u) << s.read_bit | (write ? 2u : 0u) << s.read_bit);
  msrpm[s.byte] = v;
  return true;
}

bool msrpm_intercepts(const uint8_t* msrpm, uint32_t msr, bool write) {
  const MsrpmSlot s = msrpm_slot(msr);
  if (!s.covered) return true;
  return msrpm[s.byte] >> (s.read_bit + (write ? 1 : 0)) & 1;
}

}  // namespace svm
