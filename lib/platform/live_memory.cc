#include "platform/live_memory.h"

#include "cpu/pagetable.h"
#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "platform/detect.h"

namespace platform {
namespace {

uint64_t* identity(void*, PhysAddr pa) { return reinterpret_cast<uint64_t*>(pa.value); }
PhysAddr no_alloc(void*) { return PhysAddr(~0ull); }

bool lookup(uint64_t la, paging::Translation* t) {
  const BootInfo& bi = boot_info();
  paging::PageMemory pm{};
  pm.alloc_table = no_alloc;
  pm.table = identity;
  pm.enc_mask = private_mask(bi);
  pm.shared_mask = shared_mask(bi);
  const int levels = (cpu::read_cr4() & cpu::cr4::LA57) ? 5 : 4;
  paging::PageTable pt(pm, PhysAddr((cpu::read_cr3() & paging::kCr3RootMask) & ~pm.enc_mask), levels);
  return pt.lookup(VirtAddr(la), t);
}

// Every page of [la, la+n) mapped.
bool mapped(uint64_t la, size_t n) {
  if (n == 0) return true;
  paging::Translation t;
  for (uint64_t p = la & ~(kPageSize - 1); p < la + n; p += kPageSize)
    if (!lookup(p, &t)) return false;
  return true;
}

}  // namespace

bool LiveMemory::read(uint64_t la, void* dst, size_t n) {
  if (!mapped(la, n)) return false;
  const auto* s = reinterpret_cast<const volatile uint8_t*>(la);
  auto* d = static_cast<uint8_t*>(dst);
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
  return true;
}

bool LiveMemory::write(uint64_t la, const void* src, size_t n) {
  if (!mapped(la, n)) return false;
  auto* d = reinterpret_cast<volatile uint8_t*>(la);
  const auto* s = static_cast<const uint8_t*>(src);
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
  return true;
}

bool LiveMemory::translate(uint64_t la, uint64_t* gpa, bool* shared) {
  paging::Translation t;
  if (!lookup(la, &t)) return false;
  *gpa = t.pa.value;
  *shared = t.attr.shared;
  return true;
}

}  // namespace platform
