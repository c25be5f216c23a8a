// QEMU's fw_cfg device on x86 I/O ports (guest only): selector 0x510
// (16-bit, little-endian), data 0x511 (byte-wise), DMA address 0x514
// (64-bit, big-endian; the write of the low half at 0x518 starts the
// transfer). DMA moves a whole file in one exit instead of one exit per
// byte, which matters for an image of a few hundred KiB under TCG.
//
// DMA writes guest-physical addresses, so buffers and descriptors must be
// identity-mapped and shared with the host: true in boot services on a
// plain VM; not under SEV/TDX, where the fast path is not used.
#pragma once

#include <cstdint>

#include "fwcfg/format.h"

namespace fwcfg {

enum class Status : uint8_t {
  ok,
  absent,     // no "QEMU" signature at item 0
  dma_error,  // the device set the error bit
  dma_timeout,  // the device never cleared the control word
};

const char* status_str(Status s);

class Device {
 public:
  // Checks the signature and reads the feature bits. DMA is used when the
  // device offers it and `allow_dma` is set.
  [[nodiscard]] Status probe(bool allow_dma = true);
  bool uses_dma() const { return dma_; }

  // Reads the first `len` bytes of an item into buf.
  [[nodiscard]] Status read(uint16_t selector, void* buf, uint32_t len);

 private:
  Status dma_transfer(DmaAccess* d);
  bool dma_ = false;
};

}  // namespace fwcfg
