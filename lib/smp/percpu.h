// Per-CPU data, reached through the GS base (IA32_GS_BASE, AMD APM vol.2
// §4.5.3): %gs:0 holds a pointer to the CPU's own PerCpu.
//
// Contract:
//  - Before platform bring-up installs the BSP's block, percpu_ready() is
//    false and only the BSP runs; code that may run that early (the
//    exception path, the console) checks it and falls back to CPU 0.
//  - Every AP has its block installed before it runs any C++ code that
//    could fault or print.
//  - Whoever reloads GS (desc::load_gdt_and_tss writes a null selector,
//    which clears the base on Intel CPUs) must call install() again. Code
//    that uses SWAPGS for user mode must swap back before touching these.
#pragma once

#include <cstdint>

#include "cpu/spinlock.h"

namespace desc {
struct Tss;
}
struct FaultCatcher;

namespace smp {

struct PerCpu {
  PerCpu* self;  // at offset 0: what %gs:0 reads
  unsigned id;   // 0 = the BSP, then MADT order
  uint32_t apic_id;
  uint64_t stack_lo, stack_hi;
  desc::Tss* tss;
  // Exception state (lib/cpu/exceptions.cc).
  FaultCatcher* catcher;
  int unexpected_depth;
  // on_cpu mailbox: a caller holds call_lock, waits until done == requested,
  // posts fn/arg and bumps requested; the CPU sets started when it takes
  // the call, runs it and sets done.
  SpinLock call_lock;
  void (*fn)(void*);
  void* arg;
  uint32_t requested;
  uint32_t started;
  uint32_t done;
  bool online;
};

bool percpu_ready();
// Points this CPU's GS base at `p` (and p->self at p).
void install(PerCpu* p);

inline PerCpu* this_cpu() {
  PerCpu* p;
  asm("mov %%gs:0, %0" : "=r"(p));
  return p;
}

// The calling CPU's index, 0 before per-CPU data exists.
inline unsigned current_cpu() { return percpu_ready() ? this_cpu()->id : 0; }

// A spinlock that the CPU holding it may take again (the outermost release
// frees it), with interrupts disabled while held. For output paths: a fault
// or NMI while printing must still be able to print its report.
class CpuLock {
 public:
  constexpr CpuLock() = default;
  void lock();
  void unlock();

 private:
  SpinLock lock_;
  uint32_t owner_ = ~0u;
  uint32_t depth_ = 0;
  uint64_t saved_flags_ = 0;
};

class CpuLockGuard {
 public:
  explicit CpuLockGuard(CpuLock& l) : l_(l) { l_.lock(); }
  ~CpuLockGuard() { l_.unlock(); }
  CpuLockGuard(const CpuLockGuard&) = delete;
  CpuLockGuard& operator=(const CpuLockGuard&) = delete;

 private:
  CpuLock& l_;
};

}  // namespace smp
