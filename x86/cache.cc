// cache: the cache-control instructions and fences are there exactly where
// CPUID says, keep memory intact, and fault as the manuals say. CLFLUSH
// (NP 0F AE /7, CPUID.1:EDX[bit 19]), CLFLUSHOPT (66 0F AE /7,
// CPUID.(EAX=7,ECX=0):EBX[bit 23]), CLWB (66 0F AE /6, EBX[bit 24]), LFENCE,
// MFENCE and MOVNTI (SSE2, CPUID.1:EDX[bit 26]) and SFENCE (SSE,
// CPUID.1:EDX[bit 25]) must execute where enumerated and raise #UD where not
// (Intel SDM vol.2 under each instruction, "Exceptions"; AMD APM vol.3).
// Without the feature, the SDM entries of CLFLUSHOPT and CLWB still say #UD,
// and the encodings they reuse do not rescue them: 66 0F AE /6 with a memory
// operand would otherwise be XSAVEOPT, which raises #UD with a 66 prefix
// (SDM "XSAVEOPT"), and a CPU that ignored the 66 of 66 0F AE /7 and ran
// CLFLUSH would fail here, as would a hypervisor that hides CLFLUSHOPT or
// CLWB in CPUID but lets the hardware run them. WBNOINVD (F3 0F 09,
// CPUID.80000008H:EBX[bit 9]) is different: its SDM entry lists #UD only
// for LOCK, none for a missing feature, since F3 0F 09 is WBINVD with an F3
// prefix that CPUs without it ignore; so it must execute at CPL0 whatever
// CPUID says. A line written and
// then flushed by CLFLUSH, CLFLUSHOPT or CLWB, or written back by WBINVD or
// WBNOINVD, reads back unchanged (the flushes write modified data back,
// SDM "CLFLUSH", "CLWB"); CLFLUSH of the local APIC and HPET MMIO pages does
// not fault (the memory type does not matter to it); CLFLUSH is checked
// like a byte load (SDM "CLFLUSH"), so a non-canonical address raises #GP(0)
// and an unmapped page #PF, and it also works at CPL3. INVD, WBINVD and
// WBNOINVD are privileged: #GP(0) at CPL3 (SDM "INVD", "WBINVD",
// "WBNOINVD"). INVD discards modified lines without writing them back, so it
// runs at CPL0 only under a hypervisor, which intercepts it (VMX always,
// SDM vol.3C "Instructions That Cause VM Exits Unconditionally"; KVM sets
// the SVM intercept), with interrupts off and right after a WBINVD, so no
// line is dirty; on bare metal it is SKIPped, since an SMI or another CPU
// could still dirty a line in between.
#include <cstdint>

#include "apic/apic.h"
#include "cpu/addr.h"
#include "cpu/exceptions.h"
#include "mem/paging.h"
#include "cpu/processor.h"
#include "cpu/usermode.h"
#include "rt/expect.h"
#include "rt/report.h"
#include "timer/hpet.h"

namespace {

using cpu::CpuidBit;
namespace feature = cpu::feature;

constexpr uint64_t kNonCanonical = 0x8000000000000000ull;
constexpr unsigned kLineWords = 8;

// One 64-byte line per check, in a page of its own (the image's .bss: CPL3
// can reach it inside run_user too).
alignas(4096) volatile uint64_t lines[16][kLineWords];

volatile uint64_t* fresh_line(unsigned index, uint64_t seed) {
  volatile uint64_t* l = lines[index];
  for (unsigned i = 0; i < kLineWords; ++i) l[i] = seed ^ (0x0101010101010101ull * (i + 1));
  return l;
}

bool line_intact(const volatile uint64_t* l, uint64_t seed) {
  for (unsigned i = 0; i < kLineWords; ++i)
    if (l[i] != (seed ^ (0x0101010101010101ull * (i + 1)))) return false;
  return true;
}

// "present" or "absent", and the flag, once per instruction.
bool enumerated(const CpuidBit& b) {
  const bool on = cpu::has(b);
  report_info("%s: %s", b.name, on ? "set" : "clear");
  return on;
}

ExInfo expected_if(bool on) { return on ? ExInfo() : ExInfo(Vec::UD); }

// The memory operand is (%rax) throughout, so an address fault is a
// DS-relative #GP, never an SS-relative #SS (SDM vol.3 §6.15).
void clflush(const volatile void* p) { asm volatile("clflush (%0)" ::"a"(p) : "memory"); }
void clflushopt(const volatile void* p) { asm volatile("clflushopt (%0)" ::"a"(p) : "memory"); }
void clwb(const volatile void* p) { asm volatile("clwb (%0)" ::"a"(p) : "memory"); }
void sfence() { asm volatile("sfence" ::: "memory"); }
void mfence() { asm volatile("mfence" ::: "memory"); }
void wbinvd() { asm volatile("wbinvd" ::: "memory"); }
void wbnoinvd() { asm volatile("wbnoinvd" ::: "memory"); }

void report_line(bool intact, const char* what) {
  report(intact, "a written line reads back unchanged after %s", what);
}

void check_clflush() {
  ReportPrefix p("CLFLUSH");
  const cpu::CpuidResult l1 = cpu::cpuid(1);
  const bool on = enumerated(feature::kClflush);
  volatile uint64_t* l = fresh_line(0, 0x1111);
  ExInfo ex = catch_fault([l] {
    clflush(l);
    mfence();
  });
  report_fault(ex, expected_if(on), "CLFLUSH of a written line");
  if (!on) return;
  report_line(line_intact(l, 0x1111), "CLFLUSH");

  // CPUID.1:EBX[15:8]: the CLFLUSH line size in 8-byte units, valid when
  // CLFSH is set (SDM vol.2A, CPUID, table 3-8).
  const unsigned line = ((l1.ebx >> 8) & 0xff) * 8;
  report(line && !(line & (line - 1)), "CLFLUSH line size is a power of two (%u bytes)", line);

  ExInfo locked =
      catch_fault([] { asm volatile("lock; clflush (%0)" ::"a"(lines[1]) : "memory"); });
  report_fault(locked, ExInfo(Vec::UD), "LOCK CLFLUSH");

  const bool tcg = known_tcg_difference(
      "CLFLUSH is a no-op that never translates its address: no #GP(0) for a "
      "non-canonical one, no #PF for an unmapped page");
  report_fault_xfail(tcg, catch_fault([] { clflush(reinterpret_cast<void*>(kNonCanonical)); }),
                     ExInfo(Vec::GP, 0), "CLFLUSH of a non-canonical address");
  report_fault_xfail(tcg, catch_fault([] { clflush(nullptr); }), ExInfo(Vec::PF, 0),
                     "CLFLUSH of unmapped page 0");

  volatile uint64_t* u = fresh_line(2, 0x2222);
  UserResult r = run_user([u] {
    clflush(u);
    mfence();
  });
  report_fault(r.ex, ExInfo(), "CLFLUSH at CPL3");
  report_line(line_intact(u, 0x2222), "CLFLUSH at CPL3");
}

void clflush_mmio(const char* what, uint64_t base) {
  paging::Translation t;
  if (!paging::lookup(VirtAddr(base), &t)) {
    report_skip("%s page 0x%lx is not mapped", what, base);
    return;
  }
  report_fault(catch_fault([base] {
                 clflush(reinterpret_cast<const volatile void*>(base));
                 mfence();
               }),
               ExInfo(), what);
}

void check_clflush_mmio() {
  ReportPrefix p("CLFLUSH of MMIO");
  if (!cpu::has(feature::kClflush)) {
    report_skip("%s is clear", feature::kClflush.name);
    return;
  }
  clflush_mmio("local APIC", apic::xapic_base());
  if (!timer::hpet::present()) {
    report_skip("no HPET");
    return;
  }
  const uint64_t caps = timer::hpet::read(timer::hpet::reg::kCapabilities);
  clflush_mmio("HPET", timer::hpet::base());
  const uint64_t again = timer::hpet::read(timer::hpet::reg::kCapabilities);
  report(again == caps, "HPET capabilities read the same afterwards (0x%lx, before 0x%lx)", again,
         caps);
}

template <typename Flush>
void check_line_flush(const char* name, const CpuidBit& bit, unsigned index, Flush flush) {
  ReportPrefix p(name);
  const bool on = enumerated(bit);
  const uint64_t seed = 0x3333 * (index + 1);
  volatile uint64_t* l = fresh_line(index, seed);
  // Both are ordered by SFENCE (SDM "CLFLUSHOPT", "CLWB").
  ExInfo ex = catch_fault([l, flush] {
    flush(l);
    sfence();
  });
  report_fault(ex, expected_if(on), "of a written line");
  if (on) report_line(line_intact(l, seed), name);
}

void check_wbinvd() {
  ReportPrefix p("WBINVD");
  volatile uint64_t* l = fresh_line(5, 0x5555);
  report_fault(catch_fault([] { wbinvd(); }), ExInfo(), "CPL0");
  report_line(line_intact(l, 0x5555), "WBINVD");
  report_fault(run_user([] { wbinvd(); }).ex, ExInfo(Vec::GP, 0), "CPL3");
}

void check_wbnoinvd() {
  ReportPrefix p("WBNOINVD");
  const bool on = enumerated(feature::kWbnoinvd);
  if (!on) report_info("without it, F3 0F 09 runs as WBINVD: no #UD either way");
  volatile uint64_t* l = fresh_line(6, 0x6666);
  report_fault(catch_fault([] { wbnoinvd(); }), ExInfo(), "CPL0");
  report_line(line_intact(l, 0x6666), "WBNOINVD");
  report_fault(run_user([] { wbnoinvd(); }).ex, ExInfo(Vec::GP, 0), "CPL3");
}

void check_invd() {
  ReportPrefix p("INVD");
  report_fault(run_user([] { asm volatile("invd" ::: "memory"); }).ex, ExInfo(Vec::GP, 0), "CPL3");
  if (!cpu::has(feature::kHypervisor)) {
    report_skip("CPL0: not run on bare metal, where INVD would discard modified lines");
    return;
  }
  volatile uint64_t* l = fresh_line(7, 0x7777);
  const uint64_t flags = cpu::read_rflags();
  cpu::cli();
  ExInfo ex = catch_fault([] { asm volatile("wbinvd; invd" ::: "memory"); });
  if (flags & rflags::kInterrupt) cpu::sti();
  report_fault(ex, ExInfo(), "CPL0, right after WBINVD");
  report_line(line_intact(l, 0x7777), "WBINVD then INVD");
}

void check_fences() {
  ReportPrefix p("fences");
  const bool sse = enumerated(feature::kSse);
  const bool sse2 = enumerated(feature::kSse2);
  report_fault(catch_fault([] { asm volatile("lfence" ::: "memory"); }), expected_if(sse2),
               "LFENCE (SSE2)");
  report_fault(catch_fault([] { asm volatile("mfence" ::: "memory"); }), expected_if(sse2),
               "MFENCE (SSE2)");
  report_fault(catch_fault([] { asm volatile("sfence" ::: "memory"); }), expected_if(sse),
               "SFENCE (SSE)");
}

void check_movnti() {
  ReportPrefix p("MOVNTI");
  const bool on = enumerated(feature::kSse2);
  volatile uint64_t* l = fresh_line(8, 0);
  constexpr uint64_t kValue = 0x0123456789abcdefull;
  ExInfo ex = catch_fault([l] {
    // A non-temporal store is weakly ordered: SFENCE makes it visible
    // before the read (SDM "MOVNTI").
    asm volatile("movnti %1, (%0); sfence" ::"r"(l), "r"(kValue) : "memory");
  });
  report_fault(ex, expected_if(on), "64-bit store");
  if (on) report(l[0] == kValue, "the stored value reads back (0x%lx)", l[0]);
}

}  // namespace

int main() {
  check_clflush();
  check_clflush_mmio();
  check_line_flush("CLFLUSHOPT", feature::kClflushopt, 3,
                   [](volatile uint64_t* l) { clflushopt(l); });
  check_line_flush("CLWB", feature::kClwb, 4, [](volatile uint64_t* l) { clwb(l); });
  check_wbinvd();
  check_wbnoinvd();
  check_invd();
  check_fences();
  check_movnti();
  return report_summary();
}
