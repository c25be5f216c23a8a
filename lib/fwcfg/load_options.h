// LoadOptions for a test image started by the fast-run loader, built so
// that the image sees exactly what a cold `-kernel` boot gives it.
//
// OVMF turns QEMU's -append text into LoadOptions by widening each byte to
// one UCS-2 unit and adding a NUL; LoadOptionsSize counts that NUL. Without
// -append (an empty command line) it sets no LoadOptions at all (size 0).
// The loader receives the same text through fw_cfg and must do the same, so
// bytes are widened as they are, not decoded as UTF-8.
#pragma once

#include <cstddef>

namespace fwcfg {

// UCS-2 units (NUL included) needed for text[0..len), which ends early at
// a NUL byte; 0 means "no LoadOptions".
size_t load_options_units(const char* text, size_t len);

// Writes the LoadOptions for text[0..len) to out[0..capacity) and returns
// LoadOptionsSize in bytes; 0 when there are none or they do not fit.
size_t build_load_options(const char* text, size_t len, char16_t* out, size_t capacity);

}  // namespace fwcfg
