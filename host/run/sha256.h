// SHA-256 (FIPS 180-4), for the snapshot cache's keys: the firmware, the
// loader and the shape text are hashed in-process, without sha256sum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace run {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  void update(const std::string& s) { update(s.data(), s.size()); }
  // The digest as 64 lowercase hex digits; the object is spent after.
  std::string hex();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(const std::string& s);
// The hash of a file's contents; false when it cannot be read.
bool sha256_file(const std::string& path, std::string* hex);

}  // namespace run
