// tdx: what a TDX guest (TD) can check about itself.
//
// Plain guests SKIP with the reason. In a TD: the CPUID leaf 0x21
// signature, TDG.VP.INFO (GPA width 48 or 52, the shared bit the boot
// snapshot used, vCPU counts), the transport is TDVMCALL, and a MapGPA
// round trip: a page converted to shared (MapGPA with the shared bit, PTE
// shared bit set), used, converted back (MapGPA private, TDG.MEM.PAGE.ACCEPT,
// PTE shared bit clear) and used again.
#include <cstdint>

#include "cpu/addr.h"
#include "mem/paging.h"
#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "mem/memory.h"
#include "platform/detect.h"
#include "platform/insn.h"
#include "platform/tdx.h"
#include "platform/transport.h"
#include "rt/report.h"

namespace {

// MapGPA may convert only part of the range and ask to be called again
// from the GPA in R11 (GHCI §3, TDG.VP.VMCALL<MapGPA>).
bool map_gpa(uint64_t gpa, uint64_t size) {
  for (int tries = 0; tries < 64; ++tries) {
    tdx::TdvmcallResult r = platform::tdvmcall(tdx::vmcall::map_gpa(gpa, size));
    if (r.ok()) return true;
    if (r.tdcall_status != 0 || r.vmcall_status != tdx::kVmcallRetry) return false;
    const uint64_t next = r.r11;
    if (next < gpa || next >= gpa + size) return false;
    size -= next - gpa;
    gpa = next;
  }
  return false;
}

void check_info(const BootInfo& bi) {
  ReportPrefix p("info");
  cpu::CpuidResult s = cpu::cpuid(platform::kCpuidTdx, 0);
  report(platform::is_tdx_signature(s.ebx, s.ecx, s.edx), "CPUID 0x21 reads \"IntelTDX    \"");
  tdx::TdcallRegs regs = tdx::encode_vp_info();
  platform::tdcall(regs);
  report(regs.rax == 0, "TDG.VP.INFO succeeds (status 0x%lx)", regs.rax);
  tdx::VpInfo info = tdx::decode_vp_info(regs);
  report(info.gpa_width == 48 || info.gpa_width == 52, "GPA width %u is 48 or 52", info.gpa_width);
  report(info.shared_mask() == bi.detected.tdx_shared_mask, "shared bit 0x%lx matches the boot snapshot",
         info.shared_mask());
  report(info.num_vcpus >= 1 && info.num_vcpus <= info.max_vcpus &&
             info.vcpu_index < info.num_vcpus,
         "vCPU %u of %u (max %u)", info.vcpu_index, info.num_vcpus, info.max_vcpus);
  report(platform::transport_channel() == platform::Channel::tdvmcall,
         "console and verdict go through TDVMCALL");
}

void check_map_gpa(const BootInfo& bi) {
  ReportPrefix p("map_gpa");
  mem::PageResult page = mem::alloc_pages(1);
  if (!page.ok()) {
    report_skip("no page to convert");
    return;
  }
  const uint64_t va = page.pa.value;
  paging::Translation t;
  if (!paging::lookup(VirtAddr(va), &t)) {
    report_fail("page 0x%lx not mapped", va);
    return;
  }
  paging::Attr shared = t.attr, priv = t.attr;
  shared.shared = true;
  priv.shared = false;
  const bool to_shared = map_gpa(va | bi.detected.tdx_shared_mask, kPageSize);
  report(to_shared, "MapGPA(0x%lx, shared)", va | bi.detected.tdx_shared_mask);
  if (!to_shared) return;
  const bool remapped = paging::protect(VirtAddr(va), kPageSize, shared) == paging::MapStatus::ok;
  volatile uint64_t* p64 = reinterpret_cast<volatile uint64_t*>(va);
  if (remapped) {
    p64[0] = 0xfeedface00c0ffeeull;
    report(p64[0] == 0xfeedface00c0ffeeull, "shared page reads back what was written");
  } else {
    report_fail("cannot map the page shared");
  }
  const bool to_private = map_gpa(va, kPageSize);
  report(to_private, "MapGPA(0x%lx, private)", va);
  tdx::TdcallRegs acc = tdx::encode_mem_page_accept(va, tdx::PageLevel::k4k);
  platform::tdcall(acc);
  report(acc.rax == 0, "TDG.MEM.PAGE.ACCEPT (status 0x%lx)", acc.rax);
  if (paging::protect(VirtAddr(va), kPageSize, priv) == paging::MapStatus::ok && acc.rax == 0) {
    p64[0] = 42;
    report(p64[0] == 42, "private page usable again");
    (void)mem::free_pages(page.pa, 1);
  }
}

}  // namespace

int main() {
  const BootInfo& bi = boot_info();
  if (bi.detected.platform != Platform::tdx) {
    const uint32_t max = cpu::cpuid(0).eax;
    if (max < platform::kCpuidTdx)
      report_skip("not a TD (platform %s; max basic CPUID leaf 0x%x < 0x21)",
                  platform_str(bi.detected.platform), max);
    else
      report_skip("not a TD (platform %s; CPUID 0x21 has no \"IntelTDX    \" signature)",
                  platform_str(bi.detected.platform));
    return report_summary();
  }
  check_info(bi);
  check_map_gpa(bi);
  return report_summary();
}
