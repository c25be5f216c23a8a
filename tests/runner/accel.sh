#!/usr/bin/env bash
# The accelerator choice of scripts/run and run_tests.sh against a fake QEMU
# and a fake /dev/kvm: KVM only after the probe VM ran under it, TCG with a
# one-line reason otherwise, ERROR when KVM is forced and cannot work, one
# probe per host and shape, and a test whose KVM fails half-way ending at
# once as CRASH.
# shellcheck source=tests/runner/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tree=$scratch/tree
make_tree "$tree"
x=$tree/x86
log=$scratch/qemu.log
export FAKE_QEMU_LOG=$log
: >"$tree/build/accel-probe.rom"

fake_image "$x/pass.efi" 33 <<'EOT'
PASS: a
SUMMARY: 1 tests, 0 unexpected failures, 0 skipped
EOT
printf 'status=33\nsleep=forever\nstderr=KVM internal error. Suberror: 1\n---\nPASS: a\n' >"$x/kvm_dies.efi"

probes() { grep -c -x -e '-bios' "$log" 2>/dev/null || true; }
accel_of_last_run() { # the -accel of the last QEMU that booted an image
  awk '/^# pid/ { a = ""; k = 0 } prev == "-accel" { a = $0 } $0 == "-kernel" { k = 1 }
       /^$/ && k { last = a } { prev = $0 } END { print last }' "$log"
}
run() { # ENV... -- ARGS...: runs scripts/run; sets st, err, secs
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  st=0
  local start=$SECONDS
  err=$(env TIMEOUT=30 "${envs[@]}" "$tree/scripts/run" "$@" 2>&1 >/dev/null) || st=$?
  secs=$((SECONDS - start))
}
fresh() { rm -f "$tree/build/accel-probe.cache" "$log"; }

# --- no /dev/kvm: no probe, TCG, the reason on one line -------------------------
fresh
run -- "$x/pass.efi"
expect_eq "no /dev/kvm: PASS" 0 "$st"
expect_contains "no /dev/kvm: the reason is shown" "accel: tcg (no $tree/no-kvm)" "$err"
expect_eq "no /dev/kvm: no probe" 0 "$(probes)"
expect_eq "no /dev/kvm: the guest runs under TCG" tcg "$(accel_of_last_run)"
run ACCEL=kvm -- "$x/pass.efi"
expect_eq "no /dev/kvm, ACCEL=kvm: ERROR" 99 "$st"
expect_contains "no /dev/kvm, ACCEL=kvm: the reason" "KVM was asked for, but no $tree/no-kvm" "$err"

# --- KVM that works ----------------------------------------------------------------
export KVM_DEVICE=$scratch/kvm
: >"$KVM_DEVICE"
fresh
run FAKE_KVM=works -- "$x/pass.efi"
expect_eq "KVM works: PASS" 0 "$st"
expect_eq "KVM works: one probe" 1 "$(probes)"
expect_eq "KVM works: the guest runs under KVM" kvm "$(accel_of_last_run)"
expect_contains "KVM works: said so" "accel: kvm (the KVM probe ran)" "$err"
probe_args=$(sed -n '1,/^$/p' "$log")
expect_contains "KVM works: the probe boots the probe ROM under KVM" $'-accel\nkvm\n-bios\n'"$tree/build/accel-probe.rom" "$probe_args"
expect_contains "KVM works: the probe has the test's machine" $'-machine\nq35' "$probe_args"
expect_contains "KVM works: the probe has the test's CPU" $'-cpu\nmax' "$probe_args"
run FAKE_KVM=works -- "$x/pass.efi"
expect_eq "KVM works: the second run reuses the probe" 1 "$(probes)"
run FAKE_KVM=works -- "$x/pass.efi" -cpu qemu64
expect_eq "KVM works: another CPU model is probed again" 2 "$(probes)"
run FAKE_KVM=works -- "$x/pass.efi" -machine pc
expect_eq "KVM works: another machine type is probed again" 3 "$(probes)"
run FAKE_KVM=works ACCEL=tcg -- "$x/pass.efi"
expect_eq "ACCEL=tcg: TCG even where KVM works" tcg "$(accel_of_last_run)"
expect_contains "ACCEL=tcg: said so" "accel: tcg (ACCEL=tcg)" "$err"

# --- KVM that aborts at start (the MSR assertion) ---------------------------------
fresh
run FAKE_KVM=abort -- "$x/pass.efi"
expect_eq "KVM aborts: PASS under TCG" 0 "$st"
expect_eq "KVM aborts: the guest runs under TCG" tcg "$(accel_of_last_run)"
expect_contains "KVM aborts: QEMU's message is the reason" \
  "accel: tcg (KVM cannot run this guest: error: failed to set MSR 0x10a to 0x69)" "$err"
run FAKE_KVM=abort ACCEL=kvm -- "$x/pass.efi"
expect_eq "KVM aborts, ACCEL=kvm: ERROR" 99 "$st"
expect_contains "KVM aborts, ACCEL=kvm: the reason" \
  "ERROR pass (KVM was asked for, but KVM cannot run this guest: error: failed to set MSR 0x10a to 0x69)" "$err"
run FAKE_KVM=abort -- "$x/pass.efi" -accel kvm
expect_eq "KVM aborts, -accel kvm among the arguments: ERROR" 99 "$st"
expect_eq "KVM aborts: probed once for all of these" 1 "$(probes)"

# --- KVM that reports an internal error and pauses the VM ---------------------------
fresh
run FAKE_KVM=internal-error ACCEL_PROBE_TIMEOUT=20 -- "$x/pass.efi"
expect_eq "KVM internal error: PASS under TCG" 0 "$st"
expect_contains "KVM internal error: QEMU's message is the reason" \
  "accel: tcg (KVM cannot run this guest: KVM internal error. Suberror: 1)" "$err"
check "KVM internal error: the paused probe is ended at once (${secs}s)" test "$secs" -lt 10
run FAKE_KVM=internal-error ACCEL=kvm -- "$x/pass.efi"
expect_eq "KVM internal error, ACCEL=kvm: ERROR, never a timeout" 99 "$st"

# --- a probe VM that never reports ---------------------------------------------------
fresh
run FAKE_KVM=hang ACCEL_PROBE_TIMEOUT=1 -- "$x/pass.efi"
expect_eq "KVM hangs: PASS under TCG" 0 "$st"
expect_contains "KVM hangs: the bound is the reason" \
  "accel: tcg (KVM cannot run this guest: the probe VM did not reach its end within 1s)" "$err"

# --- KVM failing in the middle of a test ----------------------------------------------
fresh
run FAKE_KVM=works -- "$x/kvm_dies.efi"
expect_eq "KVM fails during the test: CRASH" 125 "$st"
expect_contains "KVM fails during the test: QEMU's message" \
  "CRASH kvm_dies (KVM failed while the guest ran: KVM internal error. Suberror: 1)" "$err"
check "KVM fails during the test: ended at once, not at the timeout (${secs}s)" test "$secs" -lt 10

# --- run_tests.sh: one probe and one notice per run ------------------------------------
cfg=$tree/unittests.cfg
for t in a b c d; do printf '[%s]\nfile = pass.efi\n\n' "$t"; done >"$cfg"
printf '[needs_kvm]\nfile = pass.efi\naccel = kvm\n\n' >>"$cfg"
printf '[other_cpu]\nfile = pass.efi\nextra_params = -cpu qemu64\n\n' >>"$cfg"
fresh
st=0
human=$(FAKE_KVM=abort "$tree/run_tests.sh" -j 3 --log-dir "$scratch/logs" 2>&1) || st=$?
expect_eq "run_tests.sh, KVM aborts: the suite passes" 0 "$st"
expect_eq "run_tests.sh, KVM aborts: one notice per run" 1 "$(grep -c '^accel: tcg (KVM cannot run this guest: error: failed to set MSR' <<<"$human")"
expect_eq "run_tests.sh, KVM aborts: one probe per shape" 2 "$(probes)"
expect_contains "run_tests.sh: a test that needs KVM is skipped with the reason" \
  "SKIP needs_kvm (needs KVM: KVM cannot run this guest: error: failed to set MSR 0x10a to 0x69)" "$human"
expect_contains "run_tests.sh: the log names the accelerator and why" \
  "# timeout 270s, accel tcg (KVM cannot run this guest" "$(<"$scratch/logs/a.log")"
fresh
human=$(FAKE_KVM=works "$tree/run_tests.sh" -j 3 --log-dir "$scratch/logs2" 2>&1) || true
expect_not_contains "run_tests.sh, KVM works: no notice" "accel: tcg" "$human"
expect_contains "run_tests.sh, KVM works: the test that needs KVM runs" "PASS needs_kvm" "$human"
expect_contains "run_tests.sh, KVM works: timeouts are not scaled for TCG" \
  "# timeout 90s, accel kvm" "$(<"$scratch/logs2/a.log")"

finish
