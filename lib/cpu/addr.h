// Typed addresses. Physical and virtual addresses are distinct types so that
// a page-table walk cannot be handed one where the other is meant; the
// conversions are explicit and named.
#pragma once

#include <compare>
#include <cstdint>

struct PhysAddr {
  uint64_t value = 0;

  constexpr PhysAddr() = default;
  constexpr explicit PhysAddr(uint64_t v) : value(v) {}

  constexpr PhysAddr operator+(uint64_t off) const { return PhysAddr(value + off); }
  constexpr uint64_t operator-(PhysAddr o) const { return value - o.value; }
  constexpr auto operator<=>(const PhysAddr&) const = default;
  constexpr PhysAddr align_down(uint64_t a) const { return PhysAddr(value & ~(a - 1)); }
  constexpr PhysAddr align_up(uint64_t a) const { return PhysAddr((value + a - 1) & ~(a - 1)); }
};

struct VirtAddr {
  uint64_t value = 0;

  constexpr VirtAddr() = default;
  constexpr explicit VirtAddr(uint64_t v) : value(v) {}
  explicit VirtAddr(const volatile void* p) : value(reinterpret_cast<uint64_t>(p)) {}

  template <typename T = void>
  T* ptr() const { return reinterpret_cast<T*>(value); }
  constexpr VirtAddr operator+(uint64_t off) const { return VirtAddr(value + off); }
  constexpr uint64_t operator-(VirtAddr o) const { return value - o.value; }
  constexpr auto operator<=>(const VirtAddr&) const = default;
  constexpr VirtAddr align_down(uint64_t a) const { return VirtAddr(value & ~(a - 1)); }
  constexpr VirtAddr align_up(uint64_t a) const { return VirtAddr((value + a - 1) & ~(a - 1)); }
};

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kLargePageSize = 2ull << 20;
constexpr uint64_t kHugePageSize = 1ull << 30;
