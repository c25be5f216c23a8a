// Boot phase 2 for every image, tests and EFI applications alike.
#include "efi/efi.h"
#include "elf/reloc.h"

// Phase 2, called from _start before anything is relocated: only
// PC-relative code and data here, and the firmware's own pointers.
extern "C" efi::Status stub_relocate(uintptr_t base, const elf::Dyn* dynamic,
                                     efi::SystemTable* st) {
  elf::RelocResult r = elf::apply_relocations(base, dynamic);
  if (r.status == elf::RelocStatus::ok) return efi::kSuccess;
  // Hand-formatted: the formatter is not known to be relocation-free.
  char16_t msg[] = u"image relocation failed: status 0, type 0x00000000, offset 0x0000000000000000\r\n";
  auto hex = [](char16_t* at, uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i, v >>= 4)
      at[i] = static_cast<char16_t>((v & 15) < 10 ? u'0' + (v & 15) : u'a' + (v & 15) - 10);
  };
  msg[32] = static_cast<char16_t>(u'0' + static_cast<unsigned>(r.status));
  hex(msg + 42, r.bad_type, 8);
  hex(msg + 61, r.bad_offset, 16);
  st->con_out->output_string(st->con_out, msg);
  return efi::kLoadError;
}

