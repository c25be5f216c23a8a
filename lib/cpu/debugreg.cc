#include "cpu/debugreg.h"

namespace debugreg {

// One MOV per register: the DR number is part of the encoding.
#define DR_CASES(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

uint64_t read(unsigned n) {
  uint64_t v;
  switch (n) {
#define X(i)                                       \
  case i:                                          \
    asm volatile("mov %%dr" #i ", %0" : "=r"(v)); \
    return v;
    DR_CASES(X)
#undef X
  }
  __builtin_trap();
}

void write(unsigned n, uint64_t v) {
  switch (n) {
#define X(i)                                                   \
  case i:                                                      \
    asm volatile("mov %0, %%dr" #i ::"r"(v) : "memory");       \
    return;
    DR_CASES(X)
#undef X
  }
  __builtin_trap();
}

SafeResult<uint64_t> read_safe(unsigned n) {
  uint64_t v = 0;
  register uint64_t ex asm("r11") = 0;
  switch (n) {
#define X(i)                                                                              \
  case i:                                                                                 \
    asm volatile("1: mov %%dr" #i ", %0\n2:\n" EX_TABLE_ENTRY("1b", "2b")                 \
                 : "+r"(v), "+r"(ex));                                                    \
    return {v, ExInfo::from_raw(ex)};
    DR_CASES(X)
#undef X
  }
  __builtin_trap();
}

ExInfo write_safe(unsigned n, uint64_t v) {
  register uint64_t ex asm("r11") = 0;
  switch (n) {
#define X(i)                                                                              \
  case i:                                                                                 \
    asm volatile("1: mov %1, %%dr" #i "\n2:\n" EX_TABLE_ENTRY("1b", "2b")                 \
                 : "+r"(ex)                                                               \
                 : "r"(v)                                                                 \
                 : "memory");                                                             \
    return ExInfo::from_raw(ex);
    DR_CASES(X)
#undef X
  }
  __builtin_trap();
}

#undef DR_CASES

ScopedBreakpoint::ScopedBreakpoint(unsigned n, const volatile void* addr, Rw rw, Len len)
    : n_(n) {
  if (n >= kCount) __builtin_trap();
  write(7, read(7) & ~dr7::slot_mask(n));
  write(n, reinterpret_cast<uint64_t>(addr));
  write(7, read(7) | arm(n, rw, len));
}

ScopedBreakpoint::~ScopedBreakpoint() {
  write(7, read(7) & ~dr7::slot_mask(n_));
  write(n_, 0);
}

}  // namespace debugreg
