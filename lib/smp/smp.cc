// AP bring-up and the on_cpu machinery. The sequence per AP follows the
// universal start-up algorithm (Intel SDM vol.3 §9.4.4.1): INIT, 10 ms,
// SIPI, 200 us, a second SIPI only if the AP has not checked in.
#include "smp/smp.h"

#include "acpi/platform.h"
#include "apic/apic.h"
#include "cpu/backtrace.h"
#include "cpu/desc.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "cpu/xsave.h"
#include "cpu/regs.h"
#include "boot/bootinfo.h"
#include "boot/chain.h"
#include "mem/memory.h"
#include "mem/paging.h"
#include "rt/console.h"
#include "rt/report.h"
#include "rt/string.h"
#include "smp/percpu.h"
#include "smp/probe.h"
#include "smp/trampoline.h"
#include "timer/clock.h"


namespace smp {
namespace {

constexpr uint32_t kApicIdBroadcast = 0xff;  // xAPIC IDs stop at 0xfe

// Each AP gets one allocation: its TSS page, then the IST and ring-0
// stacks, then the stack it runs on. One allocation is one range for the
// backtrace walker.
constexpr uint64_t kStackSize = desc::kIstStackSize;
constexpr uint64_t kTssBytes = kPageSize;
constexpr unsigned kApStacks = 5;  // #DF, NMI, #MC, ring 0, main
constexpr uint64_t kApBytes = kTssBytes + kApStacks * kStackSize;

constexpr uint64_t kInitDelayUs = 10'000;
constexpr uint64_t kSipiDelayUs = 200;
// Far beyond what hardware needs; a TCG vCPU thread may be slow to run.
constexpr uint64_t kCheckInTimeoutUs = 2'000'000;
// How long a CPU may take to wake up and take an on_cpu call: an idle CPU
// answers its wake-up IPI in microseconds, a descheduled vCPU thread on a
// loaded host in milliseconds. Once taken, the call runs test code, which
// the runner's timeout bounds.
constexpr uint64_t kCallPickupTimeoutNs = 5'000'000'000;

constinit PerCpu cpus[desc::kMaxCpus] = {};
constinit unsigned ncpus = 1;
constinit bool percpu_live = false;

// What every AP copies from the BSP before it runs any test code.
struct ControlState {
  uint64_t cr0, cr3, cr4, efer, pat, xcr0;
};
constinit ControlState bsp_state = {};

// The trampoline page and the CR3 the APs start on, kept for reset_cpu.
constinit uint64_t tramp_page = 0;
constinit uint32_t tramp_cr3 = 0;

// A usable delay even without a calibrated clock: PAUSE takes at least a
// few cycles, so 1000 of them per microsecond errs on the long side.
void delay_us(uint64_t us) {
  if (timer::tsc_hz()) {
    timer::udelay(us);
    return;
  }
  for (uint64_t i = 0; i < us * 1000; ++i) cpu::pause();
}

bool wake_handler(ExceptionFrame*) {
  apic::eoi();
  return true;
}

// A spurious interrupt is not acknowledged (SDM vol.3 §11.9).
bool spurious_handler(ExceptionFrame*) { return true; }

[[noreturn]] void idle(PerCpu* pc) {
  for (;;) {
    cpu::cli();
    const uint32_t req = __atomic_load_n(&pc->requested, __ATOMIC_ACQUIRE);
    if (req != pc->done) {
      __atomic_store_n(&pc->started, req, __ATOMIC_RELEASE);
      paging::catch_up();  // mappings changed since this CPU's last call
      pc->fn(pc->arg);
      cpu::cli();
      __atomic_store_n(&pc->done, req, __ATOMIC_RELEASE);
      continue;
    }
    // STI's one-instruction shadow makes "enable and halt" atomic: a wake
    // IPI that arrives after the check above ends the HLT.
    asm volatile("sti; hlt" ::: "memory");
  }
}

bool reached(const uint32_t& counter, uint32_t ticket) {
  return static_cast<int32_t>(__atomic_load_n(&counter, __ATOMIC_ACQUIRE) - ticket) >= 0;
}

// Waits until `cpu` has finished call `ticket`. The wait for it to take
// the call is bounded; the call itself is the test's.
void wait_ticket(unsigned cpu, uint32_t ticket) {
  const PerCpu& t = cpus[cpu];
  if (!timer::wait_until([&] { return reached(t.started, ticket) || reached(t.done, ticket); },
                         kCallPickupTimeoutNs))
    report_abort("on_cpu: CPU %u (APIC id %u) did not take call %u within %lu ms: "
                 "its wake-up IPI was lost, or it is stuck with interrupts off",
                 cpu, t.apic_id, ticket, kCallPickupTimeoutNs / 1'000'000);
  while (!reached(t.done, ticket)) cpu::pause();
  paging::catch_up();  // the call may have changed mappings
}

uint32_t post(unsigned cpu, Fn fn, void* arg) {
  if (cpu >= ncpus) report_abort("on_cpu: no CPU %u (%u online)", cpu, ncpus);
  if (cpu == 0) report_abort("on_cpu: CPU 0 runs main() and takes no calls (from CPU %u)", smp_id());
  PerCpu& t = cpus[cpu];
  if (!__atomic_load_n(&t.online, __ATOMIC_ACQUIRE))
    report_abort("on_cpu: CPU %u (APIC id %u) is offline: the test reset it and did not bring it "
                 "back",
                 cpu, t.apic_id);
  t.call_lock.lock();
  wait_ticket(cpu, t.requested);
  // The call's lines carry the caller's prefix (rt/report.h).
  report_prefix_hand_over(cpu);
  t.fn = fn;
  t.arg = arg;
  const uint32_t ticket = t.requested + 1;
  __atomic_store_n(&t.requested, ticket, __ATOMIC_RELEASE);
  t.call_lock.unlock();
  if (!apic::send_fixed(t.apic_id, apic::kWakeVector))
    report_abort("on_cpu: the wake-up IPI for CPU %u never left the local APIC", cpu);
  return ticket;
}

// The trampoline's first 64-bit instructions run from the trampoline page,
// which the boot page tables map as data (NX). It is also rewritten before
// each AP's SIPI, so it stays writable: one RWX page below 1 MiB.
bool make_executable(uint64_t page) {
  const paging::Attr rwx{.write = true, .nx = false};
  return paging::protect(VirtAddr(page), kPageSize, rwx) == paging::MapStatus::ok;
}

// CR3 is loaded in 32-bit protected mode, so the root the APs start on
// must lie below 4 GiB; a copy of the top level serves if ours does not
// (the lower levels are shared). ap_entry switches to the real root.
uint32_t start_cr3() {
  const uint64_t cr3 = cpu::read_cr3();
  if (cr3 < (1ull << 32)) return static_cast<uint32_t>(cr3);
  mem::PageResult r = mem::alloc_pages(1, kPageSize, mem::kBelow4G);
  if (!r.ok()) return 0;
  memcpy(reinterpret_cast<void*>(r.pa.value), reinterpret_cast<void*>(cr3 & paging::kCr3RootMask), kPageSize);
  return static_cast<uint32_t>(r.pa.value);
}

[[noreturn]] void ap_entry(PerCpu* pc) {
  desc::load_gdt_and_tss(pc->id, pc->tss);
  install(pc);
  desc::load_idt_this_cpu();
  if (cpu::read_cr3() != bsp_state.cr3) cpu::write_cr3(bsp_state.cr3);
  const uint64_t efer_bits = cpu::efer::SCE | cpu::efer::NXE;
  cpu::wrmsr(cpu::kMsrEfer, (cpu::rdmsr(cpu::kMsrEfer) & ~efer_bits) | (bsp_state.efer & efer_bits));
  cpu::write_cr0(bsp_state.cr0);
  cpu::write_cr4(bsp_state.cr4);
  if (bsp_state.cr4 & cpu::cr4::OSXSAVE)
    asm volatile("xsetbv" ::"c"(0), "a"(uint32_t(bsp_state.xcr0)),
                 "d"(uint32_t(bsp_state.xcr0 >> 32)));
  cpu::wrmsr(cpu::kMsrPat, bsp_state.pat);
  apic::init_this_cpu(apic::system_x2apic());
  const uint32_t seen = apic::id();
  if (seen != pc->apic_id)
    printf("smp: WARNING: CPU %u has APIC id %u, the MADT says %u\n", pc->id, seen, pc->apic_id);
  pc->apic_id = seen;
  __atomic_store_n(&pc->online, true, __ATOMIC_RELEASE);
  idle(pc);
}

bool wait_online(const PerCpu& pc, uint64_t us) {
  for (uint64_t waited = 0;; waited += 10) {
    if (__atomic_load_n(&pc.online, __ATOMIC_ACQUIRE)) return true;
    if (waited >= us) return false;
    delay_us(10);
  }
}

bool setup_ap(PerCpu& pc, unsigned id, uint32_t apic_id) {
  mem::PageResult r = mem::alloc_pages(kApBytes / kPageSize);
  if (!r.ok()) {
    printf("smp: no memory for CPU %u: %s\n", id, mem::alloc_error_str(r.error));
    return false;
  }
  const uint64_t base = r.pa.value;
  memset(reinterpret_cast<void*>(base), 0, kTssBytes);
  auto* tss = reinterpret_cast<desc::Tss*>(base);
  const uint64_t stacks = base + kTssBytes;
  tss->ist[desc::kIstDoubleFault - 1] = stacks + 1 * kStackSize;
  tss->ist[desc::kIstNmi - 1] = stacks + 2 * kStackSize;
  tss->ist[desc::kIstMachineCheck - 1] = stacks + 3 * kStackSize;
  tss->rsp[0] = stacks + 4 * kStackSize;
  tss->iomap_base = sizeof(desc::Tss);  // no I/O bitmap: beyond the limit
  register_stack(reinterpret_cast<void*>(stacks), reinterpret_cast<void*>(base + kApBytes));

  pc.self = &pc;
  pc.catcher = nullptr;
  pc.unexpected_depth = 0;
  pc.requested = pc.started = pc.done = 0;
  pc.online = false;
  pc.id = id;
  pc.apic_id = apic_id;
  pc.tss = tss;
  pc.stack_lo = stacks + 4 * kStackSize;
  pc.stack_hi = base + kApBytes;
  return true;
}

bool start_ap(PerCpu& pc, TrampolineParams* params, uint64_t page) {
  params->stack = pc.stack_hi;
  params->arg = reinterpret_cast<uint64_t>(&pc);
  asm volatile("mfence" ::: "memory");
  const uint8_t vector = static_cast<uint8_t>(page >> 12);
  bool sent = apic::send_init(pc.apic_id);
  if (sent) {
    delay_us(kInitDelayUs);
    sent = apic::send_startup(pc.apic_id, vector);
  }
  if (!sent) {
    printf("smp: the start-up IPIs for APIC id %u never left the local APIC\n", pc.apic_id);
    return false;
  }
  delay_us(kSipiDelayUs);
  if (!__atomic_load_n(&pc.online, __ATOMIC_ACQUIRE)) {
    apic::send_startup(pc.apic_id, vector);
    delay_us(kSipiDelayUs);
  }
  if (wait_online(pc, kCheckInTimeoutUs)) return true;
  // Park it again, so that a late start cannot run on a slot we reuse.
  apic::send_init(pc.apic_id);
  return false;
}

// Writes the blob and its parameters to the trampoline page: at boot, and
// again before each reset_cpu, since a test may have borrowed the page.
TrampolineParams* install_trampoline() {
  const uint64_t page = tramp_page;
  memcpy(reinterpret_cast<void*>(page), ap_trampoline_start, ap_trampoline_end - ap_trampoline_start);
  auto* params =
      reinterpret_cast<TrampolineParams*>(page + (ap_trampoline_params - ap_trampoline_start));
  params->gdt_limit = static_cast<uint16_t>(ap_trampoline_gdt_end - ap_trampoline_gdt - 1);
  params->gdt_base = static_cast<uint32_t>(page + (ap_trampoline_gdt - ap_trampoline_start));
  params->pm_offset = static_cast<uint32_t>(page + (ap_trampoline_pm - ap_trampoline_start));
  params->pm_sel = TR_SEL_CODE32;
  params->lm_offset = static_cast<uint32_t>(page + (ap_trampoline_lm - ap_trampoline_start));
  params->lm_sel = TR_SEL_CODE64;
  params->cr3 = tramp_cr3;
  params->cr4 = static_cast<uint32_t>(bsp_state.cr4 & (cpu::cr4::PAE | cpu::cr4::LA57));
  params->efer = static_cast<uint32_t>(cpu::efer::LME | (bsp_state.efer & cpu::efer::NXE));
  params->entry = reinterpret_cast<uint64_t>(&ap_entry);
  return params;
}

// A test's reset: the CPU's allocation, TSS and mailbox stay; what the
// exception path kept about its last run does not.
void forget_run_state(PerCpu& pc) {
  pc.catcher = nullptr;
  pc.unexpected_depth = 0;
}

bool offline_ap(unsigned cpu) {
  return cpu != 0 && cpu < ncpus && !__atomic_load_n(&cpus[cpu].online, __ATOMIC_ACQUIRE);
}

void print_summary() {
  printf("smp: %u CPU%s (APIC ids ", ncpus, ncpus == 1 ? "" : "s");
  for (unsigned i = 0; i < ncpus; ++i) printf("%s%u", i ? "," : "", cpus[i].apic_id);
  printf("), %s\n", apic::mode_str(apic::mode()));
}

}  // namespace

bool percpu_ready() { return percpu_live; }

void install(PerCpu* p) {
  p->self = p;
  cpu::wrmsr(cpu::kMsrGsBase, reinterpret_cast<uint64_t>(p));
}

void CpuLock::lock() {
  uint64_t flags;
  asm volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
  const uint32_t me = current_cpu();
  if (__atomic_load_n(&owner_, __ATOMIC_RELAXED) == me) {
    ++depth_;
    return;
  }
  lock_.lock();
  owner_ = me;
  depth_ = 1;
  saved_flags_ = flags;
}

void CpuLock::unlock() {
  if (--depth_ > 0) return;
  const uint64_t flags = saved_flags_;
  __atomic_store_n(&owner_, ~0u, __ATOMIC_RELAXED);
  lock_.unlock();
  if (flags & rflags::kInterrupt) cpu::sti();
}

void init(BootInfo& bi) {
  PerCpu& bsp = cpus[0];
  bsp.id = 0;
  bsp.apic_id = apic::id();
  bsp.tss = desc::bsp_tss();
  bsp.stack_lo = boot::boot_stack_bottom();
  bsp.stack_hi = boot::boot_stack_top();
  install(&bsp);
  percpu_live = true;
  bsp.online = true;

  set_exception_handler(apic::kWakeVector, wake_handler);
  set_exception_handler(apic::kSpuriousVector, spurious_handler);

  const acpi::MadtInfo* madt = acpi::madt();
  const uint64_t page = bi.reserved.trampoline_page;
  const char* why_alone = !madt ? "no usable MADT"
                          : !page ? "no trampoline page below 1 MiB"
                          : (page & 0xfff) || page >= (1ull << 20) ? "trampoline page misplaced"
                          : nullptr;
  if (why_alone) {
    printf("smp: %s: running on the BSP alone\n", why_alone);
    print_summary();
    return;
  }

  bsp_state.cr0 = cpu::read_cr0();
  bsp_state.cr3 = cpu::read_cr3();
  bsp_state.cr4 = cpu::read_cr4();
  bsp_state.efer = cpu::rdmsr(cpu::kMsrEfer);
  bsp_state.pat = cpu::rdmsr(cpu::kMsrPat);
  bsp_state.xcr0 = (bsp_state.cr4 & cpu::cr4::OSXSAVE) ? cpu::xsave::xgetbv(cpu::xsave::kXcr0) : 0;

  const uint32_t cr3 = start_cr3();
  if (!make_executable(page) || cr3 == 0) {
    printf("smp: cannot prepare the trampoline page 0x%lx: running on the BSP alone\n", page);
    print_summary();
    return;
  }
  tramp_page = page;
  tramp_cr3 = cr3;
  TrampolineParams* params = install_trampoline();

  unsigned skipped_x2 = 0, failed = 0;
  for (size_t i = 0; i < madt->cpu_count; ++i) {
    const acpi::Cpu& c = madt->cpus[i];
    if (!c.enabled || c.apic_id == bsp.apic_id) continue;
    if (!apic::system_x2apic() && c.apic_id >= kApicIdBroadcast) {
      ++skipped_x2;
      continue;
    }
    if (ncpus == desc::kMaxCpus) {
      printf("smp: more than %u CPUs; the rest stay off\n", desc::kMaxCpus);
      break;
    }
    PerCpu& pc = cpus[ncpus];
    if (!setup_ap(pc, ncpus, c.apic_id)) break;
    if (!start_ap(pc, params, page)) {
      printf("smp: CPU with APIC id %u did not start\n", c.apic_id);
      ++failed;
      continue;
    }
    ++ncpus;
  }
  if (skipped_x2)
    printf("smp: %u CPUs with APIC ids above 254 need x2APIC, which this CPU lacks\n", skipped_x2);
  print_summary();
}

unsigned cpu_count() { return ncpus; }
unsigned smp_id() { return current_cpu(); }
uint32_t apic_id_of(unsigned cpu) { return cpu < ncpus ? cpus[cpu].apic_id : ~0u; }

void on_cpu_async(unsigned cpu, Fn fn, void* arg) {
  if (cpu == smp_id()) {
    fn(arg);
    return;
  }
  post(cpu, fn, arg);
}

void on_cpu(unsigned cpu, Fn fn, void* arg) {
  if (cpu == smp_id()) {
    fn(arg);
    return;
  }
  wait_ticket(cpu, post(cpu, fn, arg));
}

void wait_idle(unsigned cpu) {
  if (cpu >= ncpus || cpu == smp_id() || !online(cpu)) return;
  wait_ticket(cpu, __atomic_load_n(&cpus[cpu].requested, __ATOMIC_ACQUIRE));
}

void on_cpus(Fn fn, void* arg) {
  const unsigned me = smp_id();
  uint32_t tickets[desc::kMaxCpus];
  for (unsigned c = 0; c < ncpus; ++c)
    if (c != me) tickets[c] = post(c, fn, arg);
  fn(arg);
  for (unsigned c = 0; c < ncpus; ++c)
    if (c != me) wait_ticket(c, tickets[c]);
}

bool online(unsigned cpu) {
  return cpu < ncpus && __atomic_load_n(&cpus[cpu].online, __ATOMIC_ACQUIRE);
}

uint64_t start_page() { return tramp_page; }

bool take_offline(unsigned cpu) {
  if (cpu == 0 || cpu >= ncpus || cpu == smp_id() || !online(cpu)) return false;
  PerCpu& pc = cpus[cpu];
  pc.call_lock.lock();
  wait_ticket(cpu, pc.requested);
  // Offline first: the CPU is idle and stays so, and a late on_cpu must
  // see it gone rather than post to a CPU that will never answer.
  __atomic_store_n(&pc.online, false, __ATOMIC_RELEASE);
  const bool sent = apic::send_init(pc.apic_id);
  if (!sent) __atomic_store_n(&pc.online, true, __ATOMIC_RELEASE);
  pc.call_lock.unlock();
  return sent;
}

bool send_init(unsigned cpu) { return offline_ap(cpu) && apic::send_init(cpus[cpu].apic_id); }

bool send_sipi(unsigned cpu, uint64_t page) {
  if (!offline_ap(cpu) || (page & 0xfff) || page >= (1ull << 20)) return false;
  return apic::send_startup(cpus[cpu].apic_id, static_cast<uint8_t>(page >> 12));
}

bool reset_cpu(unsigned cpu) {
  if (cpu == 0 || cpu >= ncpus || cpu == smp_id() || !tramp_page) return false;
  if (online(cpu) && !take_offline(cpu)) return false;
  PerCpu& pc = cpus[cpu];
  forget_run_state(pc);
  TrampolineParams* params = install_trampoline();
  if (start_ap(pc, params, tramp_page)) return true;
  printf("smp: CPU %u (APIC id %u) did not come back after its reset\n", cpu, pc.apic_id);
  return false;
}

Probe install_probe(uint64_t page) {
  memcpy(reinterpret_cast<void*>(page), smp_probe_start, smp_probe_end - smp_probe_start);
  auto* params = reinterpret_cast<ProbeParams*>(page + (smp_probe_params - smp_probe_start));
  auto* state = reinterpret_cast<ProbeState*>(page + (smp_probe_state - smp_probe_start));
  memset(params, 0, sizeof(*params));
  params->gdt_limit = static_cast<uint16_t>(smp_probe_gdt_end - smp_probe_gdt - 1);
  params->gdt_base = static_cast<uint32_t>(page + (smp_probe_gdt - smp_probe_start));
  params->pm_offset = static_cast<uint32_t>(page + (smp_probe_pm - smp_probe_start));
  params->pm_sel = PR_SEL_CODE32;
  memset(state, 0, sizeof(*state));
  return {params, state};
}

}  // namespace smp
