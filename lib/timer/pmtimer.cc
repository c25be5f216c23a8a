#include "timer/pmtimer.h"

#include "cpu/processor.h"

namespace timer::pm {
namespace {

constinit bool have = false;
constinit bool in_io = true;
constinit uint64_t addr = 0;
constinit uint32_t mask = 0xffffff;
constinit const char* why_absent = "no usable FADT";

}  // namespace

bool init(const acpi::PmTimer& t) {
  have = false;
  if (!t.present || t.address == 0) {
    why_absent = "the FADT names no PM timer block";
    return false;
  }
  // An I/O port address beyond 16 bits is a firmware bug, not a port; the
  // boot page tables map the device hole below 4 GiB, not MMIO above it.
  if (t.io && t.address > 0xffff) {
    why_absent = "the FADT gives an I/O port beyond 0xffff";
    return false;
  }
  if (!t.io && (t.address >= (1ull << 32) || (t.address & 3))) {
    why_absent = "the FADT gives a misaligned or unmapped MMIO address";
    return false;
  }
  have = true;
  why_absent = nullptr;
  in_io = t.io;
  addr = t.address;
  mask = t.is_32bit ? 0xffffffffu : 0xffffffu;
  return have;
}

bool present() { return have; }
const char* absent_reason() { return why_absent; }
unsigned bits() { return mask == 0xffffffffu ? 32 : 24; }
bool io() { return in_io; }
uint64_t address() { return addr; }

uint32_t read() {
  if (!have) return 0;
  // The register is 32 bits wide whatever the counter's width (§4.8.3.3).
  if (in_io) return cpu::inl(static_cast<uint16_t>(addr)) & mask;
  return *reinterpret_cast<const volatile uint32_t*>(addr) & mask;
}

}  // namespace timer::pm
