// Wire formats of QEMU's firmware configuration device (fw_cfg), as given in
// QEMU's docs/specs/fw_cfg.rst. Portable: no port I/O here, so the host
// unit tests cover the directory lookup and the DMA descriptor encoding.
//
// Everything fw_cfg defines as multi-byte is big-endian: the directory
// count and entries, and all three fields of a DMA access descriptor. Only
// the selector register (port 0x510) is little-endian on x86.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fwcfg {

// Well-known items (fw_cfg.rst, "Firmware Configuration Items").
enum class Item : uint16_t {
  signature = 0x00,  // "QEMU"
  id = 0x01,         // feature bitmap, little-endian u32
  file_dir = 0x19,   // be32 count, then `count` directory entries
};

// FW_CFG_ID feature bits.
constexpr uint32_t kFeatureTraditional = 1u << 0;
constexpr uint32_t kFeatureDma = 1u << 1;

// Reading the DMA address register (port 0x514, 8 bytes, big-endian) gives
// this value when the DMA interface exists.
constexpr uint64_t kDmaSignature = 0x51454d5520434647ull;  // "QEMU CFG"

// Control field of a DMA access descriptor. The device clears every bit but
// `error` when the transfer is done.
struct DmaControl {
  static constexpr uint32_t error = 0x01;
  static constexpr uint32_t read = 0x02;
  static constexpr uint32_t skip = 0x04;
  static constexpr uint32_t select = 0x08;
  static constexpr uint32_t write = 0x10;
  static constexpr unsigned selector_shift = 16;  // with `select`
};

// The descriptor the guest places in memory; its physical address goes to
// the DMA address register. All fields big-endian.
struct DmaAccess {
  uint32_t control_be;
  uint32_t length_be;
  uint64_t address_be;
};
static_assert(sizeof(DmaAccess) == 16);

constexpr uint16_t be16(uint16_t v) { return __builtin_bswap16(v); }
constexpr uint32_t be32(uint32_t v) { return __builtin_bswap32(v); }
constexpr uint64_t be64(uint64_t v) { return __builtin_bswap64(v); }

// A read of `length` bytes into guest-physical `address`; with `select`,
// the item is selected first (offset 0), otherwise the read continues at
// the current offset of the current item.
DmaAccess dma_read(uint64_t address, uint32_t length);
DmaAccess dma_select_read(uint16_t selector, uint64_t address, uint32_t length);

// Decodes the control field the device wrote back.
enum class DmaState : uint8_t { busy, done, error };
DmaState dma_state(const DmaAccess& d);

// One entry of the file directory: be32 size, be16 select, be16 reserved,
// char name[56] (NUL-terminated).
constexpr size_t kDirHeaderSize = 4;
constexpr size_t kDirEntrySize = 64;
constexpr size_t kFileNameMax = 56;

struct File {
  uint32_t size;
  uint16_t selector;
};

enum class DirStatus : uint8_t {
  ok,
  not_found,
  truncated,  // the count promises more entries than the buffer holds
};

// The number of entries the directory header announces (first 4 bytes).
uint32_t dir_count(const uint8_t* header);

// Bytes a directory of `count` entries takes, header included; 0 when that
// does not fit in 32 bits.
uint32_t dir_size(uint32_t count);

// Looks `name` up in a directory read whole (header and entries) into
// dir[0..len). A name in an entry without a terminating NUL is compared
// over all 56 bytes.
DirStatus find_file(const uint8_t* dir, size_t len, const char* name, File* out);

}  // namespace fwcfg
