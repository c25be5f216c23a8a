// null: an EFI application that ends the VM at once, through isa-debug-exit,
// without printing anything. Booting it measures the firmware floor: the
// cost of QEMU and OVMF alone, against which a test's own time is measured
// (scripts/bench). It makes no claim about anything, so scripts/run
// rightly reports it as ERROR (no SUMMARY line).
#include "cpu/processor.h"
#include "efi/efi.h"
#include "rt/verdict.h"

extern "C" efi::Status efi_main(efi::Handle, efi::SystemTable*) {
  cpu::outl(0xf4, debug_exit_value(Verdict::pass));
  return efi::kSuccess;
}
