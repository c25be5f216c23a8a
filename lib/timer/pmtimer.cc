#include "timer/pmtimer.h"

#include "cpu/processor.h"

namespace timer::pm {
namespace {

constinit bool have = false;
constinit bool in_io = true;
constinit uint64_t addr = 0;
constinit uint32_t mask = 0xffffff;

}  // namespace

bool init(const acpi::PmTimer& t) {
  have = t.present && t.address != 0;
  // An I/O port address beyond 16 bits is a firmware bug, not a port.
  if (have && t.io && t.address > 0xffff) have = false;
  in_io = t.io;
  addr = t.address;
  mask = t.is_32bit ? 0xffffffffu : 0xffffffu;
  return have;
}

bool present() { return have; }
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
