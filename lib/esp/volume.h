// Files on the volume the runner was loaded from (its ESP), through the
// firmware's EFI_SIMPLE_FILE_SYSTEM_PROTOCOL. Boot services only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "efi/efi.h"
#include "esp/textbuf.h"
#include "esp/uefi_fs.h"

namespace esp {

class Volume {
 public:
  // Opens the volume of `device` (the runner's LoadedImage DeviceHandle).
  [[nodiscard]] efi::Status open(efi::BootServices* bs, efi::Handle device);
  // Reads a whole file into pool memory (NUL-terminated); *data == nullptr
  // on error. Free with bs->free_pool.
  [[nodiscard]] efi::Status read(const char* path, char** data, size_t* size);
  // Replaces the file with `data`.
  [[nodiscard]] efi::Status write(const char* path, Str data);
  // Appends to the file, creating it if needed, and flushes.
  [[nodiscard]] efi::Status append(const char* path, Str data);
  // Removes the file; success if it did not exist.
  efi::Status remove(const char* path);

 private:
  efi::Status open_file(const char* path, uint64_t mode, uint64_t attr, uefi::File** out);
  efi::BootServices* bs_ = nullptr;
  uefi::File* root_ = nullptr;
};

// ASCII path to UCS-2; false if it does not fit.
bool to_ucs2(Str s, char16_t* out, size_t capacity);

}  // namespace esp
