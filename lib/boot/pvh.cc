// The PVH entry, C++ part (lib/boot/chain.h): hvm_start_info to BootInfo,
// then phase 5. lib/boot/pvh_entry.S got us here in long mode, on its own
// small stack, with the low 4 GiB identity-mapped and interrupts off.
//
// There is no firmware to ask and none to leave behind: the memory map is
// the loader's E820 table, the command line its string, the RSDP its
// pointer (or a scan of the BIOS areas, ACPI 6.5 §5.2.5.1), and every
// reservation the EFI entry would get from AllocatePages is carved here
// out of usable RAM. BootInfo::firmware stays null.
#include "boot/chain.h"
#include "boot/cmdline.h"
#include "boot/entry.h"
#include "boot/pvh.h"
#include "cpu/addr.h"
#include "cpu/modeswitch_layout.h"
#include "cpu/processor.h"
#include "platform/detect.h"
#include "rt/exit.h"
#include "rt/string.h"

extern "C" const char test_name[];
extern "C" char __image_base[], __image_end[];
extern "C" [[noreturn]] void pvh_main(uint32_t start_info);

namespace {

constexpr uint64_t k1M = 1ull << 20;
constexpr uint64_t k4G = 4ull << 30;

constexpr size_t kArgBufSize = 4096;
constexpr int kMaxArgs = 64;
constinit char arg_buf[kArgBufSize] = {};
constinit char* arg_ptrs[kMaxArgs + 1] = {};

// No console before phase 5. Under QEMU the message goes straight to
// COM1's data port (the console's own UART set-up comes later); then the
// verdict, ERROR: the framework broke, not the subject under test.
[[noreturn]] void fail_early(const char* why) {
  if (boot_info().on_qemu) {
    const char* parts[] = {"ERROR: pvh entry: ", why, "\n"};
    for (const char* m : parts)
      for (; *m; ++m) cpu::outb(0x3f8, static_cast<uint8_t>(*m));
  }
  platform_exit(Verdict::error);
}

boot::MemKind classify(uint32_t type) {
  using boot::MemKind;
  switch (static_cast<pvh::E820>(type)) {
    case pvh::E820::ram: return MemKind::usable;
    case pvh::E820::acpi: return MemKind::acpi_reclaim;
    case pvh::E820::nvs: return MemKind::acpi_nvs;
    case pvh::E820::unusable: return MemKind::unusable;
    case pvh::E820::pmem: return MemKind::persistent;
    case pvh::E820::reserved: break;
  }
  return MemKind::reserved;
}

// E820 ranges need not be page-sized (QEMU's low RAM ends at 0x9fc00, the
// EBDA after it); the map phase 5 builds from is page-granular as under
// UEFI. Usable RAM shrinks to whole pages, everything else grows to them.
boot::MemRange e820_at(const void* ctx, size_t i) {
  const auto* e = static_cast<const pvh::MemmapEntry*>(ctx) + i;
  const boot::MemKind kind = classify(e->type);
  const uint64_t end = e->addr + e->size < e->addr ? ~uint64_t{0} : e->addr + e->size;
  PhysAddr lo = PhysAddr(e->addr), hi = PhysAddr(end);
  if (kind == boot::MemKind::usable) {
    lo = lo.align_up(kPageSize);
    hi = hi.align_down(kPageSize);
  } else {
    lo = lo.align_down(kPageSize);
    if (hi.value <= ~uint64_t{0} - kPageSize) hi = hi.align_up(kPageSize);
  }
  return boot::MemRange{lo, hi > lo ? hi - lo : 0, kind};
}

bool checksum_ok(const uint8_t* p, size_t n) {
  uint8_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + p[i]);
  return sum == 0;
}

// ACPI 6.5 §5.2.5.1: the RSDP is on a 16-byte boundary in the first KiB of
// the EBDA or in 0xE0000-0xFFFFF; its first 20 bytes sum to zero.
uint64_t scan_rsdp(uint64_t lo, uint64_t hi) {
  for (uint64_t a = lo; a + 20 <= hi; a += 16) {
    const auto* p = reinterpret_cast<const uint8_t*>(a);
    if (memcmp(p, "RSD PTR ", 8) == 0 && checksum_ok(p, 20)) return a;
  }
  return 0;
}

uint64_t find_rsdp() {
  // The BIOS data area word at 0x40E holds the EBDA segment. The address is
  // hidden from the optimiser, which would take a constant low pointer for
  // an out-of-bounds one.
  uint64_t bda = 0x40e;
  asm("" : "+r"(bda));
  const uint64_t ebda = uint64_t{*reinterpret_cast<const volatile uint16_t*>(bda)} << 4;
  if (ebda >= 0x80000 && ebda < 0xa0000)
    if (uint64_t r = scan_rsdp(ebda, ebda + 1024)) return r;
  return scan_rsdp(0xe0000, 0x100000);
}

// SMBIOS 3.x "_SM3_" or 2.x "_SM_" anchors, 16-byte aligned in
// 0xF0000-0xFFFFF (DMTF DSP0134 §5.2).
void find_smbios(BootInfo& bi) {
  for (uint64_t a = 0xf0000; a + 32 <= 0x100000; a += 16) {
    const auto* p = reinterpret_cast<const char*>(a);
    if (!bi.smbios3.value && memcmp(p, "_SM3_", 5) == 0) bi.smbios3 = PhysAddr(a);
    if (!bi.smbios.value && memcmp(p, "_SM_", 4) == 0) bi.smbios = PhysAddr(a);
  }
}

// The highest `pages` page-aligned pages of usable RAM in [lo, hi), or 0.
uint64_t take_usable(BootInfo& bi, uint64_t pages, uint64_t lo, uint64_t hi) {
  const uint64_t size = pages * kPageSize;
  for (size_t i = bi.mem_stats.count; i-- > 0;) {
    const boot::MemRange& r = bi.mem[i];
    if (r.kind != boot::MemKind::usable) continue;
    uint64_t top = r.end().value < hi ? r.end().value : hi;
    top &= ~(kPageSize - 1);
    const uint64_t bottom = r.base.value > lo ? r.base.value : lo;
    if (top < bottom + size) continue;
    const uint64_t base = top - size;
    if (!boot::carve(bi.mem, &bi.mem_stats, BootInfo::kMaxRanges, PhysAddr(base), size,
                     boot::MemKind::loader))
      fail_early("memory map full while reserving memory");
    return base;
  }
  return 0;
}

}  // namespace

extern "C" void pvh_main(uint32_t start_info_pa) {
  BootInfo& bi = boot::entry_info();
  bi.entry = boot::Entry::pvh;
  boot::detect_qemu(bi);
  const auto* si = reinterpret_cast<const pvh::StartInfo*>(uint64_t{start_info_pa});
  if (!si || si->magic != pvh::kStartInfoMagic) fail_early("no hvm_start_info magic in EBX");
  memcpy(bi.loader, "PVH", 4);
  bi.spec_revision = si->version;
  bi.image_base = reinterpret_cast<uint64_t>(__image_base);
  bi.image_size = reinterpret_cast<uint64_t>(__image_end) - bi.image_base;

  // The memory map: version 1 carries it; without it there is nothing safe
  // to allocate from.
  if (si->version < 1 || !si->memmap_paddr || !si->memmap_entries)
    fail_early("hvm_start_info has no memory map (version 0)");
  const auto* e820 = reinterpret_cast<const pvh::MemmapEntry*>(si->memmap_paddr);
  bi.mem_stats = boot::normalise(boot::RangeSource{e820, si->memmap_entries, e820_at}, bi.mem,
                                 BootInfo::kMaxRanges);
  if (!boot::carve(bi.mem, &bi.mem_stats, BootInfo::kMaxRanges, PhysAddr(bi.image_base),
                   bi.image_size, boot::MemKind::loader))
    fail_early("memory map full while reserving the image");

  // The command line, through every entry's parser and argv[0] rule. The
  // string is NUL-terminated; its bytes pass to argv as they are.
  const char* cmdline = si->cmdline_paddr ? reinterpret_cast<const char*>(si->cmdline_paddr) : "";
  boot::Argv cl{};
  if (boot::parse_cmdline(cmdline, ~size_t{0}, test_name, arg_buf, sizeof(arg_buf), arg_ptrs,
                          kMaxArgs, &cl) != boot::ArgvStatus::ok)
    fail_early("command line rejected (at most 63 arguments, 4095 bytes)");
  bi.argc = cl.argc;
  bi.argv = cl.argv;

  bi.acpi_rsdp = PhysAddr(si->rsdp_paddr ? si->rsdp_paddr : find_rsdp());
  find_smbios(bi);

  bi.features = cpu::features();
  platform::detect_into(bi);
  // No confidential guest boots through this entry: its memory would need
  // validating before the first touch, which the stub does not do.
  if (platform::is_confidential(bi.detected.platform))
    fail_early("confidential guests do not boot through PVH");
  if (bi.features.nx) {
    const uint64_t efer = cpu::rdmsr(cpu::kMsrEfer);
    if (!(efer & cpu::efer::NXE)) cpu::wrmsr(cpu::kMsrEfer, efer | cpu::efer::NXE);
  }

  // The reservations, from RAM the map shows free. Below 1 MiB: the AP
  // start-up page (SIPI vectors address 4 KiB pages below 1 MiB, Intel SDM
  // vol.3 §9.4.4.1) and the mode-switch pages (20-bit real-mode addresses,
  // SDM vol.3 §21.1.1); page 0 stays out.
  bi.reserved.trampoline_page = take_usable(bi, 1, kPageSize, k1M);
  if (uint64_t low = take_usable(bi, modeswitch::kLowPages, kPageSize, k1M)) {
    bi.reserved.low_pages = low;
    bi.reserved.low_page_count = modeswitch::kLowPages;
  }
  // Page tables for the map plus the 4 GiB hole, sized as the EFI entry
  // sizes them; below 4 GiB, where the stub's identity map reaches.
  uint64_t top = bi.mem_stats.top_of_ram;
  if (top < k4G) top = k4G;
  bi.reserved.pt_pool_pages = 64 + (top >> 30) + (top >> 39);
  bi.reserved.pt_pool_base = take_usable(bi, bi.reserved.pt_pool_pages, k1M, k4G);
  if (!bi.reserved.pt_pool_base) fail_early("no room below 4 GiB for the page-table pool");

  bi.firmware = nullptr;
  switch_stack(boot::boot_stack_top(), boot::takeover, &bi);
}
