#include "boot/bootinfo.h"

#include "boot/entry.h"
#include "rt/exit.h"

namespace {
constinit BootInfo info = {};
constinit bool is_sealed = false;

// Phase 5 and 6 run on this stack; whatever stack an entry came on belongs
// to its firmware or start code.
constexpr size_t kBootStackSize = 64 * 1024;
alignas(16) constinit uint8_t boot_stack[kBootStackSize] = {};
}  // namespace

const BootInfo& boot_info() { return info; }

namespace boot {

BootInfo& entry_info() {
  if (is_sealed) platform_exit(Verdict::error);
  return info;
}

void seal() { is_sealed = true; }
bool sealed() { return is_sealed; }

uint64_t boot_stack_bottom() { return reinterpret_cast<uint64_t>(boot_stack); }
uint64_t boot_stack_top() { return reinterpret_cast<uint64_t>(boot_stack + kBootStackSize); }

const char* entry_str(Entry e) {
  switch (e) {
    case Entry::efi: return "efi";
    case Entry::pvh: return "pvh";
  }
  return "?";
}

}  // namespace boot
