// sev: what an SEV, SEV-ES or SEV-SNP guest can check about itself.
//
// Plain guests SKIP with the reason. On SEV*: the C-bit position the boot
// snapshot used agrees with CPUID Fn8000_001F EBX[5:0] (read again now,
// through our #VC handler under SEV-ES/SNP); SEV_STATUS is consistent
// (SNP implies SEV-ES implies SEV, each advertised by CPUID); under
// SEV-ES/SNP the hypervisor offers GHCB protocol version 2 and the C-bit
// through the MSR protocol; a page goes private -> shared -> private
// (SNP: PVALIDATE and page-state changes) and stays usable on both sides.
#include <cstdint>

#include "cpu/addr.h"
#include "mem/paging.h"
#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "mem/memory.h"
#include "platform/detect.h"
#include "platform/ghcb.h"
#include "platform/sev.h"
#include "platform/transport.h"
#include "rt/report.h"

namespace {

namespace sev = platform::sev;

void check_cpuid_and_status(const BootInfo& bi) {
  ReportPrefix p("status");
  cpu::CpuidResult r = cpu::cpuid(platform::kCpuidMemEncryption);
  report((r.ebx & platform::kCbitMask) == bi.detected.sev_cbit, "C-bit %u matches CPUID Fn8000_001F EBX (%u)",
         bi.detected.sev_cbit, r.ebx & platform::kCbitMask);
  report(r.eax & platform::kMemEncSev, "CPUID advertises SEV (EAX 0x%x)", r.eax);
  const uint64_t status = cpu::rdmsr(platform::kMsrSevStatus);
  report(status == bi.detected.sev_status, "SEV_STATUS 0x%lx unchanged since boot", status);
  report(status & platform::kSevStatusSev, "SEV_STATUS.SEV set");
  const bool es = status & platform::kSevStatusSevEs, snp = status & platform::kSevStatusSnp;
  report(!snp || es, "SNP implies SEV-ES");
  report(!es || (r.eax & platform::kMemEncSevEs), "SEV-ES active only where CPUID advertises it");
  report(!snp || (r.eax & platform::kMemEncSevSnp), "SNP active only where CPUID advertises it");
  report(platform::classify(r.eax, status, false) == bi.detected.platform, "platform %s agrees",
         platform_str(bi.detected.platform));
}

void check_ghcb_protocol(const BootInfo& bi) {
  ReportPrefix p("ghcb");
  ghcb::msr::SevInfo info{};
  const bool ok = sev::sev_info(&info);
  report(ok, "SEV information response (versions %u-%u, C-bit %u)", info.min_version,
         info.max_version, info.c_bit);
  report(ok && info.min_version <= ghcb::kProtocolVersion && info.max_version >= ghcb::kProtocolVersion,
         "hypervisor offers GHCB protocol version %u", ghcb::kProtocolVersion);
  report(ok && info.c_bit == bi.detected.sev_cbit, "C-bit from the hypervisor agrees with CPUID");
  report(sev::ghcb_ready() && platform::transport_channel() == platform::Channel::ghcb,
         "GHCB set up and carrying the console");
}

void check_page_state(const BootInfo& bi) {
  ReportPrefix p("page state");
  mem::PageResult page = mem::alloc_pages(1);
  if (!page.ok()) {
    report_skip("no page to convert");
    return;
  }
  const uint64_t va = page.pa.value;
  // A 4 KiB leaf of its own, so the conversion flips one page only.
  paging::Translation t;
  if (!paging::lookup(VirtAddr(va), &t) ||
      paging::protect(VirtAddr(va), kPageSize, t.attr) != paging::MapStatus::ok) {
    report_fail("cannot isolate the page at 0x%lx", va);
    return;
  }
  sev::ConvertResult r = sev::make_shared(va);
  report(r.step == sev::ConvertResult::ok, "private -> shared (%s, step %u code 0x%x)",
         bi.detected.platform == Platform::sev_snp ? "PVALIDATE + PSC" : "C-bit only", r.step, r.code);
  volatile uint64_t* p64 = reinterpret_cast<volatile uint64_t*>(va);
  if (r.step == sev::ConvertResult::ok) {
    p64[0] = 0x5a5a5a5a12345678ull;
    report(p64[0] == 0x5a5a5a5a12345678ull, "shared page reads back what was written");
  }
  r = sev::make_private(va);
  report(r.step == sev::ConvertResult::ok, "shared -> private (step %u code 0x%x)", r.step, r.code);
  if (r.step == sev::ConvertResult::ok) {
    p64[0] = 0x1122334455667788ull;
    report(p64[0] == 0x1122334455667788ull, "private page usable again");
    (void)mem::free_pages(page.pa, 1);
  }
}

}  // namespace

int main() {
  const BootInfo& bi = boot_info();
  if (bi.detected.platform != Platform::sev && !platform::has_ghcb(bi.detected.platform)) {
    report_skip("not an SEV guest (platform %s; CPUID Fn8000_001F EAX 0x%x%s)",
                platform_str(bi.detected.platform), bi.detected.mem_enc_eax,
                bi.detected.mem_enc_eax & platform::kMemEncSev ? ", SEV_STATUS.SEV clear"
                                                          : ": SEV not advertised");
    return report_summary();
  }
  check_cpuid_and_status(bi);
  if (platform::has_ghcb(bi.detected.platform)) check_ghcb_protocol(bi);
  check_page_state(bi);
  return report_summary();
}
