// msr: model-specific registers read back what was written, read-only bits
// stay put, and reserved bits and non-canonical addresses raise #GP.
//
// Round trips use architectural MSRs every x86-64 CPU has; each is restored
// afterwards. The #GP checks are what real CPUs and KVM do; QEMU's TCG
// ignores reserved bits, so there they are XFAIL with the value seen.
//
// Then the MSRs that CPUID enumerates, each where it is enumerated:
//  - the machine-check banks that MCG_CAP[7:0] counts (SDM vol.3 §16.3.1,
//    §16.3.2; APM vol.2 §9.3): every bank's CTL and STATUS read, the first
//    MSR past the last bank raises #GP, and MCG_CAP is read-only;
//  - the x2APIC MSR range 0x800-0x8ff raises #GP while the APIC is in xAPIC
//    mode (SDM vol.3 §11.12.1.2), and is unimplemented, so #GP too, where
//    CPUID.1:ECX[21] does not enumerate x2APIC;
//  - PAT entries of the reserved memory types 2, 3 and 8-255 raise #GP
//    (SDM vol.3 §12.12.2), and IA32_MTRR_DEF_TYPE takes only the types UC,
//    WC, WT, WP and WB and no reserved bit, while IA32_MTRRCAP is read-only
//    (SDM vol.3 §12.11.2.1, §12.11.1);
//  - EFER's reserved bits raise #GP (SDM vol.3 §2.2.1, APM vol.2 §3.1.7);
//  - SPEC_CTRL and PRED_CMD (SDM vol.4 table 2-2), TSC_AUX (bits 63:32
//    reserved, SDM vol.4) and IA32_XSS (only bits CPUID.(0DH,1):EDX:ECX
//    enumerates, SDM vol.1 §13.3).
#include <cstdint>
#include <initializer_list>

#include "apic/apic.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "rt/expect.h"
#include "rt/format.h"
#include "rt/report.h"

namespace {


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
  uint64_t msr = cpu::rdmsr(cpu::kMsrTsc);
  report_xfail(tcg, msr >= before, "IA32_TIME_STAMP_COUNTER (0x%lx) is not behind RDTSC (0x%lx)",
               msr, before);
  uint64_t target = before + (1ull << 40);
  (void)wrmsr_safe(cpu::kMsrTsc, target);
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

const char* const kTcgReserved = "reserved MSR bits and unknown MSRs do not fault";

// wrmsr_safe of a value that must fault; if it did not, the old value goes
// back at once, so that nothing the check wrote stays in effect.
ExInfo write_expecting_fault(uint32_t msr, uint64_t value) {
  auto old = rdmsr_safe(msr);
  ExInfo e = wrmsr_safe(msr, value);
  if (!e.faulted() && old.ok()) (void)wrmsr_safe(msr, old.value);
  return e;
}

void machine_check_banks() {
  ReportPrefix p("MCE banks");
  if (!cpu::has(cpu::feature::kMce) || !cpu::has(cpu::feature::kMca)) {
    report_skip("no machine-check architecture: %s, %s", cpu::feature::kMce.name,
                cpu::feature::kMca.name);
    return;
  }
  auto cap = rdmsr_safe(cpu::kMsrMcgCap);
  report(cap.ok(), "MCG_CAP reads (0x%lx)", cap.value);
  if (!cap.ok()) return;
  const unsigned banks = static_cast<unsigned>(cap.value & cpu::kMcgCapCount);
  report_info("MCG_CAP counts %u banks", banks);
  report(rdmsr_safe(cpu::kMsrMcgStatus).ok(), "MCG_STATUS reads");
  unsigned readable = 0;
  for (unsigned i = 0; i < banks; ++i)
    if (rdmsr_safe(cpu::kMsrMc0Ctl + 4 * i).ok() && rdmsr_safe(cpu::kMsrMc0Ctl + 4 * i + 1).ok())
      ++readable;
  report(readable == banks, "CTL and STATUS of each of the %u banks read (%u did)", banks, readable);
  const bool tcg = known_tcg_difference(kTcgReserved);
  if (banks < 32)
    gp(tcg, rdmsr_safe(cpu::kMsrMc0Ctl + 4 * banks).ex, "MCi_CTL of the first bank past MCG_CAP's count");
  gp(tcg, write_expecting_fault(cpu::kMsrMcgCap, cap.value), "a write to the read-only MCG_CAP");
}

void x2apic_range() {
  ReportPrefix p("x2APIC MSRs");
  if (apic::mode() != apic::Mode::xapic) {
    report_skip("the APIC is not in xAPIC mode (%s)", apic::mode_str(apic::mode()));
    return;
  }
  // Without x2APIC in CPUID the range is unimplemented MSRs, which must
  // fault as well; TCG's unknown-MSR deviation then applies. With it, TCG
  // emulates the range and no deviation is expected.
  const bool xfail = !apic::x2apic_supported() && known_tcg_difference(kTcgReserved);
  // ID, version, TPR and SVR: registers that exist in x2APIC mode.
  const uint32_t offsets[] = {0x20, 0x30, 0x80, 0xf0};
  for (uint32_t off : offsets) {
    const uint32_t msr = apic::x2apic_msr(off);
    char what[64];
    rt::snprintf(what, sizeof(what), "RDMSR 0x%x in xAPIC mode", msr);
    gp(xfail, rdmsr_safe(msr).ex, what);
  }
  gp(xfail, write_expecting_fault(apic::x2apic_msr(0x80), 0), "WRMSR of the x2APIC TPR in xAPIC mode");
  gp(xfail, rdmsr_safe(apic::kMsrX2apicLast).ex, "RDMSR of the range's last MSR in xAPIC mode");
}

void memory_types() {
  ReportPrefix p("memory types");
  const bool tcg = known_tcg_difference(kTcgReserved);
  const uint64_t pat = cpu::rdmsr(cpu::kMsrPat);
  gp(tcg, write_expecting_fault(cpu::kMsrPat, (pat & ~0xffull) | 0x03), "PAT entry 0 with reserved type 3");
  gp(tcg, write_expecting_fault(cpu::kMsrPat, (pat & ~(0xffull << 56)) | (0x08ull << 56)),
     "PAT entry 7 with reserved type 8");
  if (!cpu::has(cpu::feature::kMtrr)) {
    report_skip("MTRRs: %s clear", cpu::feature::kMtrr.name);
    return;
  }
  auto cap = rdmsr_safe(cpu::kMsrMtrrCap);
  report(cap.ok(), "MTRRCAP reads (0x%lx)", cap.value);
  gp(tcg, write_expecting_fault(cpu::kMsrMtrrCap, cap.value), "a write to the read-only MTRRCAP");
  const uint64_t def = cpu::rdmsr(cpu::kMsrMtrrDefType);
  report((def & ~cpu::kMtrrDefTypeValid) == 0, "MTRR_DEF_TYPE has no reserved bit set (0x%lx)", def);
  ExInfo same = wrmsr_safe(cpu::kMsrMtrrDefType, def);
  report(!same.faulted() && cpu::rdmsr(cpu::kMsrMtrrDefType) == def, "MTRR_DEF_TYPE takes its own value back");
  const uint64_t base = def & ~0xffull;
  for (uint64_t type : {2ull, 3ull, 7ull}) {
    char what[64];
    rt::snprintf(what, sizeof(what), "MTRR_DEF_TYPE with reserved type %lu", type);
    gp(tcg, write_expecting_fault(cpu::kMsrMtrrDefType, base | type), what);
  }
  gp(tcg, write_expecting_fault(cpu::kMsrMtrrDefType, def | (1ull << 8)), "MTRR_DEF_TYPE reserved bit 8");
  gp(tcg, write_expecting_fault(cpu::kMsrMtrrDefType, def | (1ull << 12)), "MTRR_DEF_TYPE reserved bit 12");
}

void efer_reserved() {
  ReportPrefix p("EFER");
  const bool tcg = known_tcg_difference(kTcgReserved);
  const uint64_t efer = cpu::rdmsr(cpu::kMsrEfer);
  // Reserved on both vendors: 1-7, 9 and 16-63 (bits 12-15 are AMD's).
  for (unsigned bit : {1u, 7u, 9u, 16u, 32u}) {
    char what[48];
    rt::snprintf(what, sizeof(what), "reserved bit %u", bit);
    gp(tcg, write_expecting_fault(cpu::kMsrEfer, efer | (1ull << bit)), what);
  }
  report(cpu::rdmsr(cpu::kMsrEfer) == efer, "EFER unchanged afterwards (0x%lx)", efer);
}

void speculation_controls() {
  ReportPrefix p("speculation");
  using namespace cpu::feature;
  const bool spec_ctrl = cpu::has(kIbrsIbpb) || cpu::has(kStibp) || cpu::has(kSsbd) ||
                         cpu::has(kAmdIbrs) || cpu::has(kAmdStibp) || cpu::has(kAmdSsbd);
  if (!spec_ctrl) {
    report_skip("SPEC_CTRL: none of %s, %s, %s, %s, %s, %s", kIbrsIbpb.name, kStibp.name, kSsbd.name,
                kAmdIbrs.name, kAmdStibp.name, kAmdSsbd.name);
  } else {
    auto v = rdmsr_safe(cpu::kMsrSpecCtrl);
    report(v.ok(), "SPEC_CTRL reads (0x%lx)", v.value);
    ExInfo w = wrmsr_safe(cpu::kMsrSpecCtrl, v.value);
    report(!w.faulted(), "SPEC_CTRL takes its own value back");
    gp(known_tcg_difference(kTcgReserved), write_expecting_fault(cpu::kMsrSpecCtrl, v.value | (1ull << 63)),
       "SPEC_CTRL reserved bit 63");
  }
  if (!cpu::has(kIbrsIbpb) && !cpu::has(kAmdIbpb)) {
    report_skip("PRED_CMD: neither %s nor %s", kIbrsIbpb.name, kAmdIbpb.name);
  } else {
    report(!wrmsr_safe(cpu::kMsrPredCmd, cpu::kPredCmdIbpb).faulted(), "PRED_CMD takes IBPB");
    gp(false, rdmsr_safe(cpu::kMsrPredCmd).ex, "PRED_CMD is write-only: RDMSR");
    gp(known_tcg_difference(kTcgReserved), wrmsr_safe(cpu::kMsrPredCmd, 1ull << 63),
       "PRED_CMD reserved bit 63");
  }
}

void tsc_aux_and_xss() {
  ReportPrefix p("TSC_AUX, XSS");
  using namespace cpu::feature;
  if (!cpu::has(kRdtscp) && !cpu::has(kRdpid)) {
    report_skip("TSC_AUX: neither %s nor %s", kRdtscp.name, kRdpid.name);
  } else {
    gp(known_tcg_difference(kTcgReserved), write_expecting_fault(cpu::kMsrTscAux, 1ull << 32),
       "TSC_AUX reserved bit 32");
  }
  if (!cpu::has(kXsaves)) {
    report_skip("IA32_XSS: %s clear", kXsaves.name);
    gp(known_tcg_difference(kTcgReserved), rdmsr_safe(cpu::kMsrXss).ex, "IA32_XSS without XSAVES: RDMSR");
    return;
  }
  const cpu::CpuidResult d1 = cpu::cpuid(0xd, 1);
  const uint64_t supported = uint64_t(d1.edx) << 32 | d1.ecx;
  auto xss = rdmsr_safe(cpu::kMsrXss);
  report(xss.ok() && (xss.value & ~supported) == 0, "IA32_XSS reads, only enumerated bits set (0x%lx of 0x%lx)",
         xss.value, supported);
  unsigned bit = 0;
  while (bit < 63 && (supported & (1ull << bit))) ++bit;
  char what[64];
  rt::snprintf(what, sizeof(what), "IA32_XSS bit %u, which CPUID does not enumerate", bit);
  gp(known_tcg_difference(kTcgReserved), write_expecting_fault(cpu::kMsrXss, xss.value | (1ull << bit)), what);
}

}  // namespace

int main() {
  round_trips();
  tsc();
  read_only_bits();
  reserved();
  machine_check_banks();
  x2apic_range();
  memory_types();
  efer_reserved();
  speculation_controls();
  tsc_aux_and_xss();
  return report_summary();
}
