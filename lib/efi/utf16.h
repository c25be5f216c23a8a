// UEFI's UTF-16 strings as UTF-8, for the LoadOptions the UEFI entry turns
// into argv (lib/boot/cmdline.h has the rules of every entry).
//
// UTF-16 code units are read byte by byte, little-endian: LoadOptions
// carries no alignment guarantee (UEFI 2.10 §9.1 types it as VOID*), and an
// odd trailing byte is not a unit at all. Surrogate pairs become 4-byte
// UTF-8; a lone surrogate becomes U+FFFD. The text ends at the first NUL
// unit or at `size_bytes`.
#pragma once

#include <cstddef>

namespace efi {

// Writes the UTF-8 text and a NUL into out[0..out_size) and its length
// without the NUL into *len. False when it does not fit; out then holds
// an empty string (when out_size > 0) and *len is 0. `data` may be null
// when size_bytes is 0.
[[nodiscard]] bool utf16_to_utf8(const void* data, size_t size_bytes, char* out, size_t out_size,
                                 size_t* len);

}  // namespace efi
