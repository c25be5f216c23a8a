// What a firmware leaves behind after the boot entry is done with it: an
// optional interface the entry provides. The EFI entry fills it from the
// runtime services table; a PVH start has no firmware and leaves
// BootInfo::firmware null. Callers test each member before use.
#pragma once

#include <cstddef>
#include <cstdint>

namespace boot {

enum class ResetKind : uint8_t { cold, warm, shutdown };

struct FirmwareServices {
  // Resets or powers off through the firmware. Returns only on failure.
  void (*reset)(ResetKind kind);
  // Writes a firmware variable (UEFI SetVariable semantics: name is
  // UCS-2, vendor a 16-byte GUID in its in-memory layout). Returns 0 on
  // success, else the firmware's status code.
  uint64_t (*set_variable)(const char16_t* name, const void* vendor, uint32_t attributes,
                           size_t size, const void* data);
};

}  // namespace boot
