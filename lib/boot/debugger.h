// Waiting for a debugger before main(), for `scripts/run --gdb`
// (docs/running.md, "Debugging with gdb").
//
// The host asks for it with the fw_cfg file opt/efitest/gdb. The image then
// prints one line with its load address,
//
//   efitest: waiting for gdb: image base 0x<hex>
//
// and spins until a debugger clears efitest_gdb_wait (with gdb: `set var
// efitest_gdb_wait = 0`), or until the bound passes. The host turns the
// line into a gdb command that loads x86/<name>.debug at that base.
#pragma once

#include <cstdint>

struct BootInfo;

// The fw_cfg file that asks for the wait.
inline constexpr const char kDebuggerFwCfgFile[] = "opt/efitest/gdb";

// The flag a debugger clears; 1 while the image waits.
extern "C" volatile uint32_t efitest_gdb_wait;

namespace boot {

// Phase 6, just before main(): waits when the host asked for it. The wait
// is bounded (kDebuggerWaitSeconds); without a debugger the test goes on.
inline constexpr uint64_t kDebuggerWaitSeconds = 600;
void wait_for_debugger(const BootInfo& bi);

}  // namespace boot
