// umip: User-Mode Instruction Prevention. SGDT, SIDT, SLDT, SMSW and STR
// are unprivileged by default and let CPL3 code read the GDTR, IDTR, LDTR,
// TR and CR0[15:0]; CR4.UMIP (bit 11) takes that away: with it set each of
// the five raises #GP(0) at CPL > 0 and still works at CPL0 (Intel SDM
// vol.3A §2.5 "Control Registers" and the "#GP(0) If CR4.UMIP = 1 and
// CPL > 0" line in each instruction's vol.2 entry; AMD APM vol.2 §3.1.3
// "CR4 Register"). The test runs each instruction at CPL0 and, through
// run_user, at CPL3: with UMIP clear both must work and store the same
// GDTR/IDTR base and limit, LDTR and TR selectors and MSW, the MSW being
// CR0[15:0] (SDM vol.2B "SMSW") and TR the selector our TSS was loaded
// with; with UMIP set CPL0 must still see those values and CPL3 must get
// #GP(0) with nothing stored. UMIP is enumerated by CPUID.(EAX=7,ECX=0):
// ECX[bit 2]; without it CR4.UMIP is a reserved bit and a MOV to CR4 that
// sets it raises #GP(0) (SDM vol.2B "MOV—Move to/from Control Registers",
// exceptions; vol.3A §2.5), which is checked instead, while the UMIP-clear
// checks run everywhere. CR4 is put back after each check. Under QEMU's
// TCG the reserved-bit check is SKIPped, not run: QEMU answers a reserved
// CR4 bit with an SVM #VMEXIT even outside a nested guest, and the test
// would never get control back.
#include <cstdint>

#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "cpu/usermode.h"
#include "rt/expect.h"
#include "rt/report.h"
#include "smp/smp.h"

namespace {

// What one instruction stored: the table base and limit (SGDT, SIDT) or
// the 16-bit value (SLDT, STR, SMSW) in `value`.
struct Stored {
  uint64_t base;
  uint16_t value;
  constexpr bool operator==(const Stored&) const = default;
};

// Memory operands throughout, so that the CPL3 runs also prove that a
// faulting instruction stored nothing.
void do_sgdt(Stored* s) {
  desc::DescriptorPointer p;
  asm volatile("sgdt %0" : "=m"(p));
  *s = {p.base, p.limit};
}
void do_sidt(Stored* s) {
  desc::DescriptorPointer p;
  asm volatile("sidt %0" : "=m"(p));
  *s = {p.base, p.limit};
}
void do_sldt(Stored* s) {
  uint16_t v;
  asm volatile("sldt %0" : "=m"(v));
  *s = {0, v};
}
void do_str(Stored* s) {
  uint16_t v;
  asm volatile("str %0" : "=m"(v));
  *s = {0, v};
}
void do_smsw(Stored* s) {
  uint16_t v;
  asm volatile("smsw %0" : "=m"(v));
  *s = {0, v};
}

struct Insn {
  const char* name;
  void (*run)(Stored*);
  bool table;  // stores base and limit
};
enum : unsigned { kSgdt, kSidt, kSldt, kStr, kSmsw, kInsnCount };
constexpr Insn kInsns[kInsnCount] = {
    {"SGDT", do_sgdt, true}, {"SIDT", do_sidt, true}, {"SLDT", do_sldt, false},
    {"STR", do_str, false},  {"SMSW", do_smsw, false},
};

constexpr Stored kUntouched{0x5a5a5a5a5a5a5a5aull, 0x5a5a};

// The CPL3 side writes here: the image is user-accessible during run_user.
Stored user_out;

struct Run {
  ExInfo ex;
  Stored out;
};

Run at_cpl0(const Insn& insn) {
  Run r{ExInfo(), kUntouched};
  r.ex = catch_fault([&] { insn.run(&r.out); });
  return r;
}

Run at_cpl3(const Insn& insn) {
  user_out = kUntouched;
  void (*fn)(Stored*) = insn.run;
  UserResult u = run_user([fn] { fn(&user_out); });
  return {u.ex, user_out};
}

void report_stored(bool pass, const Insn& insn, const char* what, const Stored& got,
                   const Stored& want) {
  if (insn.table)
    report(pass, "%s: base 0x%lx limit 0x%x (CPL0 without UMIP: base 0x%lx limit 0x%x)",
           what, got.base, got.value, want.base, want.value);
  else
    report(pass, "%s: 0x%x (CPL0 without UMIP: 0x%x)", what, got.value,
           want.value);
}

// Sets (or clears) CR4.UMIP for its lifetime; CR4 is written back as it
// was found.
class ScopedUmip {
 public:
  explicit ScopedUmip(bool on = true)
      : saved_(cpu::read_cr4()),
        ex_(write_cr4_safe(on ? saved_ | cpu::cr4::UMIP : saved_ & ~cpu::cr4::UMIP)) {}
  ~ScopedUmip() { cpu::write_cr4(saved_); }
  ScopedUmip(const ScopedUmip&) = delete;
  ScopedUmip& operator=(const ScopedUmip&) = delete;
  ExInfo fault() const { return ex_; }

 private:
  uint64_t saved_;
  ExInfo ex_;
};

// The CPL0 values with UMIP clear: the reference for everything else.
Stored baseline[kInsnCount];

void umip_clear() {
  ReportPrefix p("UMIP clear");
  ScopedUmip clear(false);
  if (clear.fault()) report_abort("clearing CR4.UMIP faulted");
  unsigned i = 0;
  for (const Insn& insn : kInsns) {
    ReportPrefix q(insn.name);
    Run k = at_cpl0(insn);
    report_fault(k.ex, ExInfo(), "CPL0");
    baseline[i++] = k.out;
    Run u = at_cpl3(insn);
    report_fault(u.ex, ExInfo(), "CPL3");
    report_stored(!u.ex && u.out == k.out, insn, "at CPL3", u.out, k.out);
  }
  const uint16_t cr0_low = static_cast<uint16_t>(cpu::read_cr0());
  report(baseline[kSmsw].value == cr0_low, "SMSW stores CR0[15:0] (0x%x, CR0[15:0] 0x%x)",
         baseline[kSmsw].value, cr0_low);
  const uint16_t tss = desc::tss_selector(smp::smp_id());
  report(baseline[kStr].value == tss, "STR stores our TSS selector (0x%x, loaded 0x%x)",
         baseline[kStr].value, tss);
}

void umip_set() {
  ReportPrefix p("UMIP set");
  const uint64_t cr4 = cpu::read_cr4();
  {
    ScopedUmip umip;
    report_fault(umip.fault(), ExInfo(), "MOV to CR4 setting UMIP");
    report(cpu::read_cr4() == (cr4 | cpu::cr4::UMIP), "CR4 reads back with UMIP (0x%lx)",
           cpu::read_cr4());
  }
  unsigned i = 0;
  for (const Insn& insn : kInsns) {
    ReportPrefix q(insn.name);
    const Stored want = baseline[i++];
    ScopedUmip umip;
    if (umip.fault()) {
      report_fail("CR4.UMIP cannot be set");
      continue;
    }
    Run k = at_cpl0(insn);
    report_fault(k.ex, ExInfo(), "CPL0");
    report_stored(!k.ex && k.out == want, insn, "at CPL0", k.out, want);
    Run u = at_cpl3(insn);
    report_fault(u.ex, ExInfo(Vec::GP, 0), "CPL3");
    report(u.out == kUntouched, "CPL3 stored nothing");
  }
  report(cpu::read_cr4() == cr4, "CR4 restored (0x%lx, was 0x%lx)", cpu::read_cr4(), cr4);
}

void umip_reserved() {
  ReportPrefix p("UMIP not enumerated");
  // QEMU's MOV to CR4 helper answers a reserved bit with an SVM #VMEXIT
  // (VMEXIT_INVALID) whether or not a nested guest runs, so outside one it
  // loads "host" state from VM_HSAVE_PA and never returns to the test: the
  // check cannot run there at all.
  if (known_tcg_difference("MOV to CR4 with a reserved bit set performs an SVM #VMEXIT "
                           "(VMEXIT_INVALID) even outside a guest, instead of #GP(0)")) {
    report_skip("MOV to CR4 setting the reserved UMIP bit: not run under TCG, the guest "
                "would not come back");
    return;
  }
  const uint64_t cr4 = cpu::read_cr4();
  ExInfo ex = write_cr4_safe(cr4 | cpu::cr4::UMIP);
  if (!ex) cpu::write_cr4(cr4);
  report_fault(ex, ExInfo(Vec::GP, 0), "MOV to CR4 setting the reserved UMIP bit");
  report(cpu::read_cr4() == cr4, "CR4 unchanged (0x%lx, was 0x%lx)", cpu::read_cr4(), cr4);
}

}  // namespace

int main() {
  umip_clear();
  if (cpu::has(cpu::feature::kUmip)) {
    umip_set();
  } else {
    report_skip("UMIP set: %s is clear", cpu::feature::kUmip.name);
    umip_reserved();
  }
  return report_summary();
}
