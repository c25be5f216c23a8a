#include "svm/svm.h"

#include "apic/apic.h"
#include "cpu/exceptions.h"
#include "cpu/processor.h"
#include "boot/bootinfo.h"
#include "mem/memory.h"
#include "platform/detect.h"
#include "rt/format.h"
#include "rt/report.h"
#include "rt/string.h"
#include "timer/clock.h"

extern "C" void svm_world_switch(uint64_t vmcb_pa, svm::GuestRegs* regs, uint64_t host_area_pa);
extern "C" char svm_l2_entry[];

namespace svm {

namespace {

constexpr uint64_t kStackPages = 4;

// Per CPU would be the general form; the tests run L1 on the BSP only.
uint64_t hsave_pa;
uint64_t host_area_pa;
bool enabled;

// APIC-timer ticks (divide by 16) per millisecond, from the calibration;
// 0 when no clock could measure it.
constexpr apic::Divide kWatchdogDivide = apic::Divide::by16;
uint64_t watchdog_ticks_per_ms;
// A guess of last resort: QEMU's APIC timer counts at 1 GHz.
constexpr uint64_t kFallbackTicksPerMs = 1'000'000 / 16;
volatile bool watchdog_fired;

bool watchdog_handler(ExceptionFrame*) {
  watchdog_fired = true;
  apic::eoi();
  return true;
}

void calibrate_watchdog() {
  const uint64_t flags = cpu::read_rflags();
  cpu::cli();
  if (timer::tsc_hz()) {
    constexpr uint32_t kStart = 0xffffffffu;
    apic::timer_oneshot(kWatchdogVector, kStart, kWatchdogDivide);
    timer::mdelay(2);
    const uint32_t left = apic::timer_current();
    apic::timer_stop();
    watchdog_ticks_per_ms = (kStart - left) / 2;
  }
  if (!watchdog_ticks_per_ms) watchdog_ticks_per_ms = kFallbackTicksPerMs;
  if (flags & rflags::kInterrupt) cpu::sti();
}

void* alloc_zeroed(uint64_t pages) {
  mem::PageResult r = mem::alloc_pages(pages);
  if (!r.ok()) return nullptr;
  void* p = reinterpret_cast<void*>(r.pa.value);
  memset(p, 0, pages * kPageSize);
  return p;
}

void free_pages(const void* p, uint64_t pages) {
  if (p) (void)mem::free_pages(PhysAddr(reinterpret_cast<uint64_t>(p)), pages);
}

uint64_t read_gdt_descriptor(uint16_t selector) {
  struct [[gnu::packed]] {
    uint16_t limit;
    uint64_t base;
  } gdtr;
  asm volatile("sgdt %0" : "=m"(gdtr));
  if ((selector & ~7u) == 0 || (selector | 7u) > gdtr.limit) return 0;
  return reinterpret_cast<const uint64_t*>(gdtr.base)[selector >> 3];
}

VmcbSegment segment_of(uint16_t selector) {
  const uint64_t d = read_gdt_descriptor(selector);
  VmcbSegment s{};
  s.selector = selector;
  if (!d) return s;
  s.attrib = seg_attr::from_descriptor(d);
  s.limit = 0xffffffffu;
  s.base = 0;
  return s;
}

template <unsigned kSeg>
uint16_t read_selector();
#define SVM_READ_SEL(n, reg)                        \
  template <>                                       \
  uint16_t read_selector<n>() {                     \
    uint16_t v;                                     \
    asm volatile("mov %%" #reg ", %0" : "=r"(v));   \
    return v;                                       \
  }
SVM_READ_SEL(0, cs)
SVM_READ_SEL(1, ss)
SVM_READ_SEL(2, ds)
SVM_READ_SEL(3, es)
#undef SVM_READ_SEL

uint32_t asid_next = 1;

}  // namespace

const char* status_str(Status s) {
  switch (s) {
    case Status::ok: return "SVM enabled";
    case Status::no_svm: return "the CPU has no SVM (CPUID.80000001H:ECX[bit 2] SVM clear)";
    case Status::disabled: return "SVM is disabled by the firmware (VM_CR.SVMDIS set)";
    case Status::confidential:
      return "nested SVM inside a confidential (SEV/TDX) guest is not supported";
    case Status::no_memory: return "out of memory for the host save area";
  }
  return "?";
}

Info info() {
  const cpu::CpuidResult r = cpu::cpuid(cpu::kCpuidSvm);
  return {r.eax & 0xff, r.ebx, r.edx};
}

Status enable() {
  if (enabled) return Status::ok;
  if (platform::is_confidential(boot_info().detected.platform)) return Status::confidential;
  if (!cpu::has(cpu::feature::kSvm)) return Status::no_svm;
  SafeResult<uint64_t> vm_cr = rdmsr_safe(cpu::kMsrVmCr);
  if (vm_cr.ok() && (vm_cr.value & cpu::kVmCrSvmDis)) return Status::disabled;
  void* hsave = alloc_zeroed(1);
  void* host = alloc_zeroed(1);
  if (!hsave || !host) {
    free_pages(hsave, 1);
    free_pages(host, 1);
    return Status::no_memory;
  }
  hsave_pa = reinterpret_cast<uint64_t>(hsave);
  host_area_pa = reinterpret_cast<uint64_t>(host);
  cpu::wrmsr(cpu::kMsrEfer, cpu::rdmsr(cpu::kMsrEfer) | cpu::efer::SVME);
  cpu::wrmsr(cpu::kMsrVmHsavePa, hsave_pa);
  set_exception_handler(kWatchdogVector, watchdog_handler);
  calibrate_watchdog();
  enabled = true;
  return Status::ok;
}

Asid alloc_asid() {
  const uint32_t n = info().nasid;
  bool wrapped = false;
  if (asid_next >= n) {
    asid_next = 1;
    wrapped = true;
  }
  static bool ever_wrapped;
  ever_wrapped |= wrapped;
  return {asid_next++, ever_wrapped};
}

const char* Exit::name() const {
  static char buf[32];
  return exit_code_str(code, buf, sizeof(buf));
}

Guest::~Guest() {
  free_pages(vmcb_, 1);
  free_pages(iopm_, kIopmSize / kPageSize);
  free_pages(msrpm_, kMsrpmSize / kPageSize);
  if (stack_base_) free_pages(reinterpret_cast<void*>(stack_base_), kStackPages);
}

bool Guest::init() {
  vmcb_ = static_cast<Vmcb*>(alloc_zeroed(1));
  iopm_ = static_cast<uint8_t*>(alloc_zeroed(kIopmSize / kPageSize));
  msrpm_ = static_cast<uint8_t*>(alloc_zeroed(kMsrpmSize / kPageSize));
  void* stack = alloc_zeroed(kStackPages);
  if (!vmcb_ || !iopm_ || !msrpm_ || !stack) return false;
  stack_base_ = reinterpret_cast<uint64_t>(stack);
  stack_top_ = stack_base_ + kStackPages * kPageSize;

  VmcbControl& c = vmcb_->control;
  c.intercept_misc1 = intercept::kIntr | intercept::kShutdown;
  c.intercept_misc2 = intercept::kVmrun | intercept::kVmmcall;
  c.iopm_base_pa = reinterpret_cast<uint64_t>(iopm_);
  c.msrpm_base_pa = reinterpret_cast<uint64_t>(msrpm_);
  const Asid a = alloc_asid();
  c.asid = a.id;
  c.tlb_control = static_cast<uint8_t>(a.flush ? TlbControl::flush_all : TlbControl::nothing);
  c.int_ctl = int_ctl::kVIntrMasking;

  // FS, GS, TR, LDTR and the MSRs VMLOAD loads: the current ones.
  vmsave(vmcb_pa());
  VmcbSave& s = vmcb_->save;
  s.cs = segment_of(read_selector<0>());
  s.ss = segment_of(read_selector<1>());
  s.ds = segment_of(read_selector<2>());
  s.es = segment_of(read_selector<3>());
  struct [[gnu::packed]] {
    uint16_t limit;
    uint64_t base;
  } gdtr, idtr;
  asm volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
  s.gdtr.limit = gdtr.limit;
  s.gdtr.base = gdtr.base;
  s.idtr.limit = idtr.limit;
  s.idtr.base = idtr.base;
  s.cpl = 0;
  s.efer = cpu::rdmsr(cpu::kMsrEfer);
  s.cr0 = cpu::read_cr0();
  s.cr3 = cpu::read_cr3();
  s.cr4 = cpu::read_cr4();
  s.dr6 = 0xffff0ff0;  // the values at reset (APM §13.1.1.5, §13.1.1.6)
  s.dr7 = 0x400;
  s.rflags = rflags::kFixed1;
  s.g_pat = cpu::rdmsr(cpu::kMsrPat);
  enter_at(svm_l2_entry);
  return true;
}

void Guest::enter(void (*fn)(void*), void* arg) {
  enter_at(svm_l2_entry);
  regs[Gpr::rdi] = reinterpret_cast<uint64_t>(arg);
  regs[Gpr::rsi] = reinterpret_cast<uint64_t>(fn);
}

void Guest::enter_at(const void* rip) {
  vmcb_->save.rip = reinterpret_cast<uint64_t>(rip);
  vmcb_->save.rsp = stack_top_;
}

void Guest::intercept_all_io(bool on) {
  memset(iopm_, on ? 0xff : 0, kIopmSize);
  vmcb_->control.intercept_misc1 |= intercept::kIoioProt;
}

void Guest::intercept_all_msrs(bool on) {
  memset(msrpm_, on ? 0xff : 0, kMsrpmSize);
  vmcb_->control.intercept_misc1 |= intercept::kMsrProt;
}

Exit Guest::run(uint64_t bound_ms) {
  const uint64_t flags = cpu::read_rflags();
  cpu::cli();
  watchdog_fired = false;
  uint64_t ticks = bound_ms * watchdog_ticks_per_ms;
  if (ticks > 0xffffffffu) ticks = 0xffffffffu;
  apic::timer_oneshot(kWatchdogVector, static_cast<uint32_t>(ticks), kWatchdogDivide);
  svm_world_switch(vmcb_pa(), &regs, host_area_pa);
  apic::timer_stop();
  // What made the exit, or arrived meanwhile, is taken now by L1.
  asm volatile("sti; nop; cli" ::: "memory");
  if (flags & rflags::kInterrupt) cpu::sti();

  VmcbControl& c = vmcb_->control;
  regs[Gpr::rax] = vmcb_->save.rax;
  regs[Gpr::rsp] = vmcb_->save.rsp;
  c.tlb_control = static_cast<uint8_t>(TlbControl::nothing);
  Exit e{static_cast<ExitCode>(c.exit_code), c.exit_info_1, c.exit_info_2, c.exit_int_info,
         false};
  e.l2_hung = e.code == ExitCode::intr && watchdog_fired;
  return e;
}

extern "C" {
extern char svm_event_stubs[];
extern volatile uint64_t svm_event_vector, svm_event_rsp;
}

bool RecordingIdt::init() {
  gates_ = static_cast<uint64_t*>(alloc_zeroed(1));
  if (!gates_) return false;
  const uint16_t cs = read_selector<0>();
  for (unsigned v = 0; v < 256; ++v) {
    // A 64-bit interrupt gate (APM vol.2 §4.8.4): present, DPL0, type 0xe.
    const uint64_t off = reinterpret_cast<uint64_t>(svm_event_stubs) + 16 * v;
    gates_[2 * v] = (off & 0xffff) | uint64_t(cs) << 16 | 0xeull << 40 | 1ull << 47 |
                    ((off >> 16) & 0xffff) << 48;
    gates_[2 * v + 1] = off >> 32;
  }
  clear();
  return true;
}

RecordingIdt::~RecordingIdt() { free_pages(gates_, 1); }

void RecordingIdt::install(Guest& g) const {
  g.save().idtr.base = reinterpret_cast<uint64_t>(gates_);
  g.save().idtr.limit = 256 * 16 - 1;
}

void RecordingIdt::clear() {
  svm_event_vector = ~0ull;
  svm_event_rsp = 0;
}

uint64_t RecordingIdt::vector() { return svm_event_vector; }

uint64_t RecordingIdt::frame(unsigned i) {
  if (!svm_event_rsp) return ~0ull;
  return reinterpret_cast<const uint64_t*>(svm_event_rsp)[i];
}

bool report_exit(const Exit& e, ExitCode want, const char* what) {
  if (e.l2_hung) {
    report_fail("%s: L2 did not exit", what);
    return false;
  }
  char want_buf[32];
  const bool ok = e.code == want;
  report(ok, "%s: exit %s (expected %s)", what, e.name(),
         exit_code_str(want, want_buf, sizeof(want_buf)));
  return ok;
}

}  // namespace svm
