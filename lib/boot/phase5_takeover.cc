// Boot phase 5 (lib/boot/chain.h): take the machine over from whichever
// entry ran, then hand on to phase 6.
//
// Ownership windows (read this before adding anything here):
//  - On entry boot services are gone, interrupts are off, and the firmware's
//    GDT, IDT and page tables are still loaded. Until our IDT is loaded any
//    exception vectors into firmware code that may be stale: touch nothing
//    that can fault. Under SEV-ES/SNP, CPUID, MSR access and port I/O would
//    raise #VC (under TDX, #VE), so none of them happen before the vector
//    is ours: platform::takeover_handlers registers the #VC/#VE handlers
//    and picks the transport, then load_idt makes them live.
//  - From load_idt until platform::after_paging has set up the GHCB, the
//    #VC handler can serve only CPUID (GHCB MSR protocol). So no MSR and no
//    port I/O until then: EFER.NXE is set in phase 3 for that reason, and
//    the console starts after after_paging. Console bytes then go through
//    the platform transport (GHCB IOIO, TDVMCALL), never through an I/O
//    instruction on a confidential guest.
//  - After load_idt every exception is ours and reported, which is why the
//    page tables are built after it: a mistake there is printed, not a
//    silent triple fault.
//  - The console comes up last, once our page tables and the GHCB are live.
#include "boot/chain.h"
#include "boot/entry.h"
#include "cpu/backtrace.h"
#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/pagetable.h"
#include "cpu/processor.h"
#include "platform/detect.h"
#include "platform/setup.h"
#include "platform/transport.h"
#include "rt/console.h"
#include "rt/exit.h"
#include "rt/fbcon.h"
#include "rt/report.h"
#include "rt/string.h"

extern "C" char __image_base[], __text_start[], __text_end[], __rodata_end[], __data_start[],
    __data_end[], __image_end[];
extern "C" const char test_name[];

namespace {

struct TablePool {
  uint64_t base, pages, used;
};

PhysAddr pool_alloc(void* ctx) {
  auto* p = static_cast<TablePool*>(ctx);
  if (p->used == p->pages) return PhysAddr(~0ull);
  uint64_t pa = p->base + p->used++ * kPageSize;
  memset(reinterpret_cast<void*>(pa), 0, kPageSize);
  return PhysAddr(pa);
}

// Before and after the switch the tables are reachable at their physical
// address: the firmware's map and ours are both identity maps.
uint64_t* table_at(void*, PhysAddr pa) { return reinterpret_cast<uint64_t*>(pa.value); }

constinit TablePool pool = {};
constinit boot::BootTables tables = {};

[[noreturn]] void fatal_no_console(Verdict v) { platform_exit(v); }

void map_or_die(paging::PageTable& pt, uint64_t va, uint64_t size, paging::Attr a) {
  if (size == 0) return;
  if (pt.map(VirtAddr(va), PhysAddr(va), size, a) != paging::MapStatus::ok)
    fatal_no_console(Verdict::error);
}

void build_page_tables(BootInfo& bi) {
  const bool nx = bi.features.nx;
  auto attr = [nx](paging::Attr a) {
    if (!nx) a.nx = false;
    return a;
  };
  pool = TablePool{bi.reserved.pt_pool_base, bi.reserved.pt_pool_pages, 0};
  paging::PageMemory pm{};
  pm.ctx = &pool;
  pm.alloc_table = pool_alloc;
  pm.table = table_at;
  pm.max_page = bi.features.pdpe1gb ? kHugePageSize : kLargePageSize;
  pm.enc_mask = platform::private_mask(bi);
  pm.shared_mask = platform::shared_mask(bi);
  // A confidential guest shares MMIO with the host: C-bit clear (SEV), or
  // shared bit set (TDX).
  paging::Attr mmio = attr(paging::Attr::mmio());
  mmio.shared = platform::is_confidential(bi.detected.platform);
  const int levels = (cpu::read_cr4() & cpu::cr4::LA57) ? 5 : 4;
  paging::PageTable pt(pm, PhysAddr(0), levels);
  if (!paging::PageTable::create(pm, levels, &pt)) fatal_no_console(Verdict::error);

  // The 4 GiB below the top of the 32-bit space hold the local APIC, I/O
  // APIC, HPET, PCI windows and flash, most of which no memory map lists.
  map_or_die(pt, 0, 4ull << 30, mmio);
  for (size_t i = 0; i < bi.mem_stats.count; ++i) {
    const boot::MemRange& r = bi.mem[i];
    paging::Attr a;
    switch (r.kind) {
      // Runtime images may keep code and data in one region unless the
      // firmware publishes a memory attributes table; leave them writable
      // and executable so ResetSystem keeps working.
      case boot::MemKind::runtime_code: a = paging::Attr{.write = true, .nx = false}; break;
      case boot::MemKind::mmio:
      case boot::MemKind::reserved:
      case boot::MemKind::unusable: a = mmio; break;
      default: a = paging::Attr::data(); break;
    }
    map_or_die(pt, r.base.value, r.size, attr(a));
  }
  // A GOP framebuffer usually sits in the hole above, but a 64-bit BAR can
  // put it higher, where no memory map lists it. The console only writes
  // it, so uncached costs little.
  if (bi.fb.present && bi.fb.base.value + bi.fb.size > (4ull << 30)) {
    const uint64_t lo = bi.fb.base.align_down(kPageSize).value;
    const uint64_t hi = (bi.fb.base + bi.fb.size).align_up(kPageSize).value;
    map_or_die(pt, lo, hi - lo, mmio);
  }

  // The image: headers and read-only data R, code RX, data and bss RW.
  const uint64_t base = reinterpret_cast<uint64_t>(__image_base);
  const uint64_t text = reinterpret_cast<uint64_t>(__text_start);
  const uint64_t text_end = reinterpret_cast<uint64_t>(__text_end);
  const uint64_t ro_end = reinterpret_cast<uint64_t>(__rodata_end);
  const uint64_t data_end = reinterpret_cast<uint64_t>(__data_end);
  const uint64_t end = reinterpret_cast<uint64_t>(__image_end);
  map_or_die(pt, base, text - base, attr(paging::Attr::rodata()));
  map_or_die(pt, text, text_end - text, attr(paging::Attr::code()));
  map_or_die(pt, text_end, ro_end - text_end, attr(paging::Attr::rodata()));
  map_or_die(pt, ro_end, data_end - ro_end, attr(paging::Attr::data()));
  map_or_die(pt, data_end, end - data_end, attr(paging::Attr::rodata()));

  // The GHCB page is a 4 KiB leaf of its own so that platform::after_paging
  // can clear its C-bit without allocating a table.
  if (bi.reserved.ghcb_page &&
      pt.map(VirtAddr(bi.reserved.ghcb_page), PhysAddr(bi.reserved.ghcb_page), kPageSize,
             attr(paging::Attr::data()), kPageSize) != paging::MapStatus::ok)
    fatal_no_console(Verdict::error);

  // Page 0 stays unmapped so that a null dereference faults.
  if (pt.unmap(VirtAddr(uint64_t{0}), kPageSize) != paging::MapStatus::ok) fatal_no_console(Verdict::error);

  // The entry set EFER.NXE (lib/efi/boot.cc, lib/boot/pvh.cc): no MSR
  // access here.
  cpu::write_cr0(cpu::read_cr0() | cpu::cr0::WP);
  cpu::write_cr3(pt.root().value);
  tables = boot::BootTables{pt.root().value, levels, pool.used};
}

// The x87/SSE state a firmware usually leaves and a PVH loader need not
// (the PVH entry gets only PE and the flat segments): set it for every
// entry. SDM vol.3 §9.2 and §14.1.3 (AMD APM vol.2 §11.1): SSE needs CR0.EM
// clear and CR0.MP set, FXSAVE/FXRSTOR and the SSE instructions need
// CR4.OSFXSR (else #UD), unmasked SIMD exceptions need CR4.OSXMMEXCPT (else
// #UD instead of #XM); CR0.NE selects native x87 error reporting (#MF, SDM
// vol.1 §8.7), the only mode a machine without the legacy FERR# wiring
// has. CD and NW clear are the normal cache mode (SDM vol.3 §12.5.1; the
// power-up value sets both). TS starts clear: nothing owns a lazy FPU
// context. Written only where the value changes: TDX fixes some of these
// bits and refuses a write that would change them.
void establish_cpu_state() {
  const uint64_t cr0 = cpu::read_cr0();
  const uint64_t want_cr0 =
      (cr0 | cpu::cr0::MP | cpu::cr0::NE) & ~(cpu::cr0::EM | cpu::cr0::TS | cpu::cr0::CD | cpu::cr0::NW);
  if (want_cr0 != cr0) cpu::write_cr0(want_cr0);
  const uint64_t cr4 = cpu::read_cr4();
  uint64_t want_cr4 = cr4;
  if (cpu::has(cpu::feature::kFxsr)) want_cr4 |= cpu::cr4::OSFXSR;
  if (cpu::has(cpu::feature::kSse)) want_cr4 |= cpu::cr4::OSXMMEXCPT;
  if (want_cr4 != cr4) cpu::write_cr4(want_cr4);
}

void print_banner(const BootInfo& bi) {
  uint64_t usable_mib = bi.mem_stats.usable_bytes >> 20;
  if (bi.entry == boot::Entry::efi)
    printf("%s: boot: efi, firmware \"%s\" rev 0x%x, UEFI %u.%02u, platform %s\n", test_name,
           bi.loader, bi.loader_revision, bi.spec_revision >> 16, bi.spec_revision & 0xffff,
           platform_str(bi.detected.platform));
  else
    printf("%s: boot: %s, loader \"%s\", start info v%u, platform %s\n", test_name,
           boot::entry_str(bi.entry), bi.loader, bi.spec_revision,
           platform_str(bi.detected.platform));
  if (bi.detected.platform == Platform::tdx)
    printf("%s: TDX: GPA width %u, shared bit 0x%lx, TD attributes 0x%lx; transport %s\n",
           test_name, bi.detected.tdx_gpa_width, bi.detected.tdx_shared_mask,
           bi.detected.tdx_attributes,
           platform::channel_str(platform::transport_channel()));
  else if (bi.detected.platform != Platform::plain)
    printf("%s: %s: C-bit %u, SEV_STATUS 0x%lx, CPUID 0x8000001f EAX 0x%x; transport %s\n",
           test_name, platform_str(bi.detected.platform), bi.detected.sev_cbit,
           bi.detected.sev_status, bi.detected.mem_enc_eax,
           platform::channel_str(platform::transport_channel()));
  printf("%s: memory %lu MiB usable in a map of %zu ranges, top of RAM 0x%lx; "
         "%d-level paging, %lu table pages\n",
         test_name, usable_mib, bi.mem_stats.count, bi.mem_stats.top_of_ram, tables.levels,
         tables.pool_used);
  const SerialPort& sp = console_serial();
  printf("%s: console: serial %s 0x%lx from %s%s", test_name, sp.mmio ? "MMIO" : "port", sp.base,
         sp.source,
         sp.tx_stalled ? " (transmitter never ready: not waited for, bytes may be lost)" : "");
  if (const fbcon::Console* fc = framebuffer_console())
    printf("; framebuffer %ux%u, %ux%u cells\n", fc->surface().width, fc->surface().height,
           fc->cols(), fc->rows());
  else
    printf("; no framebuffer\n");
}

}  // namespace

const char* platform_str(Platform p) {
  switch (p) {
    case Platform::plain: return "plain";
    case Platform::sev: return "SEV";
    case Platform::sev_es: return "SEV-ES";
    case Platform::sev_snp: return "SEV-SNP";
    case Platform::tdx: return "TDX";
  }
  return "?";
}

namespace boot {

const BootTables& boot_tables() { return tables; }

[[noreturn]] void takeover(BootInfo* bip) {
  BootInfo& bi = *bip;
  desc::load_gdt_and_tss(0, desc::bsp_tss());
  exceptions_init();
  // What the cpu layer says itself about a fault before phase 6 installs
  // the runtime's policy; nothing shows until the console has an output.
  set_fault_output(console_write);
  platform::takeover_handlers(bi);
  desc::load_idt();
  // After load_idt: a CPUID under SEV-ES is a #VC, served from here on.
  establish_cpu_state();
  register_stack(reinterpret_cast<void*>(boot_stack_bottom()),
                 reinterpret_cast<void*>(boot_stack_top()));

  build_page_tables(bi);
  platform::after_paging(bi);

  console_init_serial(bi.acpi_rsdp.value);
  console_init_framebuffer(bi.fb);
  print_banner(bi);
  if (bi.mem_stats.overlaps)
    printf("WARNING: the memory map has %zu overlapping descriptors\n",
           bi.mem_stats.overlaps);
  if (bi.mem_stats.dropped)
    report_abort("memory map has more than %zu ranges (%zu dropped)", BootInfo::kMaxRanges,
                 bi.mem_stats.dropped);

  bring_up(bi);
}

}  // namespace boot
