#include "espid.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace espid {

std::string tree_hash(std::vector<std::pair<std::string, std::string>> files) {
  for (auto& f : files) f.first = "./" + f.first;
  std::sort(files.begin(), files.end());
  Sha256 h;
  for (const auto& [path, sum] : files) {
    const std::string line = sum + "  " + path + "\n";
    h.update(line.data(), line.size());
  }
  return h.hex();
}

std::string hex_of(const std::string& tree, const std::string& what) {
  return sha256_hex(tree + " " + what + "\n");
}

std::string guid_of(const std::string& tree, const std::string& what) {
  const std::string h = hex_of(tree, what);
  const int nibble = h[16] <= '9' ? h[16] - '0' : h[16] - 'a' + 10;
  char variant[2];
  std::snprintf(variant, sizeof(variant), "%x", (nibble & 3) | 8);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-8" + h.substr(13, 3) + "-" + variant + h.substr(17, 3) + "-" +
         h.substr(20, 12);
}

std::string volume_id(const std::string& tree) { return hex_of(tree, "volume").substr(0, 8); }

}  // namespace espid
