// The live page table; the contract is in paging.h.
#include "mem/paging.h"

#include "cpu/desc.h"
#include "cpu/processor.h"
#include "cpu/spinlock.h"
#include "boot/bootinfo.h"
#include "mem/memory.h"
#include "platform/detect.h"
#include "rt/report.h"
#include "rt/string.h"
#include "smp/percpu.h"

namespace paging {
namespace {

constinit SpinLock lock;

PhysAddr alloc_table(void*) {
  mem::PageResult r = mem::alloc_pages(1);
  if (!r.ok()) return PhysAddr(~0ull);
  memset(reinterpret_cast<void*>(r.pa.value), 0, kPageSize);
  return r.pa;
}

uint64_t* identity(void*, PhysAddr pa) { return reinterpret_cast<uint64_t*>(pa.value); }

PageMemory live_memory() {
  const BootInfo& bi = boot_info();
  PageMemory pm{};
  pm.alloc_table = alloc_table;
  pm.table = identity;
  pm.max_page = bi.features.pdpe1gb ? kHugePageSize : kLargePageSize;
  // The same encodings the boot tables use (lib/boot/phase5_takeover.cc), so lookups and
  // edits agree with them: the C-bit on private pages under SEV, the shared
  // bit on shared pages under TDX.
  pm.enc_mask = platform::private_mask(bi);
  pm.shared_mask = platform::shared_mask(bi);
  return pm;
}

uint64_t leaf_base(const Translation& t, VirtAddr va) {
  return va.value & ~(t.page_size - 1);
}

// Unmaps whatever is mapped in [va, va+size), leaving holes alone.
MapStatus unmap_present(PageTable& pt, uint64_t va, uint64_t end) {
  while (va < end) {
    Translation t;
    if (!pt.lookup(VirtAddr(va), &t)) {
      va += kPageSize;
      continue;
    }
    uint64_t piece_end = leaf_base(t, VirtAddr(va)) + t.page_size;
    if (piece_end > end) piece_end = end;
    if (MapStatus s = pt.unmap(VirtAddr(va), piece_end - va); s != MapStatus::ok) return s;
    va = piece_end;
  }
  return MapStatus::ok;
}

}  // namespace

PageTable live() {
  const PageMemory pm = live_memory();
  return PageTable(pm, PhysAddr((cpu::read_cr3() & kCr3RootMask) & ~pm.enc_mask), levels());
}

int levels() { return (cpu::read_cr4() & cpu::cr4::LA57) ? 5 : 4; }

MapStatus map(VirtAddr va, PhysAddr pa, uint64_t size, Attr attr) {
  MapStatus s;
  {
    IrqSpinGuard g(lock);
    PageTable pt = live();
    s = pt.map(va, pa, size, attr);
  }
  // Also after a partial failure: part of the range may have changed.
  flush(va, size);
  return s;
}

MapStatus unmap(VirtAddr va, uint64_t size) {
  MapStatus s;
  {
    IrqSpinGuard g(lock);
    PageTable pt = live();
    s = pt.unmap(va, size);
  }
  flush(va, size);
  return s;
}

MapStatus protect(VirtAddr va, uint64_t size, Attr attr) {
  MapStatus s;
  {
    IrqSpinGuard g(lock);
    PageTable pt = live();
    s = pt.protect(va, size, attr);
  }
  flush(va, size);
  return s;
}

MapStatus update(VirtAddr va, uint64_t size, Attr (*change)(Attr, void*), void* ctx) {
  if ((va.value | size) & (kPageSize - 1)) return MapStatus::misaligned;
  const uint64_t end = va.value + size;
  MapStatus s = MapStatus::ok;
  {
    IrqSpinGuard g(lock);
    PageTable pt = live();
    // First the whole range, so that a hole changes nothing.
    for (uint64_t v = va.value; v < end;) {
      Translation t;
      if (!pt.lookup(VirtAddr(v), &t)) return MapStatus::not_mapped;
      v = leaf_base(t, VirtAddr(v)) + t.page_size;
    }
    for (uint64_t v = va.value; v < end && s == MapStatus::ok;) {
      Translation t;
      pt.lookup(VirtAddr(v), &t);
      uint64_t piece_end = leaf_base(t, VirtAddr(v)) + t.page_size;
      if (piece_end > end) piece_end = end;
      // Unchanged pieces are left alone, so large pages are not split for
      // nothing.
      if (Attr a = change(t.attr, ctx); !(a == t.attr)) s = pt.protect(VirtAddr(v), piece_end - v, a);
      v = piece_end;
    }
  }
  flush(va, size);
  return s;
}

bool lookup(VirtAddr va, Translation* out) {
  IrqSpinGuard g(lock);
  return live().lookup(va, out);
}

int walk(VirtAddr va, uint64_t* out[5]) {
  IrqSpinGuard g(lock);
  return live().walk(va, out);
}

namespace {

// The TLB generation: every flush on any CPU is a change the others have
// not seen. seen[cpu] is the last generation that CPU flushed for.
constinit uint64_t generation = 0;
constinit uint64_t seen[desc::kMaxCpus] = {};

uint64_t& seen_here() {
  const unsigned c = smp::current_cpu();
  return seen[c < desc::kMaxCpus ? c : 0];
}

// Any MOV to CR4 that changes PGE flushes every translation of every PCID,
// global ones too (SDM vol.3 §4.10.4.1, table 4-19); a CR3 reload would
// spare globals and, with CR4.PCIDE set, the other PCIDs.
void flush_all_here() {
  const uint64_t cr4 = cpu::read_cr4();
  cpu::write_cr4(cr4 ^ cpu::cr4::PGE);
  cpu::write_cr4(cr4);
}

}  // namespace

void flush(VirtAddr va, uint64_t size) {
  const uint64_t first = va.align_down(kPageSize).value;
  const uint64_t end = (va + size).align_up(kPageSize).value;
  const uint64_t g = __atomic_add_fetch(&generation, 1, __ATOMIC_ACQ_REL);
  uint64_t& mine = seen_here();
  // A change another CPU made since this one last flushed needs a full
  // flush here too.
  if (mine != g - 1 || end < first || (end - first) / kPageSize > kInvlpgLimit) {
    flush_all_here();
  } else {
    for (uint64_t p = first; p < end; p += kPageSize) cpu::invlpg(reinterpret_cast<const void*>(p));
  }
  mine = g;
}

void flush_all() {
  const uint64_t g = __atomic_add_fetch(&generation, 1, __ATOMIC_ACQ_REL);
  flush_all_here();
  seen_here() = g;
}

bool catch_up() {
  const uint64_t g = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
  uint64_t& mine = seen_here();
  if (mine == g) return false;
  flush_all_here();
  mine = g;
  return true;
}

SavedRange::SavedRange(VirtAddr va, uint64_t size) {
  if ((va.value | size) & (kPageSize - 1)) {
    ok_ = false;
    return;
  }
  const uint64_t end = va.value + size;
  IrqSpinGuard g(lock);
  PageTable pt = live();
  for (uint64_t v = va.value; v < end && ok_;) {
    Translation t;
    Piece p{};
    p.va = v;
    if (pt.lookup(VirtAddr(v), &t)) {
      uint64_t piece_end = leaf_base(t, VirtAddr(v)) + t.page_size;
      if (piece_end > end) piece_end = end;
      p = Piece{v, t.pa.value, piece_end - v, t.attr, true};
    } else {
      p.size = kPageSize;
    }
    ok_ = append(p);
    v += p.size;
  }
}

bool SavedRange::append(const Piece& p) {
  if (count_ > 0) {
    Piece& last = pieces_[count_ - 1];
    if (last.mapped == p.mapped && last.va + last.size == p.va &&
        (!p.mapped || (last.attr == p.attr && last.pa + last.size == p.pa))) {
      last.size += p.size;
      return true;
    }
  }
  if (count_ == cap_) {
    size_t cap = cap_ ? 2 * cap_ : 8;
    auto* n = static_cast<Piece*>(realloc(pieces_, cap * sizeof(Piece)));
    if (!n) return false;
    pieces_ = n;
    cap_ = cap;
  }
  pieces_[count_++] = p;
  return true;
}

void SavedRange::restore() {
  if (restored_ || !ok_) return;
  restored_ = true;
  for (size_t i = 0; i < count_; ++i) {
    const Piece& p = pieces_[i];
    MapStatus s;
    {
      IrqSpinGuard g(lock);
      PageTable pt = live();
      s = p.mapped ? pt.map(VirtAddr(p.va), PhysAddr(p.pa), p.size, p.attr)
                   : unmap_present(pt, p.va, p.va + p.size);
    }
    flush(VirtAddr(p.va), p.size);
    // A range left changed would leak into every later check.
    if (s != MapStatus::ok)
      report_abort("paging: cannot restore 0x%lx+0x%lx: %s", p.va, p.size, map_status_str(s));
  }
}

SavedRange::~SavedRange() {
  restore();
  free(pieces_);
}

}  // namespace paging
