#!/usr/bin/env bash
# `scripts/run --gdb`: the guest waits before main() with a gdbstub, the
# runner prints one gdb command line, and that command, driven by gdb in
# batch mode, stops at main with the test's argc. Then gdb detaches and the
# test runs on to its own verdict. Warm (restored snapshot), cold, and
# through the PVH entry.
# Skipped without gdb, the images, QEMU or OVMF; RUNNER_TESTS_QEMU=0 skips
# it too.
# shellcheck source=tests/runner/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ ${RUNNER_TESTS_QEMU:-1} != 0 ]] || skip_all "RUNNER_TESTS_QEMU=0"
command -v gdb >/dev/null || skip_all "gdb is not installed"
[[ -f $repo_top/x86/selftest.efi && -f $repo_top/x86/selftest.debug ]] ||
  skip_all "x86/selftest.efi not built (run make)"
"$repo_top/scripts/run" --find-tools >/dev/null 2>&1 || skip_all "QEMU or OVMF not installed"

# gdb_case LABEL WANT_BOOT SYMBOLS [ENV...]: one --gdb run of selftest
# with three test arguments (argc 4); gdb must load SYMBOLS.
gdb_case() {
  local label=$1 want_boot=$2 symbols=$3
  shift 3
  local out=$scratch/$label.out err=$scratch/$label.err
  env "$@" "$repo_top/scripts/run" --gdb selftest -append 'argv-check "two words" last' >"$out" 2>"$err" &
  local pid=$! cmd='' i
  # Bounded: a cold boot under TCG on a loaded machine takes well under this.
  for ((i = 0; i < 300; i++)); do
    cmd=$(sed -n 's/^gdb: //p' "$err" | head -n 1)
    [[ -z $cmd ]] || break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if [[ -z $cmd ]]; then
    not_ok "$label: scripts/run printed a gdb command" "stderr: $(tail -n 5 "$err")"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    return
  fi
  ok "$label: scripts/run printed a gdb command"
  expect_contains "$label: the boot is $want_boot" "boot: $want_boot" "$(<"$err")"
  expect_contains "$label: the command loads $symbols" "$symbols" "$cmd"
  local g
  g=$(eval "timeout 120 $cmd -batch -ex continue -ex 'print argc' -ex 'print argv[2]' -ex detach" 2>&1)
  expect_contains "$label: gdb stops at main" "main (argc=4" "$g"
  expect_contains "$label: gdb prints argc" '$1 = 4' "$g"
  expect_contains "$label: gdb prints argv[2]" '"two words"' "$g"
  local st=0
  wait "$pid" || st=$?
  expect_eq "$label: after gdb detaches the test passes" 0 "$st"
  expect_contains "$label: the verdict line" "PASS selftest" "$(<"$err")"
}

"$repo_top/scripts/run" selftest >/dev/null 2>&1 || true  # the snapshot, untimed
gdb_case warm "warm" "x86/selftest.debug"
gdb_case cold "cold" "x86/selftest.debug" COLD_BOOT=1
# PVH: the .elf runs where it is linked and carries its own symbols.
gdb_case pvh "pvh" "x86/selftest.elf" BOOT=pvh

# Without --gdb nothing waits: the fw_cfg request is absent.
out=$("$repo_top/scripts/run" selftest 2>&1) || true
expect_not_contains "without --gdb the guest does not wait" "waiting for gdb" "$out"

finish
