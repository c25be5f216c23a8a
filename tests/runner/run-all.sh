#!/usr/bin/env bash
# Runs every runner test (tests/runner/*.sh) and prints "N passed, N failed"
# over all their assertions. Exit status 0 only when nothing failed.
# RUNNER_TESTS_QEMU=0 leaves out the tests that boot real guests.
set -uo pipefail

dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
passed=0 failed=0 skipped=0

for t in "$dir"/*.sh; do
  case ${t##*/} in lib.sh|run-all.sh) continue ;; esac
  echo "== ${t##*/}"
  st=0
  out=$(bash "$t" 2>&1) || st=$?
  printf '%s\n' "$out" | grep -v '^ok - ' || true
  ok=$(grep -c '^ok - ' <<<"$out" || true)
  bad=$(grep -c '^not ok - ' <<<"$out" || true)
  passed=$((passed + ok)) failed=$((failed + bad))
  if ((st == 77)); then
    skipped=$((skipped + 1))
  elif ((st != 0 && bad == 0)); then
    echo "not ok - ${t##*/} exited $st"
    failed=$((failed + 1))
  fi
done

((skipped == 0)) || echo "$skipped test scripts skipped"
echo "$passed passed, $failed failed"
((failed == 0))
