// The names that make an ESP image reproducible and its own (efitest
// esp-image, scripts/esp/esp_image.cc): one SHA-256 (FIPS 180-4) over every
// path and content of the tree, and from it the FAT volume ID and the
// version 8 GUIDs (RFC 9562 §5.8: the bits are the maker's own) of the disk
// and the partition. The tree hash is the SHA-256 of the lines
// "<sha256 of the file>  ./<path>\n", sorted by path in byte order, so that
// it equals `find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
// | sha256sum` run in the tree. Portable: no file I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../../host/run/sha256.h"

namespace espid {

// SHA-256 is the host program's one implementation (host/run/sha256.h).
using run::Sha256;
using run::sha256_hex;

// The tree hash from (path relative to the tree, without "./"; the file's
// SHA-256 in hex) pairs, in any order.
std::string tree_hash(std::vector<std::pair<std::string, std::string>> files);

// 64 hex digits naming WHAT of the tree: SHA-256 of "<tree hash> WHAT\n".
std::string hex_of(const std::string& tree, const std::string& what);
// xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx from hex_of(tree, what), with the
// version 8 and the variant bits 10 (y is 8, 9, a or b).
std::string guid_of(const std::string& tree, const std::string& what);
// The FAT volume ID (8 hex digits).
std::string volume_id(const std::string& tree);

}  // namespace espid
