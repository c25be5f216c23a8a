// la57: 5-level paging, switched on and off from inside the test. With
// CR4.LA57 set a linear address has 57 significant bits, walked through a
// PML5 table above the PML4, and is canonical when bits 63:57 equal bit
// 56 (Intel SDM vol.3 §4.1.1 "Four Paging Modes", §4.5 "4-Level Paging
// and 5-Level Paging", vol.1 §3.3.7.1 "Canonical Addressing"); a
// non-canonical data access raises #GP(0) (SDM vol.3 §6.15, "Interrupt
// 13"). CR4.LA57 can only change with paging off: a MOV to CR4 that
// changes it in IA-32e mode raises #GP (SDM vol.2B "MOV—Move to/from
// Control Registers"). So the test leaves long mode through the
// mode-switch trampoline (lib/cpu/modeswitch.h), sets CR4.LA57 and loads
// a 5-level root built with our own table code (lib/cpu/pagetable.h), a
// copy of every translation of the table it started on, and comes back.
// Under 5-level paging it maps one page at 0x00ff000000000000 (lower
// half, above 2^47) and at 0xff00000000000000 (upper half), writes
// through each and reads back through the identity map, takes #GP on
// addresses whose bit 56 is not sign-extended, walks all five levels by
// hand from CR3 and compares each step with what the builder says, and
// checks that MOV to CR4 cannot clear LA57 there. Then it switches back
// the same way and checks that the same high addresses are
// non-canonical again under 4-level paging and that the report still
// works (this summary is printed under the paging mode it began with).
// Without CPUID.(EAX=7,ECX=0):ECX[bit 16] LA57 the test is a SKIP: the
// bit is then reserved, and a MOV to CR4 setting it raises #GP(0), which
// is checked, except under QEMU's TCG, which never returns from that MOV.
#include <cstdint>

#include "cpu/exceptions.h"
#include "cpu/modeswitch.h"
#include "cpu/pagetable.h"
#include "mem/paging.h"
#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "mem/memory.h"
#include "rt/expect.h"
#include "rt/format.h"
#include "rt/report.h"
#include "rt/string.h"

namespace {

// Above 2^47, canonical only with 57-bit addresses.
constexpr uint64_t kLowHigh = 0x00ff000000000000ull;   // bit 56 clear
constexpr uint64_t kHighHigh = 0xff00000000000000ull;  // bit 56 and 63:57 set
// Bit 56 not copied through 63:57: non-canonical in both modes.
constexpr uint64_t kBit56Only = 0x0100000000000000ull;
constexpr uint64_t kTopNoBit56 = 0xfe00000000000000ull;


// Switches to a fresh copy at `levels` levels; false (after a FAIL line)
// when the copy could not be built.
bool switch_to(int levels) {
  paging::PageTable copy(paging::PageMemory{}, PhysAddr(0), levels);
  uint64_t leaves = 0;
  if (!paging::copy_live(levels, &copy, &leaves)) {
    report_fail("building a %d-level copy of the page tables", levels);
    return false;
  }
  modeswitch::change_paging(copy.root().value, levels == 5);
  const bool la57 = cpu::read_cr4() & cpu::cr4::LA57;
  report(paging::levels() == levels && la57 == (levels == 5) &&
             (cpu::read_cr3() & paging::kCr3RootMask) == copy.root().value,
         "back in 64-bit mode with %d-level paging (CR4.LA57 %d, CR3 0x%lx, %lu leaves copied)",
         paging::levels(), la57, cpu::read_cr3(), leaves);
  return paging::levels() == levels;
}

void check_non_canonical(uint64_t va, const char* why) {
  char what[96];
  rt::snprintf(what, sizeof(what), "read of 0x%016lx (%s)", va, why);
  report_fault(read_safe(reinterpret_cast<const volatile void*>(va)).ex, ExInfo(Vec::GP, 0), what);
}

void four_level_checks(const char* when) {
  ReportPrefix p(when);
  check_non_canonical(kLowHigh, "bits 63:47 not all equal");
  check_non_canonical(kHighHigh, "bits 63:47 not all equal");
}

// Walks CR3 -> PML5 -> PML4 -> PDPT -> PD -> PT by hand and compares with
// the builder's lookup of the live table.
void walk_by_hand(uint64_t va, uint64_t frame) {
  ReportPrefix p("walk");
  const uint64_t* table = reinterpret_cast<const uint64_t*>(cpu::read_cr3() & paging::kCr3RootMask);
  static const char* const kNames[] = {"", "PTE", "PDE", "PDPTE", "PML4E", "PML5E"};
  const uint64_t* leaf = nullptr;
  uint64_t leaf_size = 0;
  int level = 5;
  for (; level >= 1; --level) {
    const unsigned shift = 12 + 9 * (level - 1);
    const unsigned index = (va >> shift) & 511;
    const uint64_t e = table[index];
    const bool present = e & paging::pte::P;
    const bool large = level <= 3 && level >= 2 && (e & paging::pte::PS);
    if (!present || level == 1 || large) {
      report(present, "%s[%u] = 0x%lx is present", kNames[level], index, e);
      leaf = &table[index];
      leaf_size = 1ull << shift;
      break;
    }
    report(!(e & paging::pte::PS) && (e & paging::pte::RW),
           "%s[%u] = 0x%lx points to the next table, writable", kNames[level], index, e);
    table = reinterpret_cast<const uint64_t*>(e & paging::pte::kFrame);
  }
  paging::Translation t{};
  const bool found = paging::lookup(VirtAddr(va), &t);
  report(found && t.entry == leaf && t.page_size == leaf_size,
         "the builder's leaf for 0x%lx is the same entry (%p, %lu bytes; by hand %p, %lu bytes)",
         va, found ? static_cast<const void*>(t.entry) : nullptr, found ? t.page_size : 0,
         static_cast<const void*>(leaf), leaf_size);
  report(leaf && (*leaf & paging::pte::kFrame) == frame && found && t.pa.value == frame + (va & 0xfff),
         "the leaf maps frame 0x%lx (entry 0x%lx, builder 0x%lx)", frame, leaf ? *leaf : 0,
         found ? t.pa.value : 0);
}

void five_level_checks() {
  ReportPrefix p("5-level");
  mem::PageResult page = mem::alloc_pages(1);
  if (!page.ok()) report_abort("no page for the high mappings");
  const uint64_t frame = page.pa.value;
  volatile uint64_t* ident = reinterpret_cast<volatile uint64_t*>(frame);
  constexpr uint64_t kHigh[] = {kLowHigh, kHighHigh};
  for (uint64_t va : kHigh) {
    ReportPrefix q(va == kLowHigh ? "lower half" : "upper half");
    paging::MapStatus s = paging::map(VirtAddr(va), PhysAddr(frame), kPageSize, paging::Attr::data());
    report(s == paging::MapStatus::ok, "map 0x%016lx -> 0x%lx: %s", va, frame, paging::map_status_str(s));
    if (s != paging::MapStatus::ok) continue;
    const uint64_t value = 0x5a00000000000000ull ^ va ^ frame;
    *ident = 0;
    ExInfo ex = write_safe(reinterpret_cast<volatile void*>(va + 8), value);
    report_fault(ex, ExInfo(), "write through the high address");
    report(ident[1] == value, "read back through the identity map: 0x%lx (wrote 0x%lx)",
           uint64_t(ident[1]), value);
    walk_by_hand(va, frame);
    paging::unmap(VirtAddr(va), kPageSize);
  }
  mem::free_pages(page.pa, 1);
  check_non_canonical(kBit56Only, "bit 56 set, 63:57 clear");
  check_non_canonical(kTopNoBit56, "bits 63:57 set, 56 clear");
  const uint64_t cr4 = cpu::read_cr4();
  report_fault(write_cr4_safe(cr4 & ~cpu::cr4::LA57), ExInfo(Vec::GP, 0),
               "MOV to CR4 clearing LA57 in IA-32e mode");
  report(cpu::read_cr4() == cr4, "CR4 unchanged (0x%lx)", cpu::read_cr4());
}

void not_enumerated() {
  ReportPrefix p("LA57 not enumerated");
  report_skip("5-level paging: %s is clear", cpu::feature::kLa57.name);
  if (known_tcg_difference("MOV to CR4 with a reserved bit set performs an SVM #VMEXIT "
                           "(VMEXIT_INVALID) even outside a guest, instead of #GP(0)")) {
    report_skip("MOV to CR4 setting the reserved LA57 bit: not run under TCG, the guest "
                "would not come back");
    return;
  }
  const uint64_t cr4 = cpu::read_cr4();
  ExInfo ex = write_cr4_safe(cr4 | cpu::cr4::LA57);
  if (!ex) cpu::write_cr4(cr4);
  report_fault(ex, ExInfo(Vec::GP, 0), "MOV to CR4 setting the reserved LA57 bit");
}

}  // namespace

int main() {
  if (!cpu::has(cpu::feature::kLa57)) {
    not_enumerated();
    return report_summary();
  }
  if (const char* why = modeswitch::unavailable()) {
    report_skip("5-level paging: the mode-switch trampoline: %s", why);
    return report_summary();
  }
  modeswitch::init();
  const int start = paging::levels();
  report_info("the firmware handed over with %d-level paging", start);
  if (start == 4) {
    four_level_checks("4-level, as booted");
    const uint64_t cr4 = cpu::read_cr4();
    report_fault(write_cr4_safe(cr4 | cpu::cr4::LA57), ExInfo(Vec::GP, 0),
                 "MOV to CR4 setting LA57 in IA-32e mode");
    if (!switch_to(5)) return report_summary();
    five_level_checks();
    if (!switch_to(4)) return report_summary();
    four_level_checks("4-level again");
  } else {
    five_level_checks();
    if (!switch_to(4)) return report_summary();
    four_level_checks("4-level");
    if (!switch_to(5)) return report_summary();
    five_level_checks();
  }
  report(paging::levels() == start, "the test ends in the paging mode it began with (%d levels)",
         paging::levels());
  return report_summary();
}
