// Normalising the firmware memory map.
//
// The input is read-only (it is the firmware's buffer, possibly still needed
// for ExitBootServices) and `out` may be smaller than the input, so there is
// no scratch space to sort in. The descriptors are instead visited in
// (base, index) order by a selection pass over the input: O(n^2) on a few
// hundred entries, no allocation, and the output is always a sorted, merged
// prefix of the full normalised map, with only the highest ranges dropped.
#include "efi/memmap.h"

#include "efi/efi.h"

namespace efi {
namespace {

constexpr uint64_t kEfiPageShift = 12;  // UEFI 2.10 §7.2.3: 4 KiB pages
constexpr uint64_t kMaxAddr = ~uint64_t{0};

// UEFI 2.10 §7.2.1, the table of memory type usage after ExitBootServices.
MemKind classify(uint32_t type) {
  using T = MemoryType;
  const auto t = static_cast<T>(type);
  if (t == T::conventional || t == T::boot_services_code || t == T::boot_services_data)
    return MemKind::usable;
  if (t == T::loader_code || t == T::loader_data) return MemKind::loader;
  if (t == T::runtime_services_code) return MemKind::runtime_code;
  if (t == T::runtime_services_data) return MemKind::runtime_data;
  if (t == T::acpi_reclaim) return MemKind::acpi_reclaim;
  if (t == T::acpi_nvs) return MemKind::acpi_nvs;
  if (t == T::mmio || t == T::mmio_port_space) return MemKind::mmio;
  if (t == T::unusable) return MemKind::unusable;
  if (t == T::persistent) return MemKind::persistent;
  if (t == T::unaccepted) return MemKind::unaccepted;
  // Reserved, PAL code, and types from newer specs or OEM/OS ranges
  // (0x70000000 and up): not ours to touch.
  return MemKind::reserved;
}

struct Entry {
  uint64_t base;
  uint64_t end;  // exclusive, saturated at 2^64-1
  MemKind kind;
};

class Descriptors {
 public:
  Descriptors(const void* map, size_t map_size, size_t desc_size)
      : bytes_(static_cast<const unsigned char*>(map)), stride_(desc_size) {
    // §7.2.3 lets the stride exceed sizeof(MemoryDescriptor) (OVMF uses 48)
    // but never undercut it; descriptors are 8-byte aligned fields.
    if (map != nullptr && desc_size >= sizeof(MemoryDescriptor) && desc_size % 8 == 0)
      count_ = map_size / desc_size;
  }

  size_t count() const { return count_; }

  Entry at(size_t i) const {
    const auto* d = reinterpret_cast<const MemoryDescriptor*>(bytes_ + i * stride_);
    const uint64_t base = d->physical_start;
    const uint64_t room = kMaxAddr - base;
    const uint64_t pages = d->number_of_pages;
    const uint64_t size = pages > (room >> kEfiPageShift) ? room : pages << kEfiPageShift;
    return Entry{base, base + size, classify(static_cast<uint32_t>(d->type))};
  }

 private:
  const unsigned char* bytes_;
  size_t stride_;
  size_t count_ = 0;
};

class Output {
 public:
  Output(MemRange* out, size_t max_out) : out_(out), max_(out ? max_out : 0) {}

  void add(const Entry& e) {
    const uint64_t size = e.end - e.base;
    if (e.kind == MemKind::usable) result_.usable_bytes += size;
    if (is_ram(e.kind) && e.end > result_.top_of_ram) result_.top_of_ram = e.end;
    if (result_.count < max_)
      out_[result_.count++] = MemRange{e.base, size, e.kind};
    else
      ++result_.dropped;
  }

  NormalisedMap& result() { return result_; }

 private:
  MemRange* out_;
  size_t max_;
  NormalisedMap result_{0, 0, 0, 0, 0};
};

}  // namespace

// usable_bytes and top_of_ram describe the whole normalised map, including
// ranges dropped for lack of room in `out`.
NormalisedMap normalise_memory_map(const void* map, size_t map_size, size_t desc_size,
                                   MemRange* out, size_t max_out) {
  const Descriptors descs(map, map_size, desc_size);
  const size_t n = descs.count();
  Output output(out, max_out);

  for (size_t i = 0; i < n; ++i) {
    const Entry a = descs.at(i);
    if (a.end == a.base) continue;
    for (size_t j = i + 1; j < n; ++j) {
      const Entry b = descs.at(j);
      if (b.end != b.base && a.base < b.end && b.base < a.end) ++output.result().overlaps;
    }
  }

  bool have_prev = false;
  uint64_t prev_base = 0;
  size_t prev_index = 0;
  bool have_cur = false;
  Entry cur{0, 0, MemKind::reserved};
  for (;;) {
    bool found = false;
    size_t next = 0;
    Entry best{0, 0, MemKind::reserved};
    for (size_t i = 0; i < n; ++i) {
      const Entry e = descs.at(i);
      if (e.end == e.base) continue;
      const bool after_prev =
          !have_prev || e.base > prev_base || (e.base == prev_base && i > prev_index);
      if (after_prev && (!found || e.base < best.base)) {
        found = true;
        next = i;
        best = e;
      }
    }
    if (!found) break;
    have_prev = true;
    prev_base = best.base;
    prev_index = next;

    // Sorted by base, so best.base >= cur.base: touching or overlapping
    // ranges of one kind become one.
    if (have_cur && best.kind == cur.kind && best.base <= cur.end) {
      if (best.end > cur.end) cur.end = best.end;
      continue;
    }
    if (have_cur) output.add(cur);
    cur = best;
    have_cur = true;
  }
  if (have_cur) output.add(cur);
  return output.result();
}

const char* mem_kind_str(MemKind k) {
  switch (k) {
    case MemKind::usable: return "usable";
    case MemKind::loader: return "loader";
    case MemKind::runtime_code: return "runtime-code";
    case MemKind::runtime_data: return "runtime-data";
    case MemKind::acpi_reclaim: return "acpi-reclaim";
    case MemKind::acpi_nvs: return "acpi-nvs";
    case MemKind::mmio: return "mmio";
    case MemKind::reserved: return "reserved";
    case MemKind::unusable: return "unusable";
    case MemKind::persistent: return "persistent";
    case MemKind::unaccepted: return "unaccepted";
  }
  return "unknown";
}

}  // namespace efi
