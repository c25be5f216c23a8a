// msr: model-specific registers read back what was written, read-only bits
// stay put, and reserved bits and non-canonical addresses raise #GP.
//
// Round trips use architectural MSRs every x86-64 CPU has; each is restored
// afterwards. The #GP checks are what real CPUs and KVM do; QEMU's TCG
// ignores reserved bits, so there they are XFAIL with the value seen.
#include <cstdint>

#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "efi/bootinfo.h"
#include "rt/expect.h"
#include "rt/report.h"

namespace {

constexpr uint32_t kTsc = 0x10;

void round_trip(uint32_t msr, const char* name, uint64_t value) {
  auto old = rdmsr_safe(msr);
  if (!old.ok()) {
    report_fail("%s (0x%x) cannot be read", name, msr);
    return;
  }
  ExInfo w = wrmsr_safe(msr, value);
  auto back = rdmsr_safe(msr);
  report(!w.faulted() && back.ok() && back.value == value,
         "%s (0x%x) reads back 0x%lx (got 0x%lx)", name, msr, value, back.value);
  (void)wrmsr_safe(msr, old.value);
}

void round_trips() {
  ReportPrefix p("round trip");
  round_trip(cpu::kMsrKernelGsBase, "KERNEL_GS_BASE", 0x00007fffdeadb000ull);
  round_trip(cpu::kMsrFsBase, "FS_BASE", 0xffff800012345000ull);
  round_trip(cpu::kMsrSysenterCs, "SYSENTER_CS", 0x10);
  round_trip(cpu::kMsrSysenterEsp, "SYSENTER_ESP", 0xffffffff81000000ull);
  round_trip(cpu::kMsrSysenterEip, "SYSENTER_EIP", 0xffffffff81001000ull);
  round_trip(cpu::kMsrStar, "STAR", 0x0023001000000000ull);
  round_trip(cpu::kMsrLstar, "LSTAR", 0xffffffff81002000ull);
  round_trip(cpu::kMsrCstar, "CSTAR", 0xffffffff81003000ull);
  round_trip(cpu::kMsrSfmask, "SFMASK", 0x47700);
  round_trip(cpu::kMsrPat, "PAT", 0x0007040600070406ull);
  if (boot_info().features.rdtscp) {
    round_trip(cpu::kMsrTscAux, "TSC_AUX", 0x1234);
    uint32_t aux;
    (void)wrmsr_safe(cpu::kMsrTscAux, 0xabc);
    asm volatile("rdtscp" : "=c"(aux)::"rax", "rdx");
    report(aux == 0xabc, "RDTSCP returns TSC_AUX (0x%x)", aux);
    (void)wrmsr_safe(cpu::kMsrTscAux, 0);
  } else {
    report_skip("TSC_AUX: no RDTSCP");
  }
}

void tsc() {
  ReportPrefix p("tsc");
  bool tcg = known_tcg_difference("IA32_TIME_STAMP_COUNTER is not the RDTSC counter");
  uint64_t before = cpu::rdtsc();
  uint64_t msr = cpu::rdmsr(kTsc);
  report_xfail(tcg, msr >= before, "IA32_TIME_STAMP_COUNTER (0x%lx) is not behind RDTSC (0x%lx)",
               msr, before);
  uint64_t target = before + (1ull << 40);
  (void)wrmsr_safe(kTsc, target);
  uint64_t after = cpu::rdtsc();
  report_xfail(tcg, after >= target && after - target < (1ull << 36),
               "a write moves the TSC (wrote 0x%lx, RDTSC then read 0x%lx)", target, after);
}

void read_only_bits() {
  ReportPrefix p("EFER");
  uint64_t efer = cpu::rdmsr(cpu::kMsrEfer);
  report((efer & (cpu::efer::LME | cpu::efer::LMA)) == (cpu::efer::LME | cpu::efer::LMA),
         "LME and LMA set in long mode (0x%lx)", efer);
  // LMA is read-only (AMD APM vol.2 §3.1.7): writing it clear changes nothing.
  ExInfo e = wrmsr_safe(cpu::kMsrEfer, efer & ~cpu::efer::LMA);
  report(!e.faulted() && (cpu::rdmsr(cpu::kMsrEfer) & cpu::efer::LMA), "LMA ignores writes");
}

void gp(bool xfail, ExInfo got, const char* what) {
  report_fault_xfail(xfail, got, ExInfo(Vec::GP, 0), what);
}

void reserved() {
  ReportPrefix p("#GP");
  bool tcg = known_tcg_difference("reserved MSR bits and unknown MSRs do not fault");
  uint64_t efer = cpu::rdmsr(cpu::kMsrEfer);
  ExInfo e = wrmsr_safe(cpu::kMsrEfer, efer | (1ull << 63));
  if (!e.faulted()) (void)wrmsr_safe(cpu::kMsrEfer, efer);
  gp(tcg, e, "EFER bit 63 (reserved)");

  uint64_t lstar = cpu::rdmsr(cpu::kMsrLstar);
  e = wrmsr_safe(cpu::kMsrLstar, 0x8000000000000000ull);
  if (!e.faulted()) (void)wrmsr_safe(cpu::kMsrLstar, lstar);
  gp(tcg, e, "non-canonical LSTAR");

  uint64_t pat = cpu::rdmsr(cpu::kMsrPat);
  e = wrmsr_safe(cpu::kMsrPat, (pat & ~0xffull) | 0x02);  // memory type 2 is reserved
  if (!e.faulted()) (void)wrmsr_safe(cpu::kMsrPat, pat);
  gp(tcg, e, "PAT entry with reserved memory type 2");

  gp(tcg, rdmsr_safe(0x4b564dff).ex, "read of an unimplemented MSR");
}

}  // namespace

int main() {
  round_trips();
  tsc();
  read_only_bits();
  reserved();
  return report_summary();
}
