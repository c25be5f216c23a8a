// SEV-ES/SNP guest services: the GHCB's lifetime, the GHCB MSR protocol,
// PVALIDATE and page-state changes (guest only).
//
// GHCB lifetime (boot phase 5):
//  1. Phase 3 reserves one page (BootInfo::ghcb_page); the boot page tables
//     map it private as a 4 KiB leaf of its own.
//  2. ghcb_setup(), right after the switch to our page tables: under SNP
//     rescind its validation and ask the hypervisor to make it shared (GHCB
//     spec §2.3.1 "SNP Page State Change"; APM vol.2 §15.36, page validation: a page is
//     invalidated before it becomes shared), then clear its C-bit, zero it,
//     register its GPA (SNP, GHCB spec §2.3.2 "GHCB GPA Registration") and
//     write it to the GHCB MSR.
//  Before step 2 the only hypervisor channel is the MSR protocol: CPUID
//  and termination.
//
// Sharing the one GHCB: GhcbLease gives exclusive use with interrupts off;
// a nested user (an NMI whose handler raises #VC while the interrupted #VC
// holds the GHCB) saves the page and restores it afterwards. Two levels.
#pragma once

#include <cstdint>

#include "boot/bootinfo.h"
#include "platform/ghcb.h"

namespace platform::sev {

// Phase 5; false with a termination reason when the GHCB cannot be made.
bool ghcb_setup(const BootInfo& bi, uint8_t* reason);
bool ghcb_ready();
ghcb::Page& ghcb_page();
uint64_t ghcb_gpa();

// Writes the GHCB GPA to the GHCB MSR and executes VMGEXIT.
void ghcb_exit();

// One MSR-protocol round trip; the GHCB MSR is restored afterwards, so a
// registered GHCB stays in place. Interrupts must be off.
uint64_t msr_protocol(uint64_t request);

// Ends the VM with a termination request (GHCB spec §2.3.1 "Termination
// Request"). Never returns.
[[noreturn]] void terminate(uint8_t reason_set, uint8_t reason_code);

// Takes the GHCB with interrupts off: returns the nesting level (1, or 2
// with the outer user's contents saved), 0 when none is left.
// `rflags` receives the flags to give back to ghcb_release().
int ghcb_acquire(uint64_t* rflags);
void ghcb_release(int level, uint64_t rflags);

class GhcbLease {
 public:
  GhcbLease() : level_(ghcb_acquire(&rflags_)) {}
  ~GhcbLease() { ghcb_release(level_, rflags_); }
  GhcbLease(const GhcbLease&) = delete;
  GhcbLease& operator=(const GhcbLease&) = delete;
  bool ok() const { return level_ != 0; }

 private:
  uint64_t rflags_ = 0;
  int level_;
};

// SNP page-state change of one 4 KiB page through the MSR protocol; the
// hypervisor's error code (0 = success) or ~0u for a malformed reply.
uint32_t page_state_change(uint64_t gpa, ghcb::msr::PageState state);

// Converts one identity-mapped 4 KiB page (a 4 KiB leaf in the live tables)
// between private and shared, in the order SNP requires: to shared, rescind
// validation, change the RMP state, clear the C-bit; to private, set the
// C-bit, change the RMP state, validate. Under SEV/SEV-ES only the C-bit
// changes. Returns 0 or a non-zero step-specific error.
struct ConvertResult {
  enum Step : uint8_t { ok, pvalidate, psc, page_table } step = ok;
  uint32_t code = 0;
};
ConvertResult make_shared(uint64_t va);
ConvertResult make_private(uint64_t va);

// GHCB spec version the hypervisor offers (SEV information request).
bool sev_info(ghcb::msr::SevInfo* out);

}  // namespace platform::sev
