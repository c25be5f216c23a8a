// The UEFI runtime services as the entry's boot::FirmwareServices. The stub
// never calls SetVirtualAddressMap, so they stay callable in physical mode
// after ExitBootServices.
#pragma once

#include "boot/services.h"
#include "efi/efi.h"

namespace efi {

// Phase 3: keeps `rt` for the adapter and returns the interface.
const boot::FirmwareServices* runtime_services_adapter(RuntimeServices* rt);

}  // namespace efi
