// An L1 hypervisor for tests (guest only): SVM enabled, one VMCB per L2,
// bounded runs (AMD APM vol.2 ch.15).
//
//   svm::Status st = svm::enable();           // EFER.SVME, VM_HSAVE_PA
//   svm::Guest g;
//   if (st != svm::Status::ok || !g.init()) ...SKIP / abort...
//   g.enter([](void*) { asm volatile("cpuid" ::: "eax", "ebx", "ecx", "edx"); });
//   g.vmcb().control.intercept_misc1 |= svm::intercept::kCpuid;
//   svm::Exit e = g.run();
//   svm::report_exit(e, svm::ExitCode::cpuid, "CPUID");
//
// Contract:
//  - L2 starts as a copy of the calling CPU: 64-bit mode, the same CR0,
//    CR3, CR4, EFER, GDT, IDT, segments and VMSAVE state (FS, GS, TR, LDTR,
//    the SYSCALL/SYSENTER MSRs), RFLAGS.IF clear, its own 16 KiB stack. The
//    memory is shared: without nested paging L2 sees L1's physical memory
//    through L1's own page tables. Faults L2 does not have intercepted go
//    to the shared IDT and are handled by L1's handlers in L2's context.
//  - Always intercepted: VMRUN (the APM requires it), VMMCALL (how an L2
//    function ends), SHUTDOWN (so an L2 triple fault cannot reset the
//    machine) and INTR, with V_INTR_MASKING set.
//  - Every run() is bounded: an APIC-timer interrupt (vector
//    kWatchdogVector) arrives after `bound_ms` and L1 intercepts it, so an
//    L2 that never exits comes back as Exit::l2_hung. A test that clears
//    V_INTR_MASKING or the INTR intercept gives that up and must bound L2
//    another way.
//  - Interrupts pending when L2 exits (the one that made an INTR exit, an
//    NMI held by GIF) are delivered to L1's handlers before run() returns.
//  - Under SEV, SEV-ES, SEV-SNP and TDX guests enable() refuses:
//    nested SVM inside a confidential guest is not supported here.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/regs.h"
#include "rt/string.h"
#include "svm/bitmap.h"
#include "svm/vmcb.h"

namespace svm {

enum class Status : uint8_t {
  ok,
  no_svm,        // CPUID 8000_0001H:ECX[2] clear
  disabled,      // VM_CR.SVMDIS set by the firmware (APM §15.30.1)
  confidential,  // a SEV or TDX guest
  no_memory,
};
const char* status_str(Status s);

// Enables SVM on the calling CPU: EFER.SVME, and VM_HSAVE_PA pointing to
// a page of its own. Idempotent. Also calibrates the watchdog.
Status enable();

// CPUID 8000_000AH (APM vol.3 appendix E.4.9).
struct Info {
  uint32_t revision;  // EAX[7:0]
  uint32_t nasid;     // EBX: number of ASIDs, ASID 0 being the host's
  uint32_t features;  // EDX
};
Info info();

// ASIDs 1 .. nasid-1 round robin; `flush` is set when the allocator wrapped
// and the ASID may still hold an earlier guest's translations, so its
// first VMRUN must flush (TLB_CONTROL, APM §15.16.1).
struct Asid {
  uint32_t id;
  bool flush;
};
Asid alloc_asid();

constexpr uint8_t kWatchdogVector = 0xec;
constexpr uint64_t kDefaultBoundMs = 200;

// L2's general-purpose registers but RAX and RSP, which live in the VMCB
// save area; run() copies those two into gpr[] after every exit, for
// reading only.
struct GuestRegs {
  uint64_t gpr[kNumGprs];
  constexpr uint64_t& operator[](Gpr r) { return gpr[static_cast<unsigned>(r)]; }
  constexpr uint64_t operator[](Gpr r) const { return gpr[static_cast<unsigned>(r)]; }
};
static_assert(sizeof(GuestRegs) == 128);

struct Exit {
  ExitCode code;
  uint64_t info1, info2, int_info;
  bool l2_hung;  // the bound expired first: L2 did not exit by itself
  // "CPUID" etc. (static storage; the last call's).
  const char* name() const;
};

class Guest {
 public:
  Guest() = default;
  ~Guest();
  Guest(const Guest&) = delete;
  Guest& operator=(const Guest&) = delete;

  // Allocates the VMCB, IOPM, MSRPM and stack and sets L2 up as above.
  // False when memory ran out.
  [[nodiscard]] bool init();

  Vmcb& vmcb() { return *vmcb_; }
  VmcbControl& control() { return vmcb_->control; }
  VmcbSave& save() { return vmcb_->save; }
  uint8_t* iopm() { return iopm_; }
  uint8_t* msrpm() { return msrpm_; }
  GuestRegs regs{};
  uint64_t vmcb_pa() const { return reinterpret_cast<uint64_t>(vmcb_); }
  // The top of L2's stack (16-byte aligned).
  uint64_t stack_top() const { return stack_top_; }

  // L2 runs fn(arg) on its own stack, then VMMCALL.
  void enter(void (*fn)(void*), void* arg = nullptr);
  // L2 runs from `rip` (an assembly snippet) on its own stack.
  void enter_at(const void* rip);

  // Turns IOIO and MSR interception on with every port / every MSR in the
  // maps intercepted (true) or none (false).
  void intercept_all_io(bool on);
  void intercept_all_msrs(bool on);

  // One VMRUN, bounded by `bound_ms`.
  Exit run(uint64_t bound_ms = kDefaultBoundMs);
  // RIP moved past an intercepted instruction of `len` bytes.
  void skip(unsigned len) { vmcb_->save.rip += len; }

 private:
  Vmcb* vmcb_ = nullptr;
  uint8_t* iopm_ = nullptr;
  uint8_t* msrpm_ = nullptr;
  uint64_t stack_top_ = 0;
  uint64_t stack_base_ = 0;
};

// An IDT for L2 (64-bit gates, CS kernel code) whose every vector stores
// the vector and L2's stack pointer at delivery, then does VMMCALL
// (lib/svm/event_idt.S). After the exit, frame(i) is the i-th quadword the
// CPU pushed: with an error code, frame(0) is it and frame(1) the RIP;
// without, frame(0) is the RIP and frame(1) CS.
class RecordingIdt {
 public:
  [[nodiscard]] bool init();
  ~RecordingIdt();
  // Points L2's IDTR at this table.
  void install(Guest& g) const;
  // Forgets the last event (vector ~0, no frame).
  static void clear();
  static uint64_t vector();
  static bool delivered() { return vector() != ~0ull; }
  static uint64_t frame(unsigned i);

 private:
  uint64_t* gates_ = nullptr;
};

// The check an exit needs: FAIL "<what>: L2 did not exit" when the bound
// expired, else PASS when the exit code is `want`. Returns whether it
// passed.
bool report_exit(const Exit& e, ExitCode want, const char* what);

// Raw instructions, for tests that run them outside the world switch.
inline void vmload(uint64_t pa) { asm volatile("vmload %%rax" ::"a"(pa) : "memory"); }
inline void vmsave(uint64_t pa) { asm volatile("vmsave %%rax" ::"a"(pa) : "memory"); }
inline void stgi() { asm volatile("stgi" ::: "memory"); }
inline void clgi() { asm volatile("clgi" ::: "memory"); }
inline void invlpga(uint64_t va, uint32_t asid) {
  asm volatile("invlpga %%rax, %%ecx" ::"a"(va), "c"(asid) : "memory");
}

}  // namespace svm

// An L2 code snippet for the tests: `insn`, then a label `<name>_next` and
// VMMCALL forever, so that RIP and next_rip can be compared with the
// addresses around the instruction under test. At file scope:
//
//   L2_SNIPPET(l2_cpuid, "cpuid");
#define L2_SNIPPET(name, insn)                                                     \
  extern "C" char name[], name##_next[];                                          \
  asm(".pushsection .text\n\t.globl " #name ", " #name "_next\n\t.hidden " #name \
      ", " #name "_next\n" #name ":\n\t" insn "\n" #name "_next:\n"                \
      "1:\tvmmcall\n\tjmp 1b\n\t.popsection")

namespace svm {
// The tests are tables of named checks: with no arguments every one runs,
// otherwise those that argv[1..] names (`-append 'name'`).
inline bool selected(const char* name, int argc, char** argv) {
  if (argc < 2) return true;
  for (int i = 1; i < argc; ++i)
    if (strcmp(argv[i], name) == 0) return true;
  return false;
}
}  // namespace svm
