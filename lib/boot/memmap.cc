// Normalising a memory map, for every entry.
//
// The source is read-only (under UEFI it is the firmware's buffer, still
// needed for ExitBootServices) and `out` may be smaller than the source,
// so there is no scratch space to sort in. The entries are instead visited
// in (base, index) order by a selection pass over the source: O(n^2) on a
// few hundred entries, no allocation, and the output is always a sorted,
// merged prefix of the full normalised map, with only the highest ranges
// dropped.
#include "boot/memmap.h"

namespace boot {
namespace {

struct Entry {
  uint64_t base;
  uint64_t end;  // exclusive, saturated at 2^64-1
  MemKind kind;
};

Entry entry_at(const RangeSource& src, size_t i) {
  const MemRange r = src.at(src.ctx, i);
  const uint64_t room = ~uint64_t{0} - r.base.value;
  return Entry{r.base.value, r.base.value + (r.size > room ? room : r.size), r.kind};
}

class Output {
 public:
  Output(MemRange* out, size_t max_out) : out_(out), max_(out ? max_out : 0) {}

  void add(const Entry& e) {
    const uint64_t size = e.end - e.base;
    if (e.kind == MemKind::usable) result_.usable_bytes += size;
    if (is_ram(e.kind) && e.end > result_.top_of_ram) result_.top_of_ram = e.end;
    if (result_.count < max_)
      out_[result_.count++] = MemRange{PhysAddr(e.base), size, e.kind};
    else
      ++result_.dropped;
  }

  MemStats& result() { return result_; }

 private:
  MemRange* out_;
  size_t max_;
  MemStats result_{0, 0, 0, 0, 0};
};

}  // namespace

MemStats normalise(const RangeSource& src, MemRange* out, size_t max_out) {
  const size_t n = src.count;
  Output output(out, max_out);

  for (size_t i = 0; i < n; ++i) {
    const Entry a = entry_at(src, i);
    if (a.end == a.base) continue;
    for (size_t j = i + 1; j < n; ++j) {
      const Entry b = entry_at(src, j);
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
      const Entry e = entry_at(src, i);
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

// Only ever narrows usable RAM into `kind` (the entry's own reservations
// lie in RAM it was given): the totals drop by what is carved from usable.
bool carve(MemRange* map, MemStats* st, size_t max, PhysAddr base, uint64_t size, MemKind kind) {
  const uint64_t lo = base.value, hi = base.value + size;
  for (size_t i = 0; i < st->count && size; ++i) {
    MemRange& r = map[i];
    const uint64_t rlo = r.base.value, rhi = r.base.value + r.size;
    if (hi <= rlo || lo >= rhi || r.kind == kind) continue;
    const uint64_t clo = lo > rlo ? lo : rlo, chi = hi < rhi ? hi : rhi;
    // Up to three pieces: [rlo, clo) old kind, [clo, chi) kind, [chi, rhi) old kind.
    const size_t pieces = (clo > rlo) + 1 + (chi < rhi);
    if (st->count + pieces - 1 > max) return false;
    const MemKind old = r.kind;
    for (size_t j = st->count; j-- > i + 1;) map[j + pieces - 1] = map[j];
    size_t k = i;
    if (clo > rlo) map[k++] = MemRange{PhysAddr(rlo), clo - rlo, old};
    map[k++] = MemRange{PhysAddr(clo), chi - clo, kind};
    if (chi < rhi) map[k++] = MemRange{PhysAddr(chi), rhi - chi, old};
    st->count += pieces - 1;
    if (old == MemKind::usable) st->usable_bytes -= chi - clo;
    i = k - 1;
  }
  return true;
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

}  // namespace boot
