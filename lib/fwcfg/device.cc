#include "fwcfg/device.h"

#include <cstdint>

#include "cpu/processor.h"

namespace fwcfg {
namespace {

constexpr uint16_t kSelectorPort = 0x510;
constexpr uint16_t kDataPort = 0x511;
constexpr uint16_t kDmaHighPort = 0x514;
constexpr uint16_t kDmaLowPort = 0x518;
// QEMU completes a transfer before the port write that starts it returns
// (docs/specs/fw_cfg.rst allows it to be asynchronous). This runs under
// boot services with no calibrated clock, so the bound is a count of
// polls: far beyond any device that still works, and well under a second.
constexpr uint32_t kDmaMaxPolls = 1u << 24;

void port_read(uint16_t selector, uint8_t* buf, uint32_t len) {
  cpu::outw(kSelectorPort, selector);
  for (uint32_t i = 0; i < len; ++i) buf[i] = cpu::inb(kDataPort);
}

}  // namespace

const char* status_str(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::absent: return "no fw_cfg device (signature \"QEMU\" missing)";
    case Status::dma_error: return "fw_cfg DMA transfer failed";
    case Status::dma_timeout: return "fw_cfg DMA transfer did not complete";
  }
  return "?";
}

Status Device::probe(bool allow_dma) {
  uint8_t sig[4];
  port_read(static_cast<uint16_t>(Item::signature), sig, sizeof sig);
  if (sig[0] != 'Q' || sig[1] != 'E' || sig[2] != 'M' || sig[3] != 'U') return Status::absent;
  uint8_t id[4];
  port_read(static_cast<uint16_t>(Item::id), id, sizeof id);
  uint32_t features = id[0] | uint32_t(id[1]) << 8 | uint32_t(id[2]) << 16 | uint32_t(id[3]) << 24;
  dma_ = allow_dma && (features & kFeatureDma);
  return Status::ok;
}

Status Device::dma_transfer(DmaAccess* d) {
  // The device reads the descriptor and the buffer from guest memory and
  // writes both back; the compiler must neither sink stores past the port
  // write nor cache loads across it.
  uint64_t addr = reinterpret_cast<uintptr_t>(d);
  asm volatile("" ::: "memory");
  cpu::outl(kDmaHighPort, be32(uint32_t(addr >> 32)));
  cpu::outl(kDmaLowPort, be32(uint32_t(addr)));
  for (uint32_t polls = 0; polls < kDmaMaxPolls; ++polls) {
    uint32_t control_be = *static_cast<volatile uint32_t*>(&d->control_be);
    DmaState s = dma_state(DmaAccess{control_be, 0, 0});
    if (s != DmaState::busy) {
      asm volatile("" ::: "memory");
      return s == DmaState::done ? Status::ok : Status::dma_error;
    }
    cpu::pause();
  }
  return Status::dma_timeout;
}

Status Device::read(uint16_t selector, void* buf, uint32_t len) {
  if (!dma_) {
    port_read(selector, static_cast<uint8_t*>(buf), len);
    return Status::ok;
  }
  DmaAccess d = dma_select_read(selector, reinterpret_cast<uintptr_t>(buf), len);
  return dma_transfer(&d);
}

}  // namespace fwcfg
