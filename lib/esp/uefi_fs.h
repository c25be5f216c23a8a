// The UEFI definitions the batch runner needs beyond lib/efi/efi.h: file
// access on its own volume, device paths to name a test image, and the
// real-time clock. From UEFI 2.10; layouts pinned like efi.h's.
#pragma once

#include <cstddef>
#include <cstdint>

#include "efi/efi.h"

namespace esp::uefi {

// UEFI 2.10 §10.2 (device path protocol), §13.4 (simple file system),
// §13.5.16 (EFI_FILE_INFO).
inline constexpr efi::Guid kDevicePathProtocolGuid{
    0x09576e91, 0x6d3f, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
inline constexpr efi::Guid kSimpleFileSystemProtocolGuid{
    0x964e5b22, 0x6459, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
inline constexpr efi::Guid kFileInfoGuid{
    0x09576e92, 0x6d3f, 0x11d2, {0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};

// UEFI 2.10 §8.3.1.
struct Time {
  uint16_t year;
  uint8_t month, day, hour, minute, second, pad1;
  uint32_t nanosecond;
  int16_t time_zone;
  uint8_t daylight, pad2;
};
static_assert(sizeof(Time) == 16);
using GetTimeFn = efi::Status(EFIAPI*)(Time*, void* capabilities);

// UEFI 2.10 §13.5.1; the revision-2 members (OpenEx, ...) are not used.
struct File {
  uint64_t revision;
  efi::Status(EFIAPI* open)(File*, File** out, const char16_t* name, uint64_t mode,
                            uint64_t attributes);
  efi::Status(EFIAPI* close)(File*);
  efi::Status(EFIAPI* remove)(File*);  // EFI_FILE_PROTOCOL.Delete()
  efi::Status(EFIAPI* read)(File*, uint64_t* size, void* buffer);
  efi::Status(EFIAPI* write)(File*, uint64_t* size, const void* buffer);
  efi::Status(EFIAPI* get_position)(File*, uint64_t* position);
  efi::Status(EFIAPI* set_position)(File*, uint64_t position);
  efi::Status(EFIAPI* get_info)(File*, const efi::Guid* type, uint64_t* size, void* buffer);
  efi::Status(EFIAPI* set_info)(File*, const efi::Guid* type, uint64_t size, const void* buffer);
  efi::Status(EFIAPI* flush)(File*);
};
static_assert(offsetof(File, flush) == 80);

inline constexpr uint64_t kFileModeRead = 0x1;
inline constexpr uint64_t kFileModeWrite = 0x2;
inline constexpr uint64_t kFileModeCreate = 0x8000000000000000ull;
inline constexpr uint64_t kFileDirectory = 0x10;
// SetPosition() to this moves to the end of the file (§13.5.11).
inline constexpr uint64_t kPositionEnd = ~0ull;

struct SimpleFileSystem {
  uint64_t revision;
  efi::Status(EFIAPI* open_volume)(SimpleFileSystem*, File** root);
};

struct FileInfo {
  uint64_t size;
  uint64_t file_size;
  uint64_t physical_size;
  Time create_time, last_access_time, modification_time;
  uint64_t attribute;
  // char16_t file_name[] follows.
};
static_assert(sizeof(FileInfo) == 80);

// UEFI 2.10 §10.3.1 (generic node), §10.3.5.4 (media file path node),
// end of hardware device path.
inline constexpr uint8_t kMediaDevicePath = 4, kMediaFilePathDp = 4;
inline constexpr uint8_t kEndDevicePath = 0x7f, kEndEntireDevicePath = 0xff;

}  // namespace esp::uefi
