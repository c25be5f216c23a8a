// The PE/COFF image model that petool and the host program share: parsing
// the headers and section table of a PE32+ image, the header checksum, and
// writing an image back. Layouts from the Microsoft PE/COFF specification
// (§3 COFF file header, §3.4 optional header, §4 section table).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pe {

constexpr uint16_t kPe32PlusMagic = 0x20b;
constexpr uint16_t kSubsystemEfiApplication = 10;
constexpr uint16_t kSubsystemEfiBootServiceDriver = 11;
constexpr uint16_t kDllNxCompat = 0x100;
constexpr uint32_t kScnUninitializedData = 0x80;
constexpr uint32_t kScnMemExecute = 0x20000000;
constexpr uint32_t kScnMemWrite = 0x80000000;
constexpr unsigned kBaseRelocDirectory = 5;

// Offsets inside the PE32+ optional header.
constexpr size_t kOptSectionAlignment = 32;
constexpr size_t kOptFileAlignment = 36;
constexpr size_t kOptSizeOfImage = 56;
constexpr size_t kOptCheckSum = 64;
constexpr size_t kOptSubsystem = 68;
constexpr size_t kOptDllCharacteristics = 70;
constexpr size_t kOptNumberOfRvaAndSizes = 108;
constexpr size_t kOptDataDirectories = 112;

struct Section {
  std::string name;
  uint32_t virtual_size, virtual_address, raw_size, raw_offset, characteristics;
};

struct Image {
  std::vector<uint8_t> bytes;
  size_t opt = 0;  // offset of the optional header
  std::vector<Section> sections;
  std::string error;

  uint16_t u16(size_t off) const { return static_cast<uint16_t>(bytes[off] | bytes[off + 1] << 8); }
  uint32_t u32(size_t off) const { return u16(off) | uint32_t(u16(off + 2)) << 16; }
  void put16(size_t off, uint16_t v) {
    bytes[off] = v & 0xff;
    bytes[off + 1] = static_cast<uint8_t>(v >> 8);
  }
  void put32(size_t off, uint32_t v) {
    put16(off, v & 0xffff);
    put16(off + 2, static_cast<uint16_t>(v >> 16));
  }
};

// Reads and parses a PE32+ image; false with img.error set otherwise.
bool parse(const char* path, Image& img);

// PE image checksum: 16-bit one's-complement-style sum of the file with the
// checksum field taken as zero, plus the file length.
uint32_t checksum(const Image& img);

// Writes the image to `path` under a temporary name, renamed into place.
bool write(const Image& img, const std::string& path, std::string* error);

}  // namespace pe
