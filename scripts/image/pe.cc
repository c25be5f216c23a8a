#include "pe.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace pe {

bool parse(const char* path, Image& img) {
  std::ifstream in(path, std::ios::binary);
  if (!in) { img.error = "cannot open"; return false; }
  img.bytes.assign(std::istreambuf_iterator<char>(in), {});
  auto& b = img.bytes;
  if (b.size() < 0x40 || b[0] != 'M' || b[1] != 'Z') { img.error = "no MZ header"; return false; }
  size_t pe = img.u32(0x3c);
  if (pe + 24 > b.size() || std::memcmp(&b[pe], "PE\0\0", 4) != 0) {
    img.error = "no PE signature";
    return false;
  }
  size_t coff = pe + 4;
  unsigned nsections = img.u16(coff + 2);
  size_t opt_size = img.u16(coff + 16);
  img.opt = coff + 20;
  if (img.opt + opt_size > b.size() || opt_size < kOptDataDirectories) {
    img.error = "truncated optional header";
    return false;
  }
  if (img.u16(img.opt) != kPe32PlusMagic) { img.error = "not PE32+"; return false; }
  size_t sh = img.opt + opt_size;
  if (sh + nsections * 40 > b.size()) { img.error = "truncated section table"; return false; }
  for (unsigned i = 0; i < nsections; ++i, sh += 40) {
    Section s;
    s.name.assign(reinterpret_cast<const char*>(&b[sh]), strnlen(reinterpret_cast<const char*>(&b[sh]), 8));
    s.virtual_size = img.u32(sh + 8);
    s.virtual_address = img.u32(sh + 12);
    s.raw_size = img.u32(sh + 16);
    s.raw_offset = img.u32(sh + 20);
    s.characteristics = img.u32(sh + 36);
    img.sections.push_back(s);
  }
  return true;
}

uint32_t checksum(const Image& img) {
  const size_t skip = img.opt + kOptCheckSum;
  uint64_t sum = 0;
  const auto& b = img.bytes;
  for (size_t i = 0; i < b.size(); i += 2) {
    if (i == skip || i == skip + 2) continue;
    uint32_t w = b[i] | (i + 1 < b.size() ? b[i + 1] << 8 : 0);
    sum += w;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum + b.size());
}

bool write(const Image& img, const std::string& path, std::string* error) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(img.bytes.data()), static_cast<std::streamsize>(img.bytes.size()));
    if (!out) {
      *error = "cannot write " + tmp;
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot rename " + tmp;
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace pe
