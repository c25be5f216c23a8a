#!/usr/bin/env bash
# `make check`: every level of the project's own tests, one stage after the
# other, with a closing "N passed, N failed" over the stages. Each stage's
# own output stays visible; a failed stage does not stop the later ones.
#   host      GoogleTest unit tests of the portable core (ASan, UBSan)
#   images    ELF and PE checks of every image
#   suite     the guest suite under QEMU + OVMF (./run_tests.sh)
#   suite-pvh the same suite booted through the PVH entry, no UEFI firmware
#   runner    the runner's own tests: cfg errors, fake QEMU, negative guests
#   fuzz      bounded differential fuzzing of the instruction decoder
#   esp       the ESP image and batch runner under OVMF
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

make_cmd=${MAKE:-make}
jobs=${CHECK_JOBS:-2}
passed=0 failed=0
failures=()

stage() {  # name command...
  local name=$1
  shift
  echo
  echo "===== $name: $*"
  local start=$SECONDS
  if "$@"; then
    echo "===== $name: ok ($((SECONDS - start)) s)"
    passed=$((passed + 1))
  else
    echo "===== $name: FAILED ($((SECONDS - start)) s)"
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

stage host "$make_cmd" -s check-host
stage images "$make_cmd" -s check-images
stage suite ./run_tests.sh -j "$jobs"
stage suite-pvh ./run_tests.sh --boot pvh -j "$jobs"
stage runner tests/runner/run-all.sh
if [ -x tests/fuzz/run.sh ]; then stage fuzz tests/fuzz/run.sh; fi
if [ -x tests/esp/run-esp-tests.sh ]; then stage esp tests/esp/run-esp-tests.sh; fi

echo
((failed == 0)) || echo "failed stages: ${failures[*]}"
echo "$passed passed, $failed failed"
((failed == 0))
