// selftest: the framework checks itself.
//
// Everything a test relies on without thinking: the image was relocated,
// main() runs on an ABI-aligned stack with the argv the user passed, faults
// come back with the exact vector and error code, our page tables enforce
// W^X and NX and leave page 0 unmapped, and BootInfo describes the machine.
//
// Arguments: none, or `argv-check "two words" last`, which unittests.cfg
// passes to check that quoting survives QEMU, the firmware and the stub.
#include <cstdint>

#include "cpu/exceptions.h"
#include "mem/paging.h"
#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "boot/chain.h"
#include "rt/console.h"
#include "rt/fbcon.h"
#include "rt/expect.h"
#include "rt/format.h"
#include "rt/report.h"
#include "rt/string.h"

extern "C" char __image_base[], __image_end[], __text_start[];

namespace {

// Pointers stored in data: the linker emits an R_X86_64_RELATIVE for each,
// so they are right only if phase 2 applied them.
const char kFirst[] = "first";
const char kSecond[] = "second";
const char* const kTable[] = {kFirst, kSecond};
int answer() { return 42; }
int (*const kFunction)() = answer;

bool in_image(const void* p) {
  return p >= static_cast<const void*>(__image_base) && p < static_cast<const void*>(__image_end);
}

void check_relocation() {
  ReportPrefix p("relocation");
  report(in_image(kTable[0]) && in_image(kTable[1]), "data pointers point into the image");
  report(strcmp(kTable[0], "first") == 0 && strcmp(kTable[1], "second") == 0,
         "data pointers reach their targets");
  report(in_image(reinterpret_cast<const void*>(kFunction)) && kFunction() == 42,
         "function pointer in data is callable");
  report(boot_info().image_base == reinterpret_cast<uint64_t>(__image_base),
         "loaded image base 0x%lx matches the link-relative base", boot_info().image_base);
}

__attribute__((noinline)) void check_stack_alignment() {
  // With frame pointers, RBP is RSP at entry minus 8; the ABI wants RSP at
  // entry to be 8 mod 16, so RBP must be 16-byte aligned.
  uint64_t rbp = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
  report((rbp & 15) == 0, "stack is 16-byte aligned in a call from main (rbp 0x%lx)", rbp);
}

void check_argv(int argc, char** argv) {
  ReportPrefix p("argv");
  report(argc >= 1 && argv[0] && strcmp(argv[0], "selftest") == 0, "argv[0] is the test name");
  report(argv[argc] == nullptr, "argv[argc] is null");
  if (argc >= 2 && strcmp(argv[1], "argv-check") == 0) {
    report(argc == 4, "argc is 4 (got %d)", argc);
    report(argc >= 3 && strcmp(argv[2], "two words") == 0, "quoted argument kept whole");
    report(argc >= 4 && strcmp(argv[3], "last") == 0, "argument after a quoted one");
  } else {
    report(argc == 1, "no arguments given, none received (argc %d)", argc);
  }
}

void check_faults() {
  ReportPrefix p("faults");
  report_fault(catch_fault([] { asm volatile("ud2"); }), ExInfo(Vec::UD), "ud2");
  report_fault(catch_fault([] { asm volatile("int3"); }), ExInfo(Vec::BP), "int3");
  // A selector beyond the GDT limit: #GP with the selector as error code
  // (Intel SDM vol.3 §6.13). FS is untouched when the load faults.
  report_fault(catch_fault([] { asm volatile("mov %0, %%fs" ::"r"(0xfff8)); }),
            ExInfo(Vec::GP, 0xfff8), "load of a selector beyond the GDT limit");
  report_fault(read_safe(reinterpret_cast<void*>(0x8000000000000000ull)).ex, ExInfo(Vec::GP, 0),
            "read of a non-canonical address");

  volatile uint64_t* null = nullptr;
  report_fault(catch_fault([&] { (void)*null; }), ExInfo(Vec::PF, 0), "read of page 0");
  report(cpu::read_cr2() == 0, "CR2 holds the faulting address 0");
  report_fault(write_safe(reinterpret_cast<void*>(8), 1), ExInfo(Vec::PF, paging::pf_error::W),
            "write to page 0");
  report(cpu::read_cr2() == 8, "CR2 holds the faulting address 8");

  ExInfo none = catch_fault([] {});
  report(!none.faulted(), "catch_fault without a fault returns no fault");
  auto ok = rdmsr_safe(cpu::kMsrEfer);
  report(ok.ok() && (ok.value & cpu::efer::LMA), "rdmsr_safe of EFER returns LMA set");
}

void check_protection() {
  ReportPrefix p("protection");
  auto* code = reinterpret_cast<volatile uint8_t*>(&answer);
  uint8_t before = *code;
  report_fault(write8_safe(code, 0xcc), ExInfo(Vec::PF, paging::pf_error::P | paging::pf_error::W), "write to code");
  report(*code == before, "code byte unchanged");

  if (!boot_info().features.nx) {
    report_skip("no NX on this CPU: data pages cannot be non-executable");
    return;
  }
  static uint8_t data_ret[16] = {0xc3};
  auto fn = reinterpret_cast<void (*)()>(data_ret);
  report_fault(catch_fault([&] { fn(); }), ExInfo(Vec::PF, paging::pf_error::P | paging::pf_error::ID),
            "execute from data");
}

void check_boot_info() {
  ReportPrefix p("bootinfo");
  const BootInfo& bi = boot_info();
  const boot::MemStats& m = bi.mem_stats;
  bool sorted = true;
  for (size_t i = 1; i < m.count; ++i)
    if (bi.mem[i].base < bi.mem[i - 1].end()) sorted = false;
  report(m.count > 0 && sorted, "memory map: %zu ranges, sorted and disjoint", m.count);
  report(m.usable_bytes >= (16ull << 20), "at least 16 MiB usable (%lu MiB)",
         m.usable_bytes >> 20);
  report(m.top_of_ram >= m.usable_bytes, "top of RAM 0x%lx", m.top_of_ram);

  // Every usable range is identity-mapped, above 4 GiB too: touch both ends.
  unsigned bad = 0, touched = 0, above_4g = 0;
  for (size_t i = 0; i < m.count; ++i) {
    const boot::MemRange& r = bi.mem[i];
    if (r.kind != boot::MemKind::usable || r.base.value == 0) continue;
    auto* first = reinterpret_cast<volatile uint64_t*>(r.base.value);
    auto* last = reinterpret_cast<volatile uint64_t*>(r.end().value - 8);
    if (!read_safe(first).ok() || !read_safe(last).ok()) ++bad;
    ++touched;
    if (r.end().value > (4ull << 30)) ++above_4g;
  }
  report(touched > 0 && bad == 0, "all %u usable ranges readable at both ends (%u above 4 GiB)",
         touched, above_4g);

  auto* rsdp = reinterpret_cast<const char*>(bi.acpi_rsdp.value);
  report(rsdp && memcmp(rsdp, "RSD PTR ", 8) == 0, "ACPI RSDP at 0x%lx", bi.acpi_rsdp.value);
  const boot::BootTables& bt = boot::boot_tables();
  report(bt.root == (cpu::read_cr3() & paging::kCr3RootMask), "CR3 is our page table");
  report(bt.levels == 4 || bt.levels == 5, "%d-level paging", bt.levels);
  report(bi.reserved.trampoline_page && bi.reserved.trampoline_page < (1u << 20) && !(bi.reserved.trampoline_page & 0xfff),
         "AP trampoline page 0x%lx below 1 MiB", bi.reserved.trampoline_page);
  // UEFI leaves its runtime services callable; a PVH start has no firmware.
  if (bi.entry == boot::Entry::efi)
    report(bi.firmware && bi.firmware->reset && bi.firmware->set_variable,
           "boot: efi: firmware services (ResetSystem, SetVariable) kept");
  else
    report(bi.firmware == nullptr, "boot: %s: no firmware services", boot::entry_str(bi.entry));
  report((cpu::read_cr0() & cpu::cr0::WP) != 0, "CR0.WP set");
  if (bi.fb.present)
    report_info("framebuffer %ux%u at 0x%lx", bi.fb.width, bi.fb.height, bi.fb.base.value);
  else
    report_info("no GOP framebuffer");
}

// Serial is always an output; the framebuffer is one exactly when the
// firmware gave us one.
void check_console() {
  ReportPrefix p("console");
  const SerialPort& sp = console_serial();
  report(sp.base != 0 && sp.source, "serial output at %s 0x%lx (%s)", sp.mmio ? "MMIO" : "port",
         sp.base, sp.source);
  const bool fb = framebuffer_console() != nullptr;
  report(fb == boot_info().fb.present, "framebuffer output %s, GOP framebuffer %s",
         fb ? "registered" : "absent", boot_info().fb.present ? "present" : "absent");
}

// QEMU's devices are used only when the CPUID hypervisor leaf names an
// accelerator QEMU runs on and fw_cfg then answers.
void check_qemu_detection() {
  ReportPrefix p("qemu");
  const BootInfo& bi = boot_info();
  const cpu::Hypervisor hv = cpu::hypervisor();
  const bool qemu_accel = hv == cpu::Hypervisor::kvm || hv == cpu::Hypervisor::tcg;
  report(bi.hypervisor == hv, "BootInfo hypervisor %s matches the CPUID leaf (%s)",
         cpu::hypervisor_str(bi.hypervisor), cpu::hypervisor_str(hv));
  report(bi.fw_cfg_probed == qemu_accel, "fw_cfg %sprobed under hypervisor %s",
         bi.fw_cfg_probed ? "" : "not ", cpu::hypervisor_str(hv));
  report(!bi.on_qemu || qemu_accel, "on_qemu %s", bi.on_qemu ? "yes" : "no");
}

void check_printf() {
  ReportPrefix p("printf");
  char buf[64];
  int n = rt::snprintf(buf, sizeof(buf), "%d|%5s|%-3x|%#lx|%%", -7, "ab", 0xa, 0x1fUL);
  report(n == 19 && strcmp(buf, "-7|   ab|a  |0x1f|%") == 0, "formats \"%s\"", buf);
  n = rt::snprintf(buf, 4, "%s", "truncated");
  report(n == 9 && strcmp(buf, "tru") == 0, "truncates and returns the full length");
}

}  // namespace

int main(int argc, char** argv) {
  check_relocation();
  check_stack_alignment();
  check_argv(argc, argv);
  check_faults();
  check_protection();
  check_boot_info();
  check_console();
  check_qemu_detection();
  check_printf();
  return report_summary();
}
