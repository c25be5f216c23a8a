// Leaving 64-bit mode from inside a running test, and coming back (guest
// only; the layout and the portable helpers are in cpu/modeswitch_layout.h).
//
// The trampoline (lib/cpu/modeswitch_tramp.S) runs from pages below 1 MiB that
// boot reserved before ExitBootServices (BootInfo::low_pages). It goes
// long mode -> compatibility mode (a 32-bit code segment) -> paging off,
// EFER.LME off (Intel SDM vol.3 §10.8.5.4 "Switching Out of IA-32e Mode
// Operation"; AMD APM vol.2 §14.7 "Leaving Long Mode") -> 32-bit protected
// mode, and for real mode on -> 16-bit protected mode -> real mode (SDM
// vol.3 §10.9.2 "Switching Back to Real-Address Mode"); then back up the
// same way (SDM vol.3 §10.8.5 "Initializing IA-32e Mode"). On return our
// GDT, IDT, CR0/CR3/CR4/EFER, TR (its busy bit cleared for LTR), LDTR,
// every segment register, the FS and GS bases (per-CPU data) and the stack
// are exactly what they were.
//
// Two uses:
//  - run_real(): a real-mode snippet from the 64 KiB snippet segment, with
//    the registers given and the registers it left coming back. It runs
//    with a real-mode IVT (LIDT base in the low pages, limit 0x3ff) whose
//    every vector points at a stub that ends the run with that vector and
//    the FLAGS/CS/IP frame the CPU pushed: a faulting or stray INT n is a
//    result to report, not a hang or a triple fault. The caller may point
//    vectors at handlers inside its snippet for one run.
//  - change_paging(): nothing at all in between, but CR4 (PAE, LA57) and CR3
//    are loaded while paging is off, so the machine comes back in another
//    paging mode: CR4.LA57 can only change with paging off (SDM vol.3
//    §4.1.1). The "hook" is these values rather than code: with paging off
//    nothing of ours can run (the image is 64-bit code).
//
// Restrictions:
//  - The BSP only, with the APs idle in lib/smp (they stay in long mode on
//    the old page tables and take no calls meanwhile). Interrupts are off
//    from entry to return; the caller's RFLAGS.IF is put back afterwards.
//  - NMIs cannot be masked. In the 64-bit and compatibility-mode legs our
//    IDT (or, once the trampoline GDT is loaded, its 0x08 code segment)
//    still serves them; in real mode an NMI ends the snippet as vector 2;
//    in the 32-bit and 16-bit protected-mode legs the IDT limit is 0, so an
//    NMI there shuts the machine down (a triple fault: CRASH, not a hang).
//  - Not on confidential platforms: SEV-ES/SNP would need #VC handling in
//    every mode and TDX cannot leave long mode at all.
//  - The root loaded with paging off must lie below 4 GiB (MOV to CR3 in
//    32-bit mode); the full 64-bit value is loaded once back in 64-bit mode.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/modeswitch_layout.h"

namespace modeswitch {

// Null when the trampoline can run here, else why not (static text).
const char* unavailable();

// Copies the blob to the low pages and maps them RWX in the live table
// (they are loader data, NX, until then). Idempotent; run_real and
// change_paging call it. A caller that builds a root for change_paging
// calls it first, so that the new tables map the low pages the same way.
void init();

// The snippet segment: 64 KiB at snippet_segment():0, reachable from C++
// at snippet_area() (identity map).
uint16_t snippet_segment();
uint8_t* snippet_area();
// The segment of the trampoline itself (its IVT and stubs).
uint16_t blob_segment();
// The real-mode IVT the snippets run with.
uint32_t* ivt();

struct IvtOverride {
  uint8_t vector;
  uint16_t offset;  // in the snippet segment
};

struct RealRun {
  const void* code;  // copied to snippet_segment():0
  size_t size;       // the runner appends the far jump that ends the run
  RealRegs in;       // cs ignored; IF, TF and bits 31:22 of eflags cleared
  IvtOverride handlers[4];
  unsigned handler_count;
};

struct RealResult {
  RealRegs out;
  // A vector ended the run: its number and the frame it pushed (out.esp
  // and out.ss then point at that frame; out.eflags is the pushed FLAGS).
  bool vectored;
  uint8_t vector;
  uint16_t fault_ip, fault_cs, fault_flags;
};

// Runs the snippet in real mode. Ends the test as ERROR (cpu::fatal) when
// the trampoline is unavailable: callers check unavailable() first.
RealResult run_real(const RealRun& run);

// Leaves long mode, loads CR4.LA57 = la57 and CR3 = root with paging off,
// and returns in 64-bit mode with that paging mode. root must be below
// 4 GiB and identity-map the image, its stacks and the low pages (RWX,
// as init() leaves them).
void change_paging(uint64_t root, bool la57);

}  // namespace modeswitch
