// Verdicts and how they leave the guest.
//
// The process exit codes are the contract between the guest, scripts/run and
// run_tests.sh (see README, "Verdicts"). The guest cannot produce a process
// exit code directly: QEMU's isa-debug-exit device turns a write of V into
// the exit status (V << 1) | 1. QEMU itself exits 1 on its own errors and 0
// after a triple fault under -no-reboot, so the guest writes values from
// 0x10 up, which give statuses that neither case can produce:
// pass 33, skip 35, error 37, fail 39.
#pragma once

#include <cstdint>

enum class Verdict : uint8_t { pass, skip, error, fail };

// Process exit codes (scripts/run, run_tests.sh).
constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitSkip = 77;
constexpr int kExitError = 99;
constexpr int kExitTimeout = 124;
constexpr int kExitCrash = 125;
// The runner's own: a test stopped by Ctrl-C (128 + SIGINT) or by SIGTERM.
constexpr int kExitInterrupted = 130;
constexpr int kExitTerminated = 143;

constexpr int exit_code(Verdict v) {
  switch (v) {
    case Verdict::pass: return kExitPass;
    case Verdict::skip: return kExitSkip;
    case Verdict::error: return kExitError;
    case Verdict::fail: return kExitFail;
  }
  return kExitError;
}

// Values written to isa-debug-exit (iobase 0xf4, 4 bytes).
constexpr uint32_t debug_exit_value(Verdict v) { return 0x10 + static_cast<uint32_t>(v); }
static_assert((debug_exit_value(Verdict::pass) << 1 | 1) == 33);
static_assert((debug_exit_value(Verdict::fail) << 1 | 1) == 39);

// The more severe of two outcomes: a failed check outranks a broken
// environment, which outranks a skip, which outranks a pass.
constexpr Verdict worse(Verdict a, Verdict b) { return a > b ? a : b; }

const char* verdict_str(Verdict v);
