// A test-and-set spinlock for the few structures CPUs share (the page
// allocator and heap, the live page table).
//
// XCHG with a memory operand is implicitly locked (Intel SDM vol.2 "XCHG",
// vol.3 §9.1.2.1), so it is both the atomic swap and a full barrier. The
// wait loop only reads, so waiters do not bounce the cache line, and PAUSE
// tells the core it is spinning (SDM vol.2 "PAUSE").
//
// IrqSpinGuard also disables interrupts while held: code reached from an
// interrupt handler (an allocation, say) would otherwise deadlock against
// the CPU it interrupted.
#pragma once

#include <cstdint>

#include "cpu/regs.h"

class SpinLock {
 public:
  constexpr SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  bool try_lock() {
    uint32_t v = 1;
    asm volatile("xchg %0, %1" : "+r"(v), "+m"(word_) : : "memory");
    return v == 0;
  }
  void lock() {
    while (!try_lock())
      while (__atomic_load_n(&word_, __ATOMIC_RELAXED) != 0) asm volatile("pause");
  }
  void unlock() { __atomic_store_n(&word_, 0u, __ATOMIC_RELEASE); }
  bool is_locked() const { return __atomic_load_n(&word_, __ATOMIC_RELAXED) != 0; }

 private:
  uint32_t word_ = 0;
};

class SpinGuard {
 public:
  explicit SpinGuard(SpinLock& l) : l_(l) { l_.lock(); }
  ~SpinGuard() { l_.unlock(); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  SpinLock& l_;
};

class IrqSpinGuard {
 public:
  explicit IrqSpinGuard(SpinLock& l) : l_(l) {
    asm volatile("pushfq; popq %0; cli" : "=r"(flags_) : : "memory");
    l_.lock();
  }
  ~IrqSpinGuard() {
    l_.unlock();
    if (flags_ & rflags::kInterrupt) asm volatile("sti" ::: "memory");
  }
  IrqSpinGuard(const IrqSpinGuard&) = delete;
  IrqSpinGuard& operator=(const IrqSpinGuard&) = delete;

 private:
  SpinLock& l_;
  uint64_t flags_;
};
