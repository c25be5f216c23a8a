#!/usr/bin/env bash
# Two suite features of the cfg and the guest output: BENCH lines reach
# the TAP YAML (even of a pass), and `boot =` restricts an entry to one
# boot entry, as `accel =` restricts it to one accelerator.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tree=$scratch/tree
make_tree "$tree"
x=$tree/x86
cfg=$tree/unittests.cfg
fake_image "$x/bench.efi" 33 <<'EOT'
INFO: cpuid: 1234 cycles
BENCH cpuid 1234
BENCH pio_pmtimer 88.5
PASS: every measurement ran
SUMMARY: 1 tests, 0 unexpected failures, 0 skipped
EOT
printf '[bench]\nfile = bench.efi\n\n[pvh_only]\nfile = missing.efi\nboot = pvh\n\n[efi_only]\nfile = bench.efi\nboot = efi\n' >"$cfg"

st=0
human=$("$tree/run_tests.sh" -t --log-dir "$scratch/logs" 2>&1 >"$scratch/tap") || st=$?
tap=$(<"$scratch/tap")
expect_eq "the suite passes" 0 "$st"
expect_contains "BENCH lines: in the YAML block of a pass" \
  $'ok 1 - bench (1 tests)\n  ---\n  bench:\n    \'cpuid\': 1234\n    \'pio_pmtimer\': 88.5\n  ...' "$tap"
expect_contains "BENCH lines: kept in the log" "BENCH cpuid 1234" "$(<"$scratch/logs/bench.log")"
expect_contains "boot = pvh under the EFI entry: SKIP with the reason, no image needed" \
  "SKIP pvh_only (boot = pvh: runs only through the PVH entry)" "$human"
expect_contains "boot = efi under the EFI entry: runs" "PASS efi_only" "$human"
prove_quiet() { prove --exec cat "$1" >/dev/null 2>&1; }
if command -v prove >/dev/null; then
  check "the TAP with BENCH blocks parses" prove_quiet "$scratch/tap"
fi

st=0
out=$("$tree/run_tests.sh" --boot bios 2>&1) || st=$?
expect_eq "--boot bios: usage error" 2 "$st"
expect_contains "--boot bios: says why" "--boot is efi or pvh, not 'bios'" "$out"
printf '[x]\nfile = bench.efi\nboot = bios\n' >"$scratch/bad.cfg"
st=0
out=$("$tree/run_tests.sh" --config "$scratch/bad.cfg" 2>&1) || st=$?
expect_eq "boot = bios in the cfg: ERROR" 99 "$st"
expect_contains "boot = bios in the cfg: file and line" "bad.cfg:3: bad value for 'boot'" "$out"

finish
