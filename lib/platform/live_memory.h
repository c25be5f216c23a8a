// GuestMemory (platform/emulate.h) over the live page tables, for the
// #VC/#VE handlers in the guest.
//
// The walk reads the tables CR3 points to through the identity map and
// takes no lock: it runs inside exception handlers that may have
// interrupted a page-table edit. A mapping is "shared" when its C-bit is
// clear (SEV) or its shared bit set (TDX), as lib/platform/detect.h's masks
// say. Only supervisor-visible identity-mapped memory is expected; FS and GS
// bases are taken as 0 (the framework never sets them).
#pragma once

#include "platform/emulate.h"

namespace platform {

class LiveMemory : public GuestMemory {
 public:
  bool read(uint64_t la, void* dst, size_t n) override;
  bool write(uint64_t la, const void* src, size_t n) override;
  bool translate(uint64_t la, uint64_t* gpa, bool* shared) override;

 protected:
  ~LiveMemory() = default;
};

}  // namespace platform
