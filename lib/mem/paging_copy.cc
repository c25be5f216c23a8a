// paging::copy_live (mem/paging.h): the live table again at 4 or 5 levels.
#include "cpu/processor.h"
#include "mem/memory.h"
#include "mem/paging.h"
#include "rt/string.h"

namespace paging {
namespace {

PhysAddr alloc_low_table(void*) {
  mem::PageResult r = mem::alloc_pages(1, kPageSize, mem::kBelow4G);
  if (!r.ok()) return PhysAddr(~0ull);
  memset(reinterpret_cast<void*>(r.pa.value), 0, kPageSize);
  return r.pa;
}

uint64_t* identity_table(void*, PhysAddr pa) { return reinterpret_cast<uint64_t*>(pa.value); }

PageMemory low_memory() {
  PageMemory pm{};
  pm.alloc_table = alloc_low_table;
  pm.table = identity_table;
  pm.max_page = cpu::has(cpu::feature::kPage1gb) ? kHugePageSize : kLargePageSize;
  return pm;
}

uint64_t sign_extend(uint64_t va, int bits) {
  const unsigned sh = 64 - bits;
  return uint64_t(int64_t(va << sh) >> sh);
}

struct Copier {
  const PageTable& from;
  PageTable& to;
  uint64_t leaves = 0;
  bool ok = true;

  void walk(const uint64_t* table, int level, uint64_t va_base) {
    for (unsigned i = 0; i < 512 && ok; ++i) {
      const uint64_t e = table[i];
      if (!(e & pte::P)) continue;
      const unsigned shift = 12 + 9 * (level - 1);
      const uint64_t va = sign_extend(va_base | uint64_t(i) << shift, 12 + 9 * from.levels());
      const bool leaf = level == 1 || (level <= 3 && (e & pte::PS));
      if (!leaf) {
        walk(reinterpret_cast<const uint64_t*>(e & pte::kFrame), level - 1,
             va_base | uint64_t(i) << shift);
        continue;
      }
      if (to.levels() == 4 && sign_extend(va, 48) != va) continue;
      Translation t;
      if (!from.lookup(VirtAddr(va), &t)) {
        ok = false;
        return;
      }
      const uint64_t size = 1ull << shift;
      if (to.map(VirtAddr(va), PhysAddr(t.pa.value & ~(size - 1)), size, t.attr, size) !=
          MapStatus::ok)
        ok = false;
      ++leaves;
    }
  }
};

}  // namespace

bool copy_live(int levels, PageTable* out, uint64_t* leaves) {
  *leaves = 0;
  const PageTable from = live();
  PageTable copy(low_memory(), PhysAddr(0), levels);
  if (!PageTable::create(low_memory(), levels, &copy)) return false;
  Copier c{from, copy};
  c.walk(reinterpret_cast<const uint64_t*>(from.root().value), from.levels(), 0);
  *out = copy;
  *leaves = c.leaves;
  return c.ok;
}

}  // namespace paging
