#!/usr/bin/env bash
# The fast path of scripts/run (snapshot restore) against cold boots, under
# the real QEMU and OVMF: the same checks, SUMMARY and verdicts both ways;
# argv and -smp survive a restore; a changed firmware byte or QEMU argument
# gets a new snapshot, an unchanged copy of the firmware shares one; two
# runs of one new shape build it once; a half-written snapshot is rebuilt
# and a corrupt one is retried cold; guest RAM lives in a sparse file that
# restores never write, so a 6 GiB guest restores too. Snapshots go to a
# scratch directory.
# Skipped when the images are not built or QEMU/OVMF are missing;
# RUNNER_TESTS_QEMU=0 skips it too.
# shellcheck source=tests/runner/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ ${RUNNER_TESTS_QEMU:-1} != 0 ]] || skip_all "RUNNER_TESTS_QEMU=0"
for f in x86/selftest.efi x86/memory.efi x86/negative/fail.efi x86/negative/hang.efi efi/loader.efi; do
  [[ -f $repo_top/$f ]] || skip_all "$f not built (run make)"
done
tools=$("$repo_top/scripts/run" --find-tools 2>/dev/null) || skip_all "QEMU or OVMF not installed"
OVMF_VARS=$(sed -n 's/^OVMF_VARS=//p' <<<"$tools")

run=$repo_top/scripts/run
export SNAPSHOT_DIR=$scratch/snapshots
unset COLD_BOOT QEMU_EXTRA

# go NAME MODE TEST [ARGS...]: scripts/run in the background, output in
# $scratch/NAME.{out,err,st}; MODE is cold or warm.
pids=()
go() {
  local n=$1 mode=$2
  shift 2
  (
    st=0
    if [[ $mode == cold ]]; then export COLD_BOOT=1; fi
    "$run" "$@" >"$scratch/$n.out" 2>"$scratch/$n.err" || st=$?
    echo "$st" >"$scratch/$n.st"
  ) &
  pids+=($!)
}
wait_all() { wait "${pids[@]}"; pids=(); }

# What a test reports, without what legitimately differs between boots:
# addresses (five hex digits or more), the INFO/banner lines, and the
# number of power-of-two blocks the memory test drains the allocator in,
# which follows from where the firmware placed the image: the loader's
# LoadImage from a buffer and OVMF's own -kernel path allocate differently
# before the image is loaded. The map has the same number of ranges and
# the same usable total both ways; its boundaries are not at the same
# addresses.
checks() {
  sed -e 's/\r//g' "$scratch/$1.out" | grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS): |^SUMMARY: ' |
    sed -E -e 's/0x[0-9a-fA-F]{5,}/0xADDR/g' -e 's/drained in [0-9]+ blocks/drained in N blocks/'
}
result() { tail -n 1 "$scratch/$1.err"; }
boot_line() { grep -m1 -E '^boot: (warm|cold) ' "$scratch/$1.err"; }
key_of() { boot_line "$1" | sed -nE 's|^boot: warm \(snapshot .*/([0-9a-f]+)\.state\)$|\1|p'; }
builds() { cat "$@" | grep -c '^boot: building snapshot' || true; }

# --- cold against warm -------------------------------------------------------
# The two warm runs of the default shape start together on an empty cache:
# one builds, the other waits for it on the lock.
go sel.warm warm selftest
go argv.warm warm selftest -append 'argv-check "two words" last'
go sel.cold cold selftest
wait_all
expect_eq "two runs of one new shape build it once" 1 \
  "$(builds "$scratch/sel.warm.err" "$scratch/argv.warm.err")"
key=$(key_of sel.warm)
check "selftest restored a snapshot" test -n "$key"
expect_eq "both runs restored the same snapshot" "$key" "$(key_of argv.warm)"

go argv.cold cold selftest -append 'argv-check "two words" last'
go smp.warm warm selftest -smp 2
wait_all
go smp.cold cold selftest -smp 2
go fail.warm warm negative/fail
go fail.cold cold negative/fail
wait_all
TIMEOUT=8s go hang.warm warm negative/hang
TIMEOUT=8s go hang.cold cold negative/hang
wait_all

for t in sel argv smp fail hang; do
  expect_eq "$t: warm boot" warm "$(boot_line "$t.warm" | cut -d' ' -f2)"
  expect_eq "$t: cold boot" "boot: cold (COLD_BOOT=1)" "$(boot_line "$t.cold")"
  expect_eq "$t: same exit status cold and warm" "$(<"$scratch/$t.cold.st")" "$(<"$scratch/$t.warm.st")"
  expect_eq "$t: same result line cold and warm" "$(result "$t.cold")" "$(result "$t.warm")"
  expect_eq "$t: same checks and SUMMARY cold and warm" "$(checks "$t.cold")" "$(checks "$t.warm")"
done
expect_eq "selftest passes warm" 0 "$(<"$scratch/sel.warm.st")"
expect_contains "argv arrives whole after a restore" "PASS: argv: quoted argument kept whole" \
  "$(<"$scratch/argv.warm.out")"
expect_contains "-smp 2 reaches the restored guest" "smp: 2 CPUs" "$(<"$scratch/smp.warm.out")"
check "-smp 2 is its own snapshot" test "$(key_of smp.warm)" != "$key"
expect_eq "negative/fail: FAIL warm" 1 "$(<"$scratch/fail.warm.st")"
expect_eq "negative/hang: TIMEOUT warm" 124 "$(<"$scratch/hang.warm.st")"

# --- the key ---------------------------------------------------------------------
vars=$scratch/vars.fd
cp "$OVMF_VARS" "$vars"
OVMF_VARS=$vars go copy warm selftest
go mem warm selftest -m 512M
wait_all
expect_eq "an unchanged copy of the firmware shares the snapshot" "$key" "$(key_of copy)"
expect_eq "... without building" 0 "$(builds "$scratch/copy.err")"
mem_key=$(key_of mem)
check "a changed QEMU argument (-m 512M) gets its own snapshot" \
  test -n "$mem_key" -a "$mem_key" != "$key"
check "... which is built" test "$(builds "$scratch/mem.err")" = 1
# One byte of the variable store, away from its header.
printf '\x5a' | dd of="$vars" bs=1 seek=$((64 * 1024 + 17)) conv=notrunc status=none
OVMF_VARS=$vars go vars warm selftest
wait_all
vars_key=$(key_of vars)
check "a changed firmware byte gets its own snapshot" test -n "$vars_key" -a "$vars_key" != "$key"
expect_eq "... which is built" 1 "$(builds "$scratch/vars.err")"
expect_eq "... and passes" 0 "$(<"$scratch/vars.st")"

# --- guest RAM in a file ---------------------------------------------------------
base=$SNAPSHOT_DIR/$key
ram_hash() { sha256sum <"$1" | cut -d' ' -f1; }
check "the snapshot keeps guest RAM in its own file" test -f "$base.ram"
expect_eq "... of the guest's size" $((256 * 1024 * 1024)) "$(stat -c %s "$base.ram")"
before=$(ram_hash "$base.ram")
go again warm selftest
wait_all
expect_eq "a restore runs the test" 0 "$(<"$scratch/again.st")"
expect_eq "... and leaves the RAM file as it was" "$before" "$(ram_hash "$base.ram")"

# 6 GiB, RAM above 4 GiB included: restored like any other size.
go big.warm warm memory -m 6G
go big.cold cold memory -m 6G
wait_all
big_key=$(key_of big.warm)
check "a 6 GiB guest restores a snapshot" test -n "$big_key"
expect_eq "6 GiB: same exit status cold and warm" "$(<"$scratch/big.cold.st")" "$(<"$scratch/big.warm.st")"
expect_eq "6 GiB: same checks and SUMMARY cold and warm" "$(checks big.cold)" "$(checks big.warm)"
expect_contains "6 GiB: the restored guest has RAM above 4 GiB" "(4096 MiB above 4 GiB)" \
  "$(<"$scratch/big.warm.out")"
big_disk=$(du -k "$SNAPSHOT_DIR/$big_key.ram" | cut -f1)
check "6 GiB: the RAM file is sparse (${big_disk} KiB on disk)" test "$big_disk" -lt $((256 * 1024))

# --- recovery ------------------------------------------------------------------------
# Half-written: no completion marker, a cut state, a stale temporary.
size=$(stat -c %s "$base.state")
rm -f "$base.shape"
truncate -s $((size / 2)) "$base.state"
: >"$base.state.tmp.999999"
go half warm selftest
wait_all
expect_eq "half-written snapshot: rebuilt" 1 "$(builds "$scratch/half.err")"
expect_eq "half-written snapshot: same key" "$key" "$(key_of half)"
expect_eq "half-written snapshot: PASS" 0 "$(<"$scratch/half.st")"
check "half-written snapshot: stale temporary removed" test ! -e "$base.state.tmp.999999"
check "half-written snapshot: complete again" test -f "$base.shape" -a "$(stat -c %s "$base.state")" -gt $((size / 2))

# Corrupt behind a valid marker: the restore fails, the run goes cold and
# the snapshot is dropped so that the next run rebuilds it.
# cold_retry LABEL NAME GONE: run NAME was retried cold with the reason, and
# the file GONE of its snapshot was dropped.
cold_retry() {
  expect_eq "$1: PASS after a cold retry" 0 "$(<"$scratch/$2.st")"
  expect_contains "$1: the retry is explained" "boot: cold (restoring the snapshot failed" \
    "$(<"$scratch/$2.err")"
  check "$1: snapshot dropped" test ! -e "$3"
}
truncate -s $((size / 2)) "$base.state"
go corrupt warm selftest
wait_all
cold_retry "corrupt snapshot" corrupt "$base.shape"

# A RAM file of the wrong size: QEMU refuses it before the restore starts.
go rebuilt warm selftest
wait_all
expect_eq "corrupt snapshot: rebuilt by the next run" 1 "$(builds "$scratch/rebuilt.err")"
truncate -s 1M "$base.ram"
go badram warm selftest
wait_all
cold_retry "cut RAM file" badram "$base.ram"

# --- cold by necessity ---------------------------------------------------------------
go unkeyed warm selftest -rtc base=utc
wait_all
expect_contains "an argument outside the key boots cold, with the reason" \
  "boot: cold (QEMU argument -rtc is not part of the snapshot key)" "$(<"$scratch/unkeyed.err")"
expect_eq "... and the verdict is unchanged" 0 "$(<"$scratch/unkeyed.st")"
go hotplug warm selftest -m 512M,slots=2,maxmem=1G
wait_all
expect_contains "-m with hotplug slots boots cold, with the reason" \
  "boot: cold (-m 512M,slots=2,maxmem=1G is not a plain size" "$(<"$scratch/hotplug.err")"

finish
