// Ending the test from the cpu layer when the framework, not the subject
// under test, is broken or misused: run_user called twice at once, a
// mode-switch trampoline that cannot run, a page-table range that cannot be
// put back. Such an end is an ERROR, never a FAIL.
//
// The cpu layer keeps no verdicts and owns no console, so the policy is a
// hook: the runtime installs one (lib/rt/fault_policy.h) that prints
// "ERROR: <prefix><message>" and ends the guest with Verdict::error. Until
// it does, and if the handler returns, the cpu layer writes
// "ERROR: <message>" to the fault output (lib/cpu/backtrace.h) and shuts
// the machine down (lib/cpu/exceptions.h, shut_down).
#pragma once

namespace cpu {

// Called with the formatted message; must not return.
using FatalHandler = void (*)(const char* message);
FatalHandler set_fatal_handler(FatalHandler h);

[[noreturn]] void fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace cpu
