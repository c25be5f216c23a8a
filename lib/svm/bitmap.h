// The intercept permission maps (AMD APM vol.2 §15.10.1, §15.11), portable.
//
// The IOPM is 12 KiB, one bit per I/O port: an access of N bytes at port P
// is intercepted when any bit P .. P+N-1 is set, and a multi-byte access at
// 0xffff reads bits in the third page, so the map is 3 pages, not 8 KiB.
// The MSRPM is 8 KiB: two bits per MSR (even bit read, odd bit write) for
// three ranges of 8192 MSRs each,
//   0x0000_0000 - 0x0000_1fff  at byte 0x0000,
//   0xc000_0000 - 0xc000_1fff  at byte 0x0800,
//   0xc001_0000 - 0xc001_1fff  at byte 0x1000,
// and every MSR outside them is always intercepted.
//
// Contract: the helpers only index and flip bits of a caller's buffer of
// the stated size; they never allocate.
#pragma once

#include <cstddef>
#include <cstdint>

namespace svm {

constexpr size_t kIopmSize = 3 * 4096;
constexpr size_t kMsrpmSize = 2 * 4096;

// One port's bit in the IOPM.
constexpr size_t iopm_byte(uint32_t port) { return port / 8; }
constexpr unsigned iopm_bit(uint32_t port) { return port % 8; }
void iopm_set(uint8_t* iopm, uint16_t port, bool intercept);
bool iopm_get(const uint8_t* iopm, uint16_t port);
// True when an access of `size` bytes (1, 2 or 4) at `port` is
// intercepted: any of its bytes' bits is set.
bool iopm_intercepts(const uint8_t* iopm, uint16_t port, unsigned size);

// Where an MSR's read bit lives (the write bit is the next one up).
struct MsrpmSlot {
  bool covered;  // false: outside the three ranges, always intercepted
  size_t byte;
  unsigned read_bit;  // 0, 2, 4 or 6
};
MsrpmSlot msrpm_slot(uint32_t msr);
// False (and nothing changed) for an MSR the map does not cover.
bool msrpm_set(uint8_t* msrpm, uint32_t msr, bool read, bool write);
// Whether RDMSR (write = false) or WRMSR of `msr` is intercepted.
bool msrpm_intercepts(const uint8_t* msrpm, uint32_t msr, bool write);

}  // namespace svm
