#include "svm/npt.h"

#include "boot/bootinfo.h"
#include "mem/memory.h"
#include "rt/string.h"

namespace svm {

namespace {

PhysAddr alloc_table(void*) {
  mem::PageResult r = mem::alloc_pages(1);
  if (!r.ok()) return PhysAddr(~0ull);
  memset(reinterpret_cast<void*>(r.pa.value), 0, kPageSize);
  return r.pa;
}

uint64_t* table_at(void*, PhysAddr pa) { return reinterpret_cast<uint64_t*>(pa.value); }

}  // namespace

bool Npt::init(uint64_t max_page) {
  paging::PageMemory m;
  m.alloc_table = alloc_table;
  m.table = table_at;
  m.max_page = max_page;
  if (!paging::PageTable::create(m, 4, &table_)) return false;
  uint64_t top = boot_info().mem_stats.top_of_ram;
  if (top < (4ull << 30)) top = 4ull << 30;
  top = (top + kHugePageSize - 1) & ~(kHugePageSize - 1);
  return table_.map(VirtAddr(uint64_t{0}), PhysAddr(uint64_t{0}), top, kRwx, max_page) == paging::MapStatus::ok;
}

void Npt::attach(Guest& g) const {
  g.control().nested_ctl |= nested_ctl::kNpEnable;
  g.control().nested_cr3 = ncr3();
}

}  // namespace svm
