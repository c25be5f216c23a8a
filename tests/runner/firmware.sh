#!/usr/bin/env bash
# Firmware profiles: the QEMU command line each profile gives (fake QEMU),
# then the real thing: selftest under one-file firmware (-bios OVMF.fd) and
# under Secure Boot, warm and cold, with the same checks both ways; and an
# image signed with a key the firmware does not trust is refused, which
# shows that the secboot profile really boots with Secure Boot on.
# The real-QEMU part is skipped when the images are not built or QEMU/OVMF
# are missing; RUNNER_TESTS_QEMU=0 skips it too.
# shellcheck source=tests/runner/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- the command line, with the fake QEMU -------------------------------------------
tree=$scratch/tree
make_tree "$tree"
x=$tree/x86
export FAKE_QEMU_LOG=$scratch/qemu.log
fake_image "$x/pass.efi" 33 <<'EOT'
PASS: a
SUMMARY: 1 tests, 0 unexpected failures, 0 skipped
EOT
: >"$tree/OVMF.fd"
args_of_last() { awk '/^# pid/ { n = 0; delete a } /^$/ { next } { a[++n] = $0 } END { for (i = 2; i <= n; i++) print a[i] }' "$FAKE_QEMU_LOG"; }
go() { # ENV... -- ARGS...
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  st=0
  : >"$FAKE_QEMU_LOG"
  err=$(env "${envs[@]}" "$tree/scripts/run" "$@" 2>&1 >/dev/null) || st=$?
  args=$(args_of_last)
}

go -- "$x/pass.efi"
expect_eq "pflash: PASS" 0 "$st"
expect_contains "pflash: the code drive" "if=pflash,format=raw,unit=0,readonly=on,file=$tree/OVMF_CODE.fd" "$args"
expect_contains "pflash: the variable store, never written" "if=pflash,format=raw,unit=1,snapshot=on,file=$tree/OVMF_VARS.fd" "$args"
expect_not_contains "pflash: no -bios" "-bios" "$args"

go FIRMWARE=bios BIOS="$tree/OVMF.fd" -- "$x/pass.efi"
expect_eq "bios: PASS" 0 "$st"
expect_contains "bios: the one file" $'-bios\n'"$tree/OVMF.fd" "$args"
expect_not_contains "bios: no pflash drive" "if=pflash" "$args"

go -- "$x/pass.efi" -bios "$tree/OVMF.fd"
expect_eq "scripts/run TEST -bios FILE: PASS" 0 "$st"
expect_contains "scripts/run TEST -bios FILE: the bios profile" $'-bios\n'"$tree/OVMF.fd" "$args"
expect_not_contains "scripts/run TEST -bios FILE: no pflash drive" "if=pflash" "$args"
expect_eq "scripts/run TEST -bios FILE: -bios given once" 1 "$(grep -c -x -e -bios <<<"$args")"

go FIRMWARE=bios BIOS=/nonexistent/OVMF.fd -- "$x/pass.efi"
expect_eq "bios, missing file: ERROR" 99 "$st"
expect_contains "bios, missing file: says what to do" "firmware '/nonexistent/OVMF.fd' not found (install the Debian package ovmf, or set BIOS=)" "$err"
go FIRMWARE=coreboot -- "$x/pass.efi"
expect_eq "unknown profile: ERROR" 99 "$st"
expect_contains "unknown profile: lists the profiles" "FIRMWARE must be one of: pflash bios secboot (not 'coreboot')" "$err"
go -- "$x/pass.efi" -pflash "$tree/OVMF.fd"
expect_eq "-pflash: refused" 99 "$st"
go -- "$x/pass.efi" -bios
expect_eq "-bios without a file: refused" 99 "$st"

printf 'FIRMWARE=bios\nBIOS=%s\n' "$tree/OVMF.fd" >"$tree/config.mak"
go -- "$x/pass.efi"
expect_contains "config.mak chooses the profile" $'-bios\n'"$tree/OVMF.fd" "$args"
go FIRMWARE=pflash -- "$x/pass.efi"
expect_contains "the environment overrides config.mak" "if=pflash" "$args"
rm -f "$tree/config.mak"

cfg=$tree/unittests.cfg
printf '[a]\nfile = pass.efi\n\n[b]\nfile = pass.efi\n\n' >"$cfg"
st=0
BIOS=$tree/OVMF.fd "$tree/run_tests.sh" -j 2 --firmware bios --log-dir "$scratch/logs" >/dev/null 2>&1 || st=$?
expect_eq "run_tests.sh --firmware bios: passes" 0 "$st"
expect_contains "run_tests.sh --firmware bios: every test under -bios" "-bios $tree/OVMF.fd" "$(cat "$scratch/logs/a.log" "$scratch/logs/b.log")"
expect_eq "run_tests.sh --firmware bios: no pflash" 0 "$(cat "$scratch/logs/a.log" "$scratch/logs/b.log" | grep -c 'if=pflash' || true)"
unset FAKE_QEMU_LOG

# --- the real firmware ----------------------------------------------------------------
real() {
  [[ ${RUNNER_TESTS_QEMU:-1} != 0 ]] || { echo "# skipped: RUNNER_TESTS_QEMU=0"; return 1; }
  local f
  for f in x86/selftest.efi efi/loader.efi; do
    [[ -f $repo_top/$f ]] || { echo "# skipped: $f not built (run make)"; return 1; }
  done
  for f in /usr/share/ovmf/OVMF.fd /usr/share/OVMF/OVMF_CODE_4M.secboot.fd /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd; do
    [[ -r $f ]] || { echo "# skipped: $f missing (Debian package ovmf)"; return 1; }
  done
  if ! command -v sbsign >/dev/null || ! command -v openssl >/dev/null; then
    echo "# skipped: sbsign or openssl missing"; return 1
  fi
  command -v qemu-system-x86_64 >/dev/null || { echo "# skipped: no QEMU"; return 1; }
}
if real; then
  unset QEMU OVMF_CODE OVMF_VARS FIRMWARE BIOS KVM_DEVICE ACCEL_CACHE
  export SNAPSHOT_DIR=$scratch/snapshots
  run=$repo_top/scripts/run
  checks() {
    sed -e 's/\r//g' "$scratch/$1.out" | grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS): |^SUMMARY: ' |
      sed -E -e 's/0x[0-9a-fA-F]{5,}/0xADDR/g'
  }
  one() { # NAME ENV... -- ARGS...
    local n=$1 envs=()
    shift
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    local s=0
    env "${envs[@]}" "$run" "$@" >"$scratch/$n.out" 2>"$scratch/$n.err" || s=$?
    echo "$s" >"$scratch/$n.st"
  }
  one bios.warm -- selftest -bios /usr/share/ovmf/OVMF.fd
  one bios.again -- selftest -bios /usr/share/ovmf/OVMF.fd
  one bios.cold COLD_BOOT=1 -- selftest -bios /usr/share/ovmf/OVMF.fd
  one sb.warm FIRMWARE=secboot -- selftest
  one sb.again FIRMWARE=secboot -- selftest
  one sb.cold FIRMWARE=secboot COLD_BOOT=1 -- selftest
  for t in bios sb; do
    expect_eq "$t: PASS warm" 0 "$(<"$scratch/$t.warm.st")"
    expect_eq "$t: PASS cold" 0 "$(<"$scratch/$t.cold.st")"
    expect_contains "$t: the second run restores the snapshot" "boot: warm (snapshot" "$(<"$scratch/$t.again.err")"
    expect_eq "$t: the second run passes" 0 "$(<"$scratch/$t.again.st")"
    expect_eq "$t: same checks warm and cold" "$(checks "$t.cold")" "$(checks "$t.again")"
  done
  expect_contains "bios: one -bios file on the command line" "-bios /usr/share/ovmf/OVMF.fd" "$(<"$scratch/bios.cold.err")"
  expect_contains "secboot: smm and the secure pflash" "-machine smm=on -global driver=cfi.pflash01,property=secure,value=on" "$(<"$scratch/sb.cold.err")"
  expect_contains "secboot: a signed copy boots" "-kernel /" "$(grep -m1 -- '-kernel' "$scratch/sb.cold.err")"
  check "bios and secboot have snapshots of their own" test \
    "$(grep -o 'snapshot [^ ]*' "$scratch/bios.again.err")" != "$(grep -o 'snapshot [^ ]*' "$scratch/sb.again.err")"
  # A key that is not in db: the firmware must refuse the image. It then
  # waits at its boot menu, so the run ends at its timeout, never PASS.
  openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=untrusted test key/" \
    -keyout "$scratch/untrusted.key" -out "$scratch/untrusted.crt" >/dev/null 2>&1
  one sb.untrusted FIRMWARE=secboot COLD_BOOT=1 TIMEOUT=25 SECBOOT_KEY="$scratch/untrusted.key" \
    SECBOOT_CERT="$scratch/untrusted.crt" -- selftest
  expect_eq "secboot: an image signed by an untrusted key does not run" 124 "$(<"$scratch/sb.untrusted.st")"
  expect_not_contains "secboot: ...and prints no check" "PASS: " "$(<"$scratch/sb.untrusted.out")"
fi

finish
