// Fakes for the #VC/#VE cores: a flat guest memory with a shared (MMIO)
// window, identity-mapped linear == guest-physical.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "platform/emulate.h"

namespace fake {

class Memory final : public platform::GuestMemory {
 public:
  static constexpr uint64_t kBase = 0x100000;
  static constexpr uint64_t kSize = 0x10000;
  static constexpr uint64_t kMmio = kBase + 0x8000;  // shared window [kMmio, kBase+kSize)

  Memory() : bytes_(kSize, 0xcc) {}
  bool read(uint64_t la, void* dst, size_t n) override {
    if (la < kBase || la + n > kBase + kSize) return false;
    std::memcpy(dst, &bytes_[la - kBase], n);
    return true;
  }
  bool write(uint64_t la, const void* src, size_t n) override {
    if (la < kBase || la + n > kBase + kSize) return false;
    std::memcpy(&bytes_[la - kBase], src, n);
    return true;
  }
  bool translate(uint64_t la, uint64_t* gpa, bool* shared) override {
    if (la < kBase || la >= kBase + kSize) return false;
    *gpa = la;
    *shared = la >= kMmio;
    return true;
  }
  void put(uint64_t la, std::initializer_list<uint8_t> b) {
    std::memcpy(&bytes_[la - kBase], b.begin(), b.size());
  }
  uint8_t* at(uint64_t la) { return &bytes_[la - kBase]; }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace fake
