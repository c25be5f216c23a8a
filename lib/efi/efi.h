// UEFI definitions used by the stub and the EFI applications.
//
// Our own declarations, taken from the UEFI 2.10 specification. Firmware
// calls use the Microsoft x64 calling convention (UEFI 2.10 §2.3.4.2), so
// every member function pointer carries `__attribute__((ms_abi))`; callers
// invoke them directly, no wrappers. Layouts are pinned with static_asserts
// against the offsets the spec implies for x86_64.
#pragma once

#include <cstddef>
#include <cstdint>

#define EFIAPI __attribute__((ms_abi))

namespace efi {

using Status = uint64_t;
using Handle = void*;
using Event = void*;
using Tpl = uint64_t;
using PhysicalAddress = uint64_t;

constexpr Status kErrorBit = 1ull << 63;
constexpr Status kSuccess = 0;
constexpr Status kLoadError = kErrorBit | 1;
constexpr Status kInvalidParameter = kErrorBit | 2;
constexpr Status kUnsupported = kErrorBit | 3;
constexpr Status kBufferTooSmall = kErrorBit | 5;
constexpr Status kNotReady = kErrorBit | 6;
constexpr Status kDeviceError = kErrorBit | 7;
constexpr Status kOutOfResources = kErrorBit | 9;
constexpr Status kNotFound = kErrorBit | 14;
constexpr Status kAccessDenied = kErrorBit | 15;
constexpr Status kSecurityViolation = kErrorBit | 26;
constexpr Status kAborted = kErrorBit | 21;

constexpr bool is_error(Status s) { return (s & kErrorBit) != 0; }

struct Guid {
  uint32_t data1;
  uint16_t data2;
  uint16_t data3;
  uint8_t data4[8];

  friend constexpr bool operator==(const Guid& a, const Guid& b) {
    if (a.data1 != b.data1 || a.data2 != b.data2 || a.data3 != b.data3) return false;
    for (int i = 0; i < 8; ++i)
      if (a.data4[i] != b.data4[i]) return false;
    return true;
  }
};
static_assert(sizeof(Guid) == 16);

// UEFI 2.10 §4.6: configuration table GUIDs.
constexpr Guid kAcpi20TableGuid{0x8868e871, 0xe4f1, 0x11d3, {0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81}};
constexpr Guid kAcpi10TableGuid{0xeb9d2d30, 0x2d88, 0x11d3, {0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d}};
constexpr Guid kSmbiosTableGuid{0xeb9d2d31, 0x2d88, 0x11d3, {0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d}};
constexpr Guid kSmbios3TableGuid{0xf2fd1544, 0x9794, 0x4a2c, {0x99, 0x2e, 0xe5, 0xbb, 0xcf, 0x20, 0xe3, 0x94}};
// UEFI 2.10 §9.1 and §12.9.
constexpr Guid kLoadedImageProtocolGuid{0x5b1b31a1, 0x9562, 0x11d2, {0x8e, 0x3f, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b}};
constexpr Guid kGraphicsOutputProtocolGuid{0x9042a9de, 0x23dc, 0x4a38, {0x96, 0xfb, 0x7a, 0xde, 0xd0, 0x80, 0x51, 0x6a}};
// UEFI 2.10 §8.2: the EFI global variable namespace.
constexpr Guid kGlobalVariableGuid{0x8be4df61, 0x93ca, 0x11d2, {0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}};

struct TableHeader {
  uint64_t signature;
  uint32_t revision;
  uint32_t header_size;
  uint32_t crc32;
  uint32_t reserved;
};
static_assert(sizeof(TableHeader) == 24);

// UEFI 2.10 §7.2: memory types.
enum class MemoryType : uint32_t {
  reserved = 0,
  loader_code = 1,
  loader_data = 2,
  boot_services_code = 3,
  boot_services_data = 4,
  runtime_services_code = 5,
  runtime_services_data = 6,
  conventional = 7,
  unusable = 8,
  acpi_reclaim = 9,
  acpi_nvs = 10,
  mmio = 11,
  mmio_port_space = 12,
  pal_code = 13,
  persistent = 14,
  unaccepted = 15,
};

// Memory attribute bits (UEFI 2.10 §7.2, GetMemoryMap()).
constexpr uint64_t kMemoryUc = 0x1;
constexpr uint64_t kMemoryWc = 0x2;
constexpr uint64_t kMemoryWt = 0x4;
constexpr uint64_t kMemoryWb = 0x8;
constexpr uint64_t kMemoryRuntime = 1ull << 63;

struct MemoryDescriptor {
  MemoryType type;
  uint32_t pad;
  PhysicalAddress physical_start;
  uint64_t virtual_start;
  uint64_t number_of_pages;
  uint64_t attribute;
};
static_assert(sizeof(MemoryDescriptor) == 40);
static_assert(offsetof(MemoryDescriptor, physical_start) == 8);
static_assert(offsetof(MemoryDescriptor, number_of_pages) == 24);

enum class AllocateType : uint32_t { any_pages = 0, max_address = 1, address = 2 };

enum class ResetType : uint32_t { cold = 0, warm = 1, shutdown = 2, platform_specific = 3 };

struct SimpleTextOutput {
  Status(EFIAPI* reset)(SimpleTextOutput*, bool);
  Status(EFIAPI* output_string)(SimpleTextOutput*, const char16_t*);
  Status(EFIAPI* test_string)(SimpleTextOutput*, const char16_t*);
  Status(EFIAPI* query_mode)(SimpleTextOutput*, uint64_t, uint64_t*, uint64_t*);
  Status(EFIAPI* set_mode)(SimpleTextOutput*, uint64_t);
  Status(EFIAPI* set_attribute)(SimpleTextOutput*, uint64_t);
  Status(EFIAPI* clear_screen)(SimpleTextOutput*);
  Status(EFIAPI* set_cursor_position)(SimpleTextOutput*, uint64_t, uint64_t);
  Status(EFIAPI* enable_cursor)(SimpleTextOutput*, bool);
  void* mode;
};

struct DevicePath {
  uint8_t type;
  uint8_t sub_type;
  uint8_t length[2];
};

struct BootServices {
  TableHeader hdr;
  Tpl(EFIAPI* raise_tpl)(Tpl);
  void(EFIAPI* restore_tpl)(Tpl);
  Status(EFIAPI* allocate_pages)(AllocateType, MemoryType, uint64_t pages, PhysicalAddress*);
  Status(EFIAPI* free_pages)(PhysicalAddress, uint64_t pages);
  Status(EFIAPI* get_memory_map)(uint64_t* map_size, MemoryDescriptor* map, uint64_t* map_key,
                                 uint64_t* descriptor_size, uint32_t* descriptor_version);
  Status(EFIAPI* allocate_pool)(MemoryType, uint64_t size, void** buffer);
  Status(EFIAPI* free_pool)(void*);
  Status(EFIAPI* create_event)(uint32_t type, Tpl, void(EFIAPI*)(Event, void*), void*, Event*);
  Status(EFIAPI* set_timer)(Event, uint32_t type, uint64_t trigger_time);
  Status(EFIAPI* wait_for_event)(uint64_t count, Event*, uint64_t* index);
  Status(EFIAPI* signal_event)(Event);
  Status(EFIAPI* close_event)(Event);
  Status(EFIAPI* check_event)(Event);
  void* install_protocol_interface;
  void* reinstall_protocol_interface;
  void* uninstall_protocol_interface;
  Status(EFIAPI* handle_protocol)(Handle, const Guid*, void**);
  void* reserved;
  void* register_protocol_notify;
  void* locate_handle;
  void* locate_device_path;
  void* install_configuration_table;
  Status(EFIAPI* load_image)(bool boot_policy, Handle parent, DevicePath*, void* source,
                             uint64_t source_size, Handle* image);
  Status(EFIAPI* start_image)(Handle, uint64_t* exit_data_size, char16_t** exit_data);
  Status(EFIAPI* exit)(Handle, Status, uint64_t exit_data_size, char16_t* exit_data);
  Status(EFIAPI* unload_image)(Handle);
  Status(EFIAPI* exit_boot_services)(Handle, uint64_t map_key);
  Status(EFIAPI* get_next_monotonic_count)(uint64_t*);
  Status(EFIAPI* stall)(uint64_t microseconds);
  Status(EFIAPI* set_watchdog_timer)(uint64_t timeout_s, uint64_t code, uint64_t data_size,
                                     char16_t* data);
  void* connect_controller;
  void* disconnect_controller;
  void* open_protocol;
  void* close_protocol;
  void* open_protocol_information;
  void* protocols_per_handle;
  Status(EFIAPI* locate_handle_buffer)(uint32_t search_type, const Guid*, void* key,
                                       uint64_t* count, Handle** buffer);
  Status(EFIAPI* locate_protocol)(const Guid*, void* registration, void** interface);
  void* install_multiple_protocol_interfaces;
  void* uninstall_multiple_protocol_interfaces;
  void* calculate_crc32;
  void* copy_mem;
  void* set_mem;
  void* create_event_ex;
};
static_assert(offsetof(BootServices, get_memory_map) == 0x38);
static_assert(offsetof(BootServices, exit_boot_services) == 0xe8);
static_assert(offsetof(BootServices, locate_protocol) == 0x140);
static_assert(sizeof(BootServices) == 0x178);

struct RuntimeServices {
  TableHeader hdr;
  void* get_time;
  void* set_time;
  void* get_wakeup_time;
  void* set_wakeup_time;
  Status(EFIAPI* set_virtual_address_map)(uint64_t, uint64_t, uint32_t, MemoryDescriptor*);
  void* convert_pointer;
  Status(EFIAPI* get_variable)(const char16_t* name, const Guid* vendor, uint32_t* attributes,
                               uint64_t* data_size, void* data);
  Status(EFIAPI* get_next_variable_name)(uint64_t* name_size, char16_t* name, Guid* vendor);
  Status(EFIAPI* set_variable)(const char16_t* name, const Guid* vendor, uint32_t attributes,
                               uint64_t data_size, const void* data);
  void* get_next_high_monotonic_count;
  void(EFIAPI* reset_system)(ResetType, Status, uint64_t data_size, const void* data);
  void* update_capsule;
  void* query_capsule_capabilities;
  void* query_variable_info;
};
static_assert(offsetof(RuntimeServices, reset_system) == 0x68);
static_assert(sizeof(RuntimeServices) == 0x88);

struct ConfigurationTable {
  Guid vendor_guid;
  void* vendor_table;
};
static_assert(sizeof(ConfigurationTable) == 24);

struct SystemTable {
  TableHeader hdr;
  char16_t* firmware_vendor;
  uint32_t firmware_revision;
  Handle console_in_handle;
  void* con_in;
  Handle console_out_handle;
  SimpleTextOutput* con_out;
  Handle standard_error_handle;
  SimpleTextOutput* std_err;
  RuntimeServices* runtime_services;
  BootServices* boot_services;
  uint64_t number_of_table_entries;
  ConfigurationTable* configuration_table;
};
static_assert(offsetof(SystemTable, con_out) == 64);
static_assert(offsetof(SystemTable, boot_services) == 96);
static_assert(sizeof(SystemTable) == 120);

// UEFI 2.10 §9.1.
struct LoadedImage {
  uint32_t revision;
  Handle parent_handle;
  SystemTable* system_table;
  Handle device_handle;
  DevicePath* file_path;
  void* reserved;
  uint32_t load_options_size;
  void* load_options;
  void* image_base;
  uint64_t image_size;
  MemoryType image_code_type;
  MemoryType image_data_type;
  Status(EFIAPI* unload)(Handle);
};
static_assert(offsetof(LoadedImage, load_options_size) == 48);
static_assert(offsetof(LoadedImage, image_base) == 64);
static_assert(sizeof(LoadedImage) == 96);

// UEFI 2.10 §12.9.
enum class PixelFormat : uint32_t { rgbx8 = 0, bgrx8 = 1, bitmask = 2, blt_only = 3 };

struct PixelBitmask {
  uint32_t red, green, blue, reserved;
};

struct GraphicsModeInfo {
  uint32_t version;
  uint32_t horizontal_resolution;
  uint32_t vertical_resolution;
  PixelFormat pixel_format;
  PixelBitmask pixel_information;
  uint32_t pixels_per_scan_line;
};
static_assert(sizeof(GraphicsModeInfo) == 36);

struct GraphicsMode {
  uint32_t max_mode;
  uint32_t mode;
  GraphicsModeInfo* info;
  uint64_t size_of_info;
  PhysicalAddress frame_buffer_base;
  uint64_t frame_buffer_size;
};
static_assert(sizeof(GraphicsMode) == 40);

struct GraphicsOutput {
  void* query_mode;
  void* set_mode;
  void* blt;
  GraphicsMode* mode;
};

// Variable attributes (UEFI 2.10 §8.2).
constexpr uint32_t kVariableNonVolatile = 0x1;
constexpr uint32_t kVariableBootserviceAccess = 0x2;
constexpr uint32_t kVariableRuntimeAccess = 0x4;

}  // namespace efi
