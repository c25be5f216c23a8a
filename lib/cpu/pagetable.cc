// x86-64 page-table builder; the contract is in pagetable.h.
//
// Levels are numbered as the walk sees them from the bottom: 1 = PT (4 KiB
// leaves), 2 = PD (2 MiB leaves with PS), 3 = PDPT (1 GiB leaves with PS),
// 4 = PML4, 5 = PML5 (AMD APM vol.2 §5.3, Intel SDM vol.3 §4.5).
//
// Choices the header leaves open:
//  - map() over a range that already has a lower-level table (for example a
//    2 MiB-aligned range whose PD entry points to a PT) keeps that table and
//    rewrites its entries, instead of replacing it with one large leaf.
//    PageMemory cannot free a table page, so replacing would leak it, and an
//    image that is mapped and remapped would slowly drain the table pool.
//    The price is a smaller page size than the alignment would allow.
//  - map() does not split a large leaf that already maps the sub-range with
//    the same frame and the same attributes: nothing would change.
//  - map() is not atomic: when table pages run out, the part of the range
//    before the failure is mapped and the rest is untouched. An existing large
//    leaf is only replaced by a table once the table is fully filled in.
//  - unmap() and protect() first check the whole range is mapped, then split
//    the leaves that straddle the range ends (which does not change any
//    translation), and only then change entries. So out_of_tables and
//    not_mapped leave the translations exactly as they were.
//  - unmap() leaves emptied tables in place; they are reused by later maps.
//  - A, D and the software-available bits are not set for new leaves; a
//    split copies them into every smaller leaf.
//  - Pointers returned by PageMemory::table must stay valid for the whole
//    call (true of an identity map), since a walk holds a parent table while
//    it allocates a child.
//  - PhysAddr values at or above 2^52 cannot be encoded (MAXPHYADDR is at
//    most 52, APM vol.2 §5.3.1) and are rejected as misaligned.
#include "cpu/pagetable.h"

namespace paging {
namespace {

constexpr unsigned kIndexBits = 9;
constexpr unsigned kEntries = 1u << kIndexBits;
constexpr int kMaxLeafLevel = 3;  // PDPTE with PS maps 1 GiB; nothing larger
constexpr uint64_t kPhysLimit = 1ull << 52;
constexpr uint64_t kNoTable = ~0ull;

constexpr unsigned level_shift(int level) { return 12 + kIndexBits * (level - 1); }
constexpr uint64_t level_size(int level) { return 1ull << level_shift(level); }
constexpr unsigned index_at(uint64_t va, int level) {
  return static_cast<unsigned>(va >> level_shift(level)) & (kEntries - 1);
}
constexpr unsigned va_bits(int levels) { return level_shift(levels + 1); }
constexpr uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static_assert(level_size(1) == kPageSize);
static_assert(level_size(2) == kLargePageSize);
static_assert(level_size(3) == kHugePageSize);
static_assert(va_bits(4) == 48 && va_bits(5) == 57);

bool is_canonical(uint64_t va, int levels) {
  const unsigned bits = va_bits(levels);
  const uint64_t upper = va >> (bits - 1);  // the sign bit and everything above
  return upper == 0 || upper == (~0ull >> (bits - 1));
}

bool is_leaf(uint64_t e, int level) { return level == 1 || (e & pte::PS) != 0; }

// The frame bits of an entry at `level`, without the C-bit/shared bit, which
// live inside the address field but are not part of the address.
uint64_t frame_mask(const PageMemory& m, uint64_t page_size) {
  return pte::kFrame & ~(page_size - 1) & ~(m.enc_mask | m.shared_mask);
}

uint64_t* table_at(const PageMemory& m, PhysAddr pa) { return m.table(m.ctx, pa); }

PhysAddr child_of(const PageMemory& m, uint64_t e) {
  return PhysAddr(e & frame_mask(m, kPageSize));
}

constexpr uint64_t kPointerFlags = pte::P | pte::RW | pte::US;

uint64_t table_pointer(const PageMemory& m, PhysAddr table) {
  return table.value | kPointerFlags | m.enc_mask;
}

uint64_t leaf_entry(const PageMemory& m, uint64_t frame, const Attr& a, int level) {
  uint64_t e = frame | pte::P;
  if (a.write) e |= pte::RW;
  if (a.user) e |= pte::US;
  if (a.pwt) e |= pte::PWT;
  if (a.pcd) e |= pte::PCD;
  if (a.global) e |= pte::G;
  if (a.nx) e |= pte::NX;
  if (level > 1) e |= pte::PS;
  if (a.pat) e |= level > 1 ? pte::PAT_LARGE : pte::PAT_4K;
  e |= (static_cast<uint64_t>(a.pkey) << pte::kPkeyShift) & pte::kPkeyMask;
  e |= a.shared ? m.shared_mask : m.enc_mask;
  return e;
}

Attr decode_leaf(const PageMemory& m, uint64_t e, int level) {
  Attr a;
  a.write = (e & pte::RW) != 0;
  a.user = (e & pte::US) != 0;
  a.nx = (e & pte::NX) != 0;
  a.pwt = (e & pte::PWT) != 0;
  a.pcd = (e & pte::PCD) != 0;
  a.pat = (e & (level > 1 ? pte::PAT_LARGE : pte::PAT_4K)) != 0;
  a.global = (e & pte::G) != 0;
  a.pkey = static_cast<uint8_t>((e & pte::kPkeyMask) >> pte::kPkeyShift);
  // Without either mask "shared" has no encoding and reads back as false.
  if (m.shared_mask != 0)
    a.shared = (e & m.shared_mask) != 0;
  else if (m.enc_mask != 0)
    a.shared = (e & m.enc_mask) == 0;
  return a;
}

struct Builder {
  const PageMemory& mem;
  uint64_t& tables;

  PhysAddr alloc() {
    PhysAddr pa = mem.alloc_table(mem.ctx);
    if (pa.value == kNoTable) return pa;
    ++tables;
    return pa;
  }

  // Replaces the large leaf in `*slot` (at `level` >= 2) by a table of 512
  // leaves one level down with the same frames and attributes. PAT moves
  // from bit 12 to bit 7 when the new leaves are 4 KiB PTEs (APM vol.2
  // §5.4.1, Intel SDM vol.3 Table 4-19 vs. 4-20).
  bool split(uint64_t* slot, int level) {
    const uint64_t old = *slot;
    const PhysAddr t = alloc();
    if (t.value == kNoTable) return false;
    const uint64_t fmask = frame_mask(mem, level_size(level));
    const uint64_t frame = old & fmask;
    uint64_t rest = old & ~fmask;
    if (level - 1 == 1) {
      const bool pat = (rest & pte::PAT_LARGE) != 0;
      rest &= ~(pte::PAT_LARGE | pte::PS);
      if (pat) rest |= pte::PAT_4K;
    }
    const uint64_t step = level_size(level - 1);
    uint64_t* child = table_at(mem, t);
    for (unsigned i = 0; i < kEntries; ++i) child[i] = (frame + i * step) | rest;
    *slot = table_pointer(mem, t);
    return true;
  }

  // The table below `*slot`, creating or splitting as needed.
  PhysAddr descend(uint64_t* slot, int level) {
    const uint64_t e = *slot;
    if (!(e & pte::P)) {
      const PhysAddr t = alloc();
      if (t.value != kNoTable) *slot = table_pointer(mem, t);
      return t;
    }
    if (is_leaf(e, level)) {
      if (!split(slot, level)) return PhysAddr(kNoTable);
      return child_of(mem, *slot);
    }
    // Keep the effective rights in the leaves even for tables we did not
    // build ourselves.
    if ((e & kPointerFlags) != kPointerFlags || (e & pte::NX))
      *slot = (e | kPointerFlags) & ~pte::NX;
    return child_of(mem, e);
  }

  // True when the large leaf `e` covering [base, base+size) already maps va
  // to pa with `attr`.
  bool already_maps(uint64_t e, int level, uint64_t base, uint64_t va, uint64_t pa,
                    const Attr& attr) {
    const uint64_t off = va - base;
    if (pa < off) return false;
    const uint64_t frame = pa - off;
    if (frame & (level_size(level) - 1)) return false;
    return (e & ~(pte::A | pte::D)) == leaf_entry(mem, frame, attr, level);
  }

  // Maps [va, end) (in the truncated, non-sign-extended address space) to
  // pa upward, in the table `t` at `level`.
  MapStatus map(PhysAddr t, int level, uint64_t va, uint64_t end, uint64_t pa, const Attr& attr,
                uint64_t leaf_limit) {
    uint64_t* tab = table_at(mem, t);
    const uint64_t size = level_size(level);
    while (va < end) {
      const uint64_t base = va & ~(size - 1);
      const uint64_t stop = min_u64(end, base + size);
      uint64_t* slot = &tab[index_at(va, level)];
      const uint64_t e = *slot;
      const bool present = (e & pte::P) != 0;
      const bool whole = va == base && stop == base + size;
      if (whole && level <= kMaxLeafLevel && size <= leaf_limit && (pa & (size - 1)) == 0 &&
          (!present || is_leaf(e, level))) {
        *slot = leaf_entry(mem, pa, attr, level);
      } else if (!(present && is_leaf(e, level) && already_maps(e, level, base, va, pa, attr))) {
        const PhysAddr child = descend(slot, level);
        if (child.value == kNoTable) return MapStatus::out_of_tables;
        const MapStatus s = map(child, level - 1, va, stop, pa, attr, leaf_limit);
        if (s != MapStatus::ok) return s;
      }
      pa += stop - va;
      va = stop;
    }
    return MapStatus::ok;
  }
};

struct Leaf {
  uint64_t* slot;
  int level;
};

// The present leaf translating `va`, or {nullptr, 0}.
Leaf find_leaf(const PageMemory& m, PhysAddr root, int levels, uint64_t va) {
  PhysAddr t = root;
  for (int level = levels; level >= 1; --level) {
    uint64_t* slot = &table_at(m, t)[index_at(va, level)];
    if (!(*slot & pte::P)) return {nullptr, 0};
    if (is_leaf(*slot, level)) return {slot, level};
    t = child_of(m, *slot);
  }
  return {nullptr, 0};
}

struct Range {
  uint64_t start;  // truncated to the paging mode's width: no sign extension
  uint64_t end;    // exclusive; at most 2^57, so it cannot overflow
};

MapStatus check_range(VirtAddr va, uint64_t size, int levels, Range* out) {
  if ((va.value | size) & (kPageSize - 1)) return MapStatus::misaligned;
  const uint64_t last = va.value + (size ? size - 1 : 0);
  if (!is_canonical(va.value, levels) || !is_canonical(last, levels) || last < va.value)
    return MapStatus::non_canonical;
  // Both ends canonical but in different halves: the range spans the hole.
  const unsigned sign = va_bits(levels) - 1;
  if ((va.value >> sign) != (last >> sign)) return MapStatus::non_canonical;
  const uint64_t width_mask = (1ull << va_bits(levels)) - 1;
  out->start = va.value & width_mask;
  out->end = out->start + size;
  return MapStatus::ok;
}

// Checks [r.start, r.end) is fully mapped and splits the leaves that cross
// its ends, so that afterwards every leaf touching the range lies inside it.
MapStatus prepare_edit(Builder& b, PhysAddr root, int levels, Range r) {
  for (uint64_t va = r.start; va < r.end;) {
    const Leaf l = find_leaf(b.mem, root, levels, va);
    if (!l.slot) return MapStatus::not_mapped;
    va = (va & ~(level_size(l.level) - 1)) + level_size(l.level);
  }
  for (;;) {
    const Leaf l = find_leaf(b.mem, root, levels, r.start);
    if (l.level <= 1 || (r.start & (level_size(l.level) - 1)) == 0) break;
    if (!b.split(l.slot, l.level)) return MapStatus::out_of_tables;
  }
  for (;;) {
    const Leaf l = find_leaf(b.mem, root, levels, r.end - 1);
    if (l.level <= 1 || (r.end & (level_size(l.level) - 1)) == 0) break;
    if (!b.split(l.slot, l.level)) return MapStatus::out_of_tables;
  }
  return MapStatus::ok;
}

}  // namespace

const char* map_status_str(MapStatus s) {
  switch (s) {
    case MapStatus::ok: return "ok";
    case MapStatus::out_of_tables: return "out of page-table pages";
    case MapStatus::misaligned: return "address or size not 4 KiB aligned";
    case MapStatus::non_canonical: return "non-canonical virtual address";
    case MapStatus::not_mapped: return "range not fully mapped";
  }
  return "unknown map status";
}

// Any `levels` other than 5 means 4-level paging.
PageTable::PageTable(const PageMemory& mem, PhysAddr root, int levels)
    : mem_(mem), root_(root), levels_(levels == 5 ? 5 : 4) {}

bool PageTable::create(const PageMemory& mem, int levels, PageTable* out) {
  const PhysAddr root = mem.alloc_table(mem.ctx);
  if (root.value == kNoTable) return false;
  *out = PageTable(mem, root, levels);
  out->tables_ = 1;
  return true;
}

MapStatus PageTable::map(VirtAddr va, PhysAddr pa, uint64_t size, Attr attr, uint64_t max_page) {
  Range r;
  if (const MapStatus s = check_range(va, size, levels_, &r); s != MapStatus::ok) return s;
  if ((pa.value & (kPageSize - 1)) || pa.value >= kPhysLimit || size > kPhysLimit - pa.value)
    return MapStatus::misaligned;
  if (size == 0) return MapStatus::ok;
  uint64_t leaf_limit = min_u64(max_page, mem_.max_page);
  if (leaf_limit < kPageSize) leaf_limit = kPageSize;
  Builder b{mem_, tables_};
  return b.map(root_, levels_, r.start, r.end, pa.value, attr, leaf_limit);
}

MapStatus PageTable::unmap(VirtAddr va, uint64_t size) {
  Range r;
  if (const MapStatus s = check_range(va, size, levels_, &r); s != MapStatus::ok) return s;
  if (size == 0) return MapStatus::ok;
  Builder b{mem_, tables_};
  if (const MapStatus s = prepare_edit(b, root_, levels_, r); s != MapStatus::ok) return s;
  for (uint64_t v = r.start; v < r.end;) {
    const Leaf l = find_leaf(mem_, root_, levels_, v);
    *l.slot = 0;
    v += level_size(l.level);
  }
  return MapStatus::ok;
}

MapStatus PageTable::protect(VirtAddr va, uint64_t size, Attr attr) {
  Range r;
  if (const MapStatus s = check_range(va, size, levels_, &r); s != MapStatus::ok) return s;
  if (size == 0) return MapStatus::ok;
  Builder b{mem_, tables_};
  if (const MapStatus s = prepare_edit(b, root_, levels_, r); s != MapStatus::ok) return s;
  for (uint64_t v = r.start; v < r.end;) {
    const Leaf l = find_leaf(mem_, root_, levels_, v);
    const uint64_t frame = *l.slot & frame_mask(mem_, level_size(l.level));
    *l.slot = leaf_entry(mem_, frame, attr, l.level);
    v += level_size(l.level);
  }
  return MapStatus::ok;
}

bool PageTable::lookup(VirtAddr va, Translation* out) const {
  if (!is_canonical(va.value, levels_)) return false;
  const Leaf l = find_leaf(mem_, root_, levels_, va.value);
  if (!l.slot) return false;
  const uint64_t size = level_size(l.level);
  out->pa = PhysAddr((*l.slot & frame_mask(mem_, size)) + (va.value & (size - 1)));
  out->page_size = size;
  out->attr = decode_leaf(mem_, *l.slot, l.level);
  out->entry = l.slot;
  return true;
}

int PageTable::walk(VirtAddr va, uint64_t* out[5]) const {
  if (!is_canonical(va.value, levels_)) return 0;
  PhysAddr t = root_;
  int n = 0;
  for (int level = levels_; level >= 1; --level) {
    uint64_t* slot = &table_at(mem_, t)[index_at(va.value, level)];
    if (!(*slot & pte::P)) return 0;
    out[n++] = slot;
    if (is_leaf(*slot, level)) return n;
    t = child_of(mem_, *slot);
  }
  return 0;
}

}  // namespace paging
