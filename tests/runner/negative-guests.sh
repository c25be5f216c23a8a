#!/usr/bin/env bash
# The negative guests (x86/negative/) under the real QEMU and OVMF: each
# must end with its verdict through scripts/run (exit status) and through
# run_tests.sh (result line, TAP, JUnit). Skipped when the images are not
# built or QEMU/OVMF are missing; RUNNER_TESTS_QEMU=0 skips it too.
# shellcheck source=tests/runner/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ ${RUNNER_TESTS_QEMU:-1} != 0 ]] || skip_all "RUNNER_TESTS_QEMU=0"
for n in fail skip hang triple_fault no_verdict unexpected; do
  [[ -f $repo_top/x86/negative/$n.efi ]] || skip_all "x86/negative/$n.efi not built (run make)"
done
"$repo_top/scripts/run" --find-tools >/dev/null 2>&1 || skip_all "QEMU or OVMF not installed"

# name  exit  verdict  detail
cases=(
  "fail 1 FAIL (2 tests, 1 unexpected failures)"
  "skip 77 SKIP (2 tests, 2 skipped)"
  "triple_fault 125 CRASH (guest reset or triple fault: no verdict)"
  "no_verdict 99 ERROR (guest exited PASS without a SUMMARY line)"
  "hang 124 TIMEOUT (no verdict within 8s)"
  "unexpected 1 FAIL (2 tests, 1 unexpected failures)"
)

# scripts/run, all at once: the boots dominate and overlap well.
pids=()
for c in "${cases[@]}"; do
  read -r name _ <<<"$c"
  t=120s
  [[ $name == hang ]] && t=8s
  TIMEOUT=$t "$repo_top/scripts/run" "negative/$name" >"$scratch/$name.out" 2>"$scratch/$name.err" &
  pids+=($!)
done
i=0
for c in "${cases[@]}"; do
  read -r name code verdict detail <<<"$c"
  st=0
  wait "${pids[i]}" || st=$?
  i=$((i + 1))
  expect_eq "scripts/run negative/$name: exit status" "$code" "$st"
  expect_eq "scripts/run negative/$name: result line" "$verdict $name $detail" "$(tail -n 1 "$scratch/$name.err")"
done
expect_contains "negative/fail: failing check on stdout" "FAIL: a check that fails on purpose" "$(<"$scratch/fail.out")"
unexpected=$(<"$scratch/unexpected.out")
expect_contains "negative/unexpected: the exception as a failed check" "FAIL: unhandled exception #UD at rip" "$unexpected"
expect_contains "negative/unexpected: backtrace frames annotated from the .debug file" "image+0x" "$unexpected"
expect_contains "negative/unexpected: the frame names its function" "<= main" "$unexpected"

st=0
"$repo_top/run_tests.sh" -g negative -j 2 -t --log-dir "$scratch/logs" --junit "$scratch/junit.xml" \
  >"$scratch/tap" 2>"$scratch/human" || st=$?
human=$(<"$scratch/human")
expect_eq "run_tests.sh -g negative: exit 1" 1 "$st"
for c in "${cases[@]}"; do
  read -r name code verdict detail <<<"$c"
  [[ $name == hang ]] && detail="(no verdict within"
  expect_contains "run_tests.sh: negative_$name" $'\n'"$verdict negative_$name $detail" $'\n'"$human"
done
tap=$(<"$scratch/tap")
expect_contains "TAP: fail" "- negative_fail: FAIL (2 tests, 1 unexpected failures)" "$tap"
expect_contains "TAP: skip" "- negative_skip # SKIP 2 tests, 2 skipped" "$tap"
expect_contains "TAP: crash" "- negative_triple_fault: CRASH" "$tap"
expect_contains "TAP: error" "- negative_no_verdict: ERROR" "$tap"
expect_contains "TAP: timeout" "- negative_hang: TIMEOUT" "$tap"
expect_contains "TAP: guest checks as subtests" "    not ok 2 - a check that fails on purpose" "$tap"
if command -v prove >/dev/null; then
  prove_out=$(prove -v -e cat "$scratch/tap" 2>&1)
  expect_not_contains "TAP: prove finds no parse error" "Parse errors" "$prove_out"
  expect_contains "TAP: prove sees 5 failures of 6" "Tests: 6 Failed: 5)" "$prove_out"
fi
if command -v xmllint >/dev/null; then
  check "JUnit: well-formed" xmllint --noout "$scratch/junit.xml"
  j() { xmllint --xpath "$1" "$scratch/junit.xml"; }
  expect_eq "JUnit: verdict types" "FAIL CRASH ERROR TIMEOUT 1" \
    "$(j 'string(//testcase[@name="negative_fail"]/failure/@type)') $(j 'string(//testcase[@name="negative_triple_fault"]/error/@type)') $(j 'string(//testcase[@name="negative_no_verdict"]/error/@type)') $(j 'string(//testcase[@name="negative_hang"]/error/@type)') $(j 'count(//testcase[@name="negative_skip"]/skipped)')"
fi

# A nested guest that never exits: the L1's bound (an intercepted APIC
# timer interrupt) must end it as FAIL, long before the runner's timeout.
if [[ -f $repo_top/x86/negative/svm_loop.efi ]]; then
  st=0
  start=$SECONDS
  out=$("$repo_top/run_tests.sh" svm_negative_loop --log-dir "$scratch/svm-logs" 2>&1) || st=$?
  secs=$((SECONDS - start))
  expect_eq "svm_negative_loop: run_tests.sh exit 1" 1 "$st"
  expect_contains "svm_negative_loop: FAIL, not TIMEOUT" "FAIL svm_negative_loop" "$out"
  expect_contains "svm_negative_loop: the check says why" "L2 did not exit" "$(<"$scratch/svm-logs/svm_negative_loop.log")"
  check "svm_negative_loop: ended within 60 s (${secs}s; its timeout is 90s under TCG)" test "$secs" -lt 60
fi

finish
