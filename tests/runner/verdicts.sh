#!/usr/bin/env bash
# Every verdict and cross-check of scripts/run and run_tests.sh, against a
# fake QEMU whose "guest" output and exit status are scripted: exit codes,
# result lines, TAP (through prove's parser) and JUnit (through xmllint).
# shellcheck source=tests/runner/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tree=$scratch/tree
make_tree "$tree"
x=$tree/x86
export FAKE_QEMU_LOG=$scratch/qemu.log

fake_image "$x/pass.efi" 33 <<'EOF'
PASS: a
SKIP: b
SUMMARY: 2 tests, 0 unexpected failures, 1 skipped
EOF
fake_image "$x/xfail.efi" 33 <<'EOF'
PASS: a
XFAIL: b: known bug
SUMMARY: 2 tests, 0 unexpected failures, 1 expected failures, 0 skipped
EOF
fake_image "$x/fail.efi" 39 <<'EOF'
PASS: a
FAIL: b # with a hash & <xml> 'quotes'
SUMMARY: 2 tests, 1 unexpected failures, 0 skipped
EOF
fake_image "$x/fail_nosummary.efi" 39 <<'EOF'
FAIL: unexpected #GP at rip 0x1234
EOF
fake_image "$x/skip.efi" 35 <<'EOF'
SKIP: a
SUMMARY: 1 tests, 0 unexpected failures, 1 skipped
EOF
fake_image "$x/error.efi" 37 <<'EOF'
ERROR: could not take over the machine
EOF
fake_image "$x/crash.efi" 0 <<'EOF'
PASS: a
EOF
printf 'status=1\nstderr=qemu-system-x86_64: -smp 9999: too many CPUs\n---\n' >"$x/qemu_error.efi"
# Guests of another framework: debug-exit values that are none of ours,
# with QEMU silent but for a warning.
printf 'status=1\nstderr=qemu-system-x86_64: warning: TCG does not support requested feature\n---\nPASS: other framework\n' >"$x/foreign_zero.efi"
fake_image "$x/foreign_fail.efi" 3 <<'EOF'
PASS: a
FAIL: b
EOF
fake_image "$x/hang.efi" 33 forever <<'EOF'
INFO: hanging
EOF
fake_image "$x/no_summary.efi" 33 <<'EOF'
INFO: nothing checked
EOF
fake_image "$x/pass_but_failed.efi" 33 <<'EOF'
FAIL: a
SUMMARY: 1 tests, 1 unexpected failures, 0 skipped
EOF
fake_image "$x/pass_all_skipped.efi" 33 <<'EOF'
SKIP: a
SUMMARY: 1 tests, 0 unexpected failures, 1 skipped
EOF
fake_image "$x/skip_no_summary.efi" 35 <<'EOF'
SKIP: a
EOF
fake_image "$x/xpass.efi" 33 <<'EOF'
XPASS: a
SUMMARY: 1 tests, 0 unexpected failures, 0 skipped
EOF
# OVMF's screen clearing precedes the first guest line on the serial port.
printf 'status=33\n---\n\e[2J\e[01;01HPASS: a\r\nSUMMARY: 1 tests, 0 unexpected failures, 0 skipped\r\n' >"$x/escapes.efi"

# name  exit  result line (after the verdict word and name)
cases=(
  "pass 0 (2 tests, 1 skipped)"
  "xfail 0 (2 tests, 1 expected failures)"
  "fail 1 (2 tests, 1 unexpected failures)"
  "fail_nosummary 1 (no SUMMARY line; 1 failed checks)"
  "skip 77 (1 tests, 1 skipped)"
  "error 99 (could not take over the machine)"
  "crash 125 (guest reset or triple fault: no verdict)"
  "qemu_error 125 (QEMU failed (exit 1): qemu-system-x86_64: -smp 9999: too many CPUs)"
  "foreign_zero 99 (the guest exited without a verdict of this framework: it wrote 0 to isa-debug-exit (QEMU exit status 1))"
  "foreign_fail 1 (1 failed checks; the guest wrote 1 to isa-debug-exit (QEMU exit status 3), no verdict of this framework)"
  "hang 124 (no verdict within 1s)"
  "no_summary 99 (guest exited PASS without a SUMMARY line)"
  "pass_but_failed 99 (guest exited PASS but reported failures: 1 tests, 1 unexpected failures)"
  "pass_all_skipped 99 (guest exited PASS but SUMMARY shows no passing check: 1 tests, 1 skipped)"
  "skip_no_summary 99 (guest exited SKIP without a SUMMARY line)"
  "xpass 99 (guest exited PASS but reported failures: 1 tests)"
  "escapes 0 (1 tests)"
)
declare -A word=([0]=PASS [1]=FAIL [77]=SKIP [99]=ERROR [124]=TIMEOUT [125]=CRASH)

# --- scripts/run -------------------------------------------------------------
for c in "${cases[@]}"; do
  read -r name code detail <<<"$c"
  st=0
  out=$(TIMEOUT=1 "$tree/scripts/run" "$x/$name.efi" 2>"$scratch/err") || st=$?
  err=$(<"$scratch/err")
  expect_eq "scripts/run $name: exit status" "$code" "$st"
  expect_eq "scripts/run $name: result line" "${word[$code]} $name $detail" "$(tail -n 1 <<<"$err")"
done
out=$(TIMEOUT=1 "$tree/scripts/run" "$x/escapes.efi" 2>/dev/null)
expect_not_contains "scripts/run: terminal escapes are not streamed" $'\e[' "$out"
expect_contains "scripts/run: serial output is streamed to stdout" "PASS: a" "$out"

# Test names: path, name.efi, bare name, close matches.
for t in x86/pass.efi pass.efi pass; do
  st=0
  (cd "$tree" && scripts/run "$t" >/dev/null 2>&1) || st=$?
  expect_eq "scripts/run accepts '$t'" 0 "$st"
done
st=0
err=$(cd "$tree" && scripts/run pas 2>&1 >/dev/null) || st=$?
expect_eq "scripts/run: unknown test exits 99" 99 "$st"
expect_contains "scripts/run: unknown test lists close matches" "pass_but_failed" "$err"

# Arguments: -append becomes the test's arguments after the image name,
# user -smp/-m/-cpu replace the defaults rather than follow them.
: >"$FAKE_QEMU_LOG"
"$tree/scripts/run" "$x/pass.efi" -smp 4 -m 6G -cpu qemu64 -append 'a "b c"' >/dev/null 2>&1
args=$(<"$FAKE_QEMU_LOG")$'\n'
expect_contains "scripts/run: test args follow the test name" $'\n-append\npass a "b c"\n' "$args"
expect_contains "scripts/run: user -smp passed" $'\n-smp\n4\n' "$args"
expect_not_contains "scripts/run: default -smp dropped" $'\n-smp\n1\n' "$args"
expect_not_contains "scripts/run: default -cpu dropped" $'\n-cpu\nmax\n' "$args"
expect_not_contains "scripts/run: default -m dropped" $'\n-m\n256M\n' "$args"
: >"$FAKE_QEMU_LOG"
"$tree/scripts/run" "$x/pass.efi" >/dev/null 2>&1
args=$(<"$FAKE_QEMU_LOG")$'\n'
expect_contains "scripts/run: no arguments still appends the name" $'\n-append\npass\n' "$args"
for a in -nodefaults q35 isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot "$x/pass.efi"; do
  expect_contains "scripts/run: base command line has $a" $'\n'"$a"$'\n' "$args"
done
expect_contains "scripts/run: variable store opened with snapshot=on" "unit=1,snapshot=on,file=" "$args"

# Tools from config.mak when the environment does not name them.
printf 'QEMU = %s\nOVMF_CODE=%s\nOVMF_VARS=%s\n' "$fake_qemu" "$OVMF_CODE" "$OVMF_VARS" >"$tree/config.mak"
st=0
(unset QEMU OVMF_CODE OVMF_VARS; "$tree/scripts/run" "$x/pass.efi" >/dev/null 2>&1) || st=$?
expect_eq "scripts/run: tools from config.mak" 0 "$st"
rm -f "$tree/config.mak"
st=0
err=$(QEMU=/nonexistent/qemu "$tree/scripts/run" "$x/pass.efi" 2>&1) || st=$?
expect_eq "scripts/run: missing QEMU exits 99" 99 "$st"
expect_contains "scripts/run: missing QEMU names the package" qemu-system-x86 "$err"
st=0
err=$(OVMF_CODE=/nonexistent/code.fd "$tree/scripts/run" "$x/pass.efi" 2>&1) || st=$?
expect_eq "scripts/run: missing firmware exits 99" 99 "$st"
expect_contains "scripts/run: missing firmware names the package" "package ovmf" "$err"

# Backtrace frames are symbolized from <name>.debug.
if command -v gcc >/dev/null && command -v addr2line >/dev/null; then
  printf 'int bt_target(int x) { return x * 3; }\nint main(void) { return bt_target(2); }\n' >"$scratch/bt.c"
  gcc -g -O0 -o "$x/bt.debug" "$scratch/bt.c"
  addr=$(nm "$x/bt.debug" | awk '$3 == "bt_target" { sub(/^0+/, "", $1); print $1 }')
  fake_image "$x/bt.efi" 39 <<EOF
FAIL: unexpected #UD
  #0 0x00000000deadb000 image+0x$addr
EOF
  out=$("$tree/scripts/run" "$x/bt.efi" 2>/dev/null)
  expect_contains "scripts/run: backtrace frame symbolized" "image+0x$addr  <= bt_target at" "$out"
  expect_contains "scripts/run: backtrace frame has file:line" "bt.c:1" "$out"
fi

# --- run_tests.sh ----------------------------------------------------------------
cfg=$tree/unittests.cfg
{
  for c in "${cases[@]}"; do
    read -r name _ <<<"$c"
    printf '[%s]\nfile = %s.efi\ngroups = verdicts\n' "$name" "$name"
    [[ $name == hang ]] && printf 'timeout = 1s\n'
    printf '\n'
  done
} >"$cfg"
n_cases=${#cases[@]}
st=0
"$tree/run_tests.sh" -j 4 -t --timeout-scale 1 --log-dir "$scratch/logs" --junit "$scratch/junit.xml" \
  >"$scratch/tap" 2>"$scratch/human" || st=$?
human=$(<"$scratch/human")
expect_eq "run_tests.sh: exit 1 when any test failed" 1 "$st"
for c in "${cases[@]}"; do
  read -r name code detail <<<"$c"
  expect_contains "run_tests.sh: result line of $name" $'\n'"${word[$code]} $name $detail" $'\n'"$human"
  log=$scratch/logs/$name.log
  expect_contains "run_tests.sh: log of $name has the QEMU command line" "-kernel $x/$name.efi" "$(<"$log")"
done
expect_contains "run_tests.sh: log keeps the serial output" "XFAIL: b: known bug" "$(<"$scratch/logs/xfail.log")"
expect_contains "run_tests.sh: summary counts" "$n_cases tests: 3 PASS, 1 SKIP, 3 FAIL, 7 ERROR, 2 CRASH, 1 TIMEOUT" "$human"

tap=$(<"$scratch/tap")
expect_eq "TAP: version line" "TAP version 13" "$(head -n 1 <<<"$tap")"
expect_eq "TAP: plan" "1..$n_cases" "$(sed -n 2p <<<"$tap")"
expect_eq "TAP: same stream in the log directory" "$tap" "$(<"$scratch/logs/results.tap")"
expect_contains "TAP: skipped test" " - skip # SKIP 1 tests, 1 skipped" "$tap"
expect_contains "TAP: '#' in a guest message is escaped" "    not ok 2 - b \\# with a hash" "$tap"
expect_contains "TAP: expected failure is TODO" "    not ok 2 - b: known bug # TODO expected failure" "$tap"
if command -v prove >/dev/null; then
  prove_out=$(prove -v -e cat "$scratch/tap" 2>&1)
  expect_not_contains "TAP: prove finds no parse error" "Parse errors" "$prove_out"
  expect_contains "TAP: prove counts all tests" "Tests: $n_cases Failed: 13)" "$prove_out"
fi

if command -v xmllint >/dev/null; then
  check "JUnit: well-formed" xmllint --noout "$scratch/junit.xml"
  count() { xmllint --xpath "$1" "$scratch/junit.xml"; }
  expect_eq "JUnit: testcases" "$n_cases" "$(count 'count(//testcase)')"
  expect_eq "JUnit: failures" 3 "$(count 'count(//testcase/failure)')"
  expect_eq "JUnit: errors" 10 "$(count 'count(//testcase/error)')"
  expect_eq "JUnit: skipped" 1 "$(count 'count(//testcase/skipped)')"
  expect_eq "JUnit: suite totals" "17 3 10 1" \
    "$(count 'string(/testsuites/@tests)') $(count 'string(/testsuites/@failures)') $(count 'string(/testsuites/@errors)') $(count 'string(/testsuites/@skipped)')"
  expect_eq "JUnit: CRASH kept as the error type" "CRASH" "$(count 'string(//testcase[@name="crash"]/error/@type)')"
  expect_contains "JUnit: guest output escaped" "&lt;xml&gt;" "$(<"$scratch/junit.xml")"
fi

st=0
"$tree/run_tests.sh" --log-dir "$scratch/logs2" pass skip xfail >"$scratch/out" 2>&1 || st=$?
expect_eq "run_tests.sh: exit 0 when all pass or skip" 0 "$st"

# --- selection, cfg keys, timeouts ----------------------------------------------
fake_image "$x/args.efi" 33 <<'EOF'
PASS: a
SUMMARY: 1 tests, 0 unexpected failures, 0 skipped
EOF
printf 'Y\n' >"$scratch/param_y"
cat >"$cfg" <<EOF
[plain]
file = pass.efi

[hidden]
file = pass.efi
groups = nodefault special

[sized]
file = args.efi
smp = 4
memory = 6G
extra_params = -cpu qemu64 -append 'a "b c"'

[targs]
file = args.efi
test_args = x 'y z'

[reasoned]
file = missing-but-skipped.efi
skip_reason = needs a feature nobody has

[checked_ok]
file = pass.efi
check = $scratch/param_y=Y

[checked_no]
file = pass.efi
check = $scratch/param_y=N

[slow]
file = hang.efi
timeout = 2s
groups = nodefault
EOF
expect_eq "run_tests.sh -l: nodefault left out" "plain sized targs reasoned checked_ok checked_no" \
  "$("$tree/run_tests.sh" -l | tr '\n' ' ' | sed 's/ $//')"
expect_eq "run_tests.sh -l: named nodefault test" "hidden" "$("$tree/run_tests.sh" -l hidden)"
expect_eq "run_tests.sh -l: group selects nodefault test" "hidden" "$("$tree/run_tests.sh" -l -g special)"
expect_eq "run_tests.sh -l: patterns" "checked_ok checked_no" "$("$tree/run_tests.sh" -l 'checked*' | tr '\n' ' ' | sed 's/ $//')"
st=0
err=$("$tree/run_tests.sh" -l plian 2>&1) || st=$?
expect_eq "run_tests.sh: unknown test exits 99" 99 "$st"
expect_contains "run_tests.sh: unknown test lists close matches" "plain" "$err"

: >"$FAKE_QEMU_LOG"
st=0
out=$("$tree/run_tests.sh" --log-dir "$scratch/logs3" 2>&1) || st=$?
expect_eq "run_tests.sh: default selection passes" 0 "$st"
args=$(<"$FAKE_QEMU_LOG")$'\n'
expect_contains "cfg: smp" $'\n-smp\n4\n' "$args"
expect_contains "cfg: memory" $'\n-m\n6G\n' "$args"
expect_contains "cfg: extra_params" $'\n-cpu\nqemu64\n' "$args"
expect_contains "cfg: -append in extra_params" $'\n-append\nargs a "b c"\n' "$args"
expect_contains "cfg: test_args" $'\n-append\nargs x \'y z\'\n' "$args"
expect_contains "cfg: skip_reason" "SKIP reasoned (needs a feature nobody has)" "$out"
expect_contains "cfg: check that holds runs the test" "PASS checked_ok" "$out"
expect_contains "cfg: check that fails skips the test" "SKIP checked_no (check $scratch/param_y=N failed" "$out"
expect_not_contains "cfg: skipped tests do not boot" "missing-but-skipped" "$args"
expect_eq "cfg: QEMU started once per booted test" 4 "$(grep -c '^# pid ' "$FAKE_QEMU_LOG")"

out=$(ACCEL=tcg "$tree/run_tests.sh" --log-dir "$scratch/logs4" slow 2>&1)
expect_contains "timeout: TCG scales the cfg value" "TIMEOUT slow (no verdict within 6s)" "$out"
out=$("$tree/run_tests.sh" --log-dir "$scratch/logs5" --timeout 1 slow 2>&1)
expect_contains "timeout: --timeout overrides" "TIMEOUT slow (no verdict within 1s)" "$out"
out=$(TIMEOUT_SCALE=0.5 "$tree/run_tests.sh" --log-dir "$scratch/logs6" slow 2>&1)
expect_contains "timeout: TIMEOUT_SCALE" "TIMEOUT slow (no verdict within 1s)" "$out"

# --- log directories ----------------------------------------------------------------
"$tree/run_tests.sh" plain >/dev/null 2>&1
"$tree/run_tests.sh" plain >/dev/null 2>&1
runs=$(find "$tree/logs" -mindepth 1 -maxdepth 1 -type d | wc -l)
expect_eq "logs: each run gets its own directory" 2 "$runs"
latest=$(readlink "$tree/logs/latest")
newest=$(cd "$tree/logs" && find . -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | tail -n 1)
expect_eq "logs: latest points at the newest run" "$newest" "$latest"
check "logs: latest has the test log" test -f "$tree/logs/latest/plain.log"

# --- interruption ------------------------------------------------------------------
# Started from a script, the runner would inherit SIGINT as ignored; perl
# restores the default so that the trap can be installed, as in a terminal.
cat >"$cfg" <<'EOF'
[hang1]
file = hang.efi
[hang2]
file = hang.efi
[later]
file = pass.efi
EOF
for sig in INT TERM; do
  : >"$FAKE_QEMU_LOG"
  perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV' "$tree/run_tests.sh" -j 2 --log-dir "$scratch/logs-$sig" \
    >"$scratch/int-out" 2>&1 &
  runner=$!
  for _ in $(seq 50); do
    [[ $(grep -c '^# pid ' "$FAKE_QEMU_LOG") == 2 ]] && break
    sleep 0.1
  done
  kill -"$sig" "$runner"
  st=0
  wait "$runner" || st=$?
  out=$(<"$scratch/int-out")
  expect_eq "SIG$sig: runner exits 130" 130 "$st"
  expect_contains "SIG$sig: partial summary" "3 tests: 2 INTERRUPTED, 1 not run" "$out"
  left=0
  while read -r pid; do
    if kill -0 "$pid" 2>/dev/null; then left=$((left + 1)); kill -KILL "$pid"; fi
  done < <(sed -n 's/^# pid //p' "$FAKE_QEMU_LOG")
  expect_eq "SIG$sig: every QEMU was killed" 0 "$left"
done

finish
