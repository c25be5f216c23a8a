#include "efi/bootinfo.h"

namespace {
constinit BootInfo info = {};
}  // namespace

const BootInfo& boot_info() { return info; }
BootInfo& boot_info_mut() { return info; }
