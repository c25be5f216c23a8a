#include "fwcfg/format.h"

namespace fwcfg {

DmaAccess dma_read(uint64_t address, uint32_t length) {
  return {be32(DmaControl::read), be32(length), be64(address)};
}

DmaAccess dma_select_read(uint16_t selector, uint64_t address, uint32_t length) {
  uint32_t control = uint32_t(selector) << DmaControl::selector_shift | DmaControl::select |
                     DmaControl::read;
  return {be32(control), be32(length), be64(address)};
}

DmaState dma_state(const DmaAccess& d) {
  uint32_t control = be32(d.control_be);
  if (control & DmaControl::error) return DmaState::error;
  return control == 0 ? DmaState::done : DmaState::busy;
}

uint32_t dir_count(const uint8_t* header) {
  return uint32_t(header[0]) << 24 | uint32_t(header[1]) << 16 | uint32_t(header[2]) << 8 |
         header[3];
}

uint32_t dir_size(uint32_t count) {
  uint64_t bytes = kDirHeaderSize + uint64_t(count) * kDirEntrySize;
  return bytes > UINT32_MAX ? 0 : uint32_t(bytes);
}

namespace {

bool name_equals(const uint8_t* field, const char* name) {
  size_t i = 0;
  for (; i < kFileNameMax; ++i) {
    if (field[i] != static_cast<uint8_t>(name[i])) return false;
    if (name[i] == '\0') return true;
  }
  return name[i] == '\0';
}

}  // namespace

DirStatus find_file(const uint8_t* dir, size_t len, const char* name, File* out) {
  if (len < kDirHeaderSize) return DirStatus::truncated;
  uint32_t count = dir_count(dir);
  if ((len - kDirHeaderSize) / kDirEntrySize < count) return DirStatus::truncated;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = dir + kDirHeaderSize + size_t(i) * kDirEntrySize;
    if (!name_equals(e + 8, name)) continue;
    out->size = uint32_t(e[0]) << 24 | uint32_t(e[1]) << 16 | uint32_t(e[2]) << 8 | e[3];
    out->selector = uint16_t(e[4] << 8 | e[5]);
    return DirStatus::ok;
  }
  return DirStatus::not_found;
}

}  // namespace fwcfg
