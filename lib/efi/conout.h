// Console output for EFI applications that stay in boot services (the
// fast-run loader, the ESP batch runner). Text goes through the firmware's
// ConOut, which OVMF and real firmware mirror to the screen and the serial
// console. Test images use lib/rt/console.h instead, after ExitBootServices.
#pragma once

#include <cstdarg>

#include "efi/efi.h"

namespace efi {

// Remembers the system table for con_printf; call first thing in efi_main.
void conout_init(SystemTable* st);
int con_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
int con_vprintf(const char* fmt, va_list ap);

}  // namespace efi
