# shellcheck shell=bash
# Helpers for the runner tests. Each test script sources this, makes
# assertions with check/expect_*, and ends with `finish`. Assertion lines
# are "ok - ..." / "not ok - ..."; run-all.sh counts them.

set -uo pipefail

runner_tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_top=$(cd "$runner_tests_dir/../.." && pwd)
fake_qemu=$runner_tests_dir/fake-qemu
n_ok=0 n_not_ok=0

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ktest-runner-test.XXXXXX")
cleanup_scratch() { rm -rf "$scratch"; }
trap cleanup_scratch EXIT

ok() { n_ok=$((n_ok + 1)); printf 'ok - %s\n' "$1"; }
not_ok() {
  n_not_ok=$((n_not_ok + 1))
  printf 'not ok - %s\n' "$1"
  shift
  local l
  for l in "$@"; do printf '#   %s\n' "$l"; done
}

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
  local d=$1
  shift
  if "$@"; then ok "$d"; else not_ok "$d" "command failed: $*"; fi
}

expect_eq() { # DESCRIPTION WANT GOT
  if [[ $2 == "$3" ]]; then ok "$1"; else not_ok "$1" "want: $2" "got:  $3"; fi
}

expect_contains() { # DESCRIPTION NEEDLE HAYSTACK
  if [[ $3 == *"$2"* ]]; then ok "$1"; else not_ok "$1" "missing: $2" "in: ${3:0:2000}"; fi
}

expect_not_contains() { # DESCRIPTION NEEDLE HAYSTACK
  if [[ $3 != *"$2"* ]]; then ok "$1"; else not_ok "$1" "unexpected: $2" "in: ${3:0:2000}"; fi
}

finish() {
  printf '# %s: %d ok, %d not ok\n' "$(basename "$0")" "$n_ok" "$n_not_ok"
  ((n_not_ok == 0))
  exit $?
}

skip_all() {
  printf 'skip - %s\n' "$1"
  exit 77
}

# make_tree DIR: a copy of the runner (run_tests.sh and scripts/) in DIR,
# with an empty x86/, fake firmware files and the fake QEMU in the
# environment, so that logs/ and build/ of the checkout stay untouched.
make_tree() {
  local dir=$1
  mkdir -p "$dir/x86" "$dir/scripts" "$dir/build"
  cp -p "$repo_top/run_tests.sh" "$dir/"
  cp -pR "$repo_top/scripts/run" "$repo_top/scripts/lib" "$dir/scripts/"
  # The host program, current for the checkout's sources; the tree has no
  # sources, so it uses this copy as it is.
  local tool
  # shellcheck source=scripts/lib/host.sh
  tool=$(. "$repo_top/scripts/lib/host.sh" && t='' && efitest_tool_to t "$repo_top" && printf '%s' "$t") || return 1
  cp -p "$tool" "$dir/build/"
  : >"$dir/OVMF_CODE.fd"
  : >"$dir/OVMF_VARS.fd"
  export QEMU=$fake_qemu OVMF_CODE=$dir/OVMF_CODE.fd OVMF_VARS=$dir/OVMF_VARS.fd
  # No KVM in these trees unless a test makes one: the probe is tested
  # with a fake /dev/kvm (accel.sh).
  export KVM_DEVICE=$dir/no-kvm ACCEL_CACHE=$dir/build/accel-probe.cache
  unset ACCEL TIMEOUT TIMEOUT_SCALE QEMU_EXTRA FIRMWARE BIOS
}

# fake_image PATH STATUS [SLEEP] < SERIAL: a script for fake-qemu.
fake_image() {
  mkdir -p "$(dirname "$1")"
  { echo "status=$2"; echo "sleep=${3:-0}"; echo ---; cat; } >"$1"
}
