#!/usr/bin/env bash
# Runs the tests listed in unittests.cfg, each through scripts/run, and
# reports per-test verdicts, TAP and JUnit. The cfg format is described in
# docs/unittests-cfg.md.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/qemu.sh
. "$top/scripts/lib/qemu.sh"
# shellcheck source=scripts/lib/host.sh
. "$top/scripts/lib/host.sh"
# shellcheck source=scripts/lib/names.sh
. "$top/scripts/lib/names.sh"

readonly DEFAULT_TIMEOUT=90s TCG_TIMEOUT_SCALE=3

usage() {
  cat <<EOF
usage: ./run_tests.sh [OPTIONS] [TEST...]

Runs the tests of unittests.cfg. TEST names a section (shell patterns such
as 'vmx*' work); with TEST or -g, only the matching tests run, otherwise
all tests outside the group nodefault.

  -g GROUP[,GROUP]   run the tests of these groups (repeatable)
  -j N               run N tests at a time (default 1)
  -t                 TAP 13 on stdout (human output goes to stderr)
  -v                 show the guest output (live with -j 1, per test after
                     it ends otherwise)
  -l                 list the selected tests and exit
  --junit FILE       also write JUnit XML to FILE
  --log-dir DIR      per-test logs in DIR (default: logs/<timestamp>/, with
                     logs/latest pointing at the newest run)
  --timeout DUR      timeout for every test, replacing the cfg values and
                     the scale (DUR: 90, 90s, 2m, 1h)
  --timeout-scale X  multiply cfg timeouts by X (default: 1 with KVM,
                     $TCG_TIMEOUT_SCALE under TCG; env TIMEOUT_SCALE)
  --cold             boot every test cold (firmware included) instead of
                     restoring a saved VM; the same as COLD_BOOT=1
  --firmware NAME    firmware profile: pflash (default), bios or secboot
                     (the same as FIRMWARE=NAME; docs/running.md)
  --config FILE      the test list (default: unittests.cfg beside this
                     script; images are looked up in x86/ beside FILE)
  -h                 this help

Each test leaves DIR/<name>.log: the QEMU command line, the serial output
and the result line. DIR/results.tap holds the TAP stream of the run.

Environment: TIMEOUT (as --timeout), TIMEOUT_SCALE, ACCEL, QEMU, FIRMWARE,
OVMF_CODE, OVMF_VARS, BIOS, SECBOOT_*, QEMU_EXTRA, COLD_BOOT, SNAPSHOT_DIR
(see scripts/run -h), MAX_SMP
(what smp = \$MAX_SMP means; default: the host's CPU count).

Tests boot from a saved VM when they can (docs/running.md, "Fast runs");
each log says how its test booted and, for a cold boot, why.

Exit status: 0 when every test passed or was skipped, 1 when any ended
FAIL, ERROR, CRASH or TIMEOUT, 2 on a usage error, 99 when the cfg is
broken or nothing matched, 130 when interrupted.
EOF
}

die_usage() { echo "run_tests.sh: $*" >&2; echo "try ./run_tests.sh -h" >&2; exit 2; }
die() { echo "run_tests.sh: $*" >&2; exit "$EXIT_ERROR"; }

sel_groups=() names=() jobs=1 tap=0 verbose=0 list=0 junit='' log_dir='' cold=0
cfg_file=$top/unittests.cfg
timeout_override=${TIMEOUT:-} timeout_scale=${TIMEOUT_SCALE:-}

need() { (($1 >= 2)) || die_usage "$2 needs an argument"; }
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -g) need $# "$1"; IFS=, read -r -a g <<<"$2"; sel_groups+=("${g[@]}"); shift ;;
    -g*) IFS=, read -r -a g <<<"${1#-g}"; sel_groups+=("${g[@]}") ;;
    -j) need $# "$1"; jobs=$2; shift ;;
    -j*) jobs=${1#-j} ;;
    -t) tap=1 ;;
    -v) verbose=1 ;;
    -l) list=1 ;;
    --junit) need $# "$1"; junit=$2; shift ;;
    --junit=*) junit=${1#*=} ;;
    --log-dir) need $# "$1"; log_dir=$2; shift ;;
    --log-dir=*) log_dir=${1#*=} ;;
    --timeout) need $# "$1"; timeout_override=$2; shift ;;
    --timeout=*) timeout_override=${1#*=} ;;
    --timeout-scale) need $# "$1"; timeout_scale=$2; shift ;;
    --timeout-scale=*) timeout_scale=${1#*=} ;;
    --config) need $# "$1"; cfg_file=$2; shift ;;
    --config=*) cfg_file=${1#*=} ;;
    --cold) cold=1 ;;
    --firmware) need $# "$1"; export FIRMWARE=$2; shift ;;
    --firmware=*) export FIRMWARE=${1#*=} ;;
    --) shift; names+=("$@"); break ;;
    -*) die_usage "unknown option '$1'" ;;
    *) names+=("$1") ;;
  esac
  shift
done

[[ $jobs =~ ^[1-9][0-9]*$ ]] || die_usage "-j needs a positive number, not '$jobs'"
if [[ -n $timeout_override ]]; then
  duration_seconds "$timeout_override" >/dev/null || die_usage "bad timeout '$timeout_override'"
fi
if [[ -n $timeout_scale ]]; then
  [[ $timeout_scale =~ ^[0-9]+(\.[0-9]+)?$ && ! $timeout_scale =~ ^0+(\.0+)?$ ]] ||
    die_usage "timeout scale must be a positive number, not '$timeout_scale'"
fi
[[ -f $cfg_file ]] || die "no test list: $cfg_file"
cfg_dir=$(cd "$(dirname "$cfg_file")" && pwd)
image_dir=$cfg_dir/x86
# scripts/run decides cold or warm per test; --cold only forces its hand.
if ((cold)); then export COLD_BOOT=1; fi

# --- the test list ---------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/ktest-suite.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The cfg parser and the result writers are parts of the host program,
# built on demand so that a fresh clone needs nothing but a host compiler.
efitest=''
efitest_tool_to efitest "$top" || die "the host program is missing"
parse_args=()
((list)) || parse_args=(--image-dir "$image_dir")
if ! "$efitest" cfg "${parse_args[@]}" "$cfg_file" >"$work/records" 2>"$work/cfg-errors"; then
  cat "$work/cfg-errors" >&2
  die "$(basename "$cfg_file") has errors; nothing was run"
fi

# Per-test attributes, indexed by position in the cfg. List values are
# stored shell-quoted (printf %q) and expanded with eval, which is safe for
# %q output.
T_NAME=() T_LINE=() T_FILE=() T_SMP=() T_MEMORY=() T_ARGS=() T_TEST_ARGS=()
T_ARCH=() T_ACCEL=() T_TIMEOUT=() T_SKIP=() T_GROUPS=() T_CHECKS=()
n=0 i=0
while IFS= read -r -d '' field; do
  case $field in
    test)
      i=$n
      T_GROUPS[i]='' T_ARGS[i]='' T_CHECKS[i]=''
      ;;
    end) n=$((n + 1)) ;;
    name=*) T_NAME[i]=${field#*=} ;;
    line=*) T_LINE[i]=${field#*=} ;;
    file=*) T_FILE[i]=${field#*=} ;;
    smp=*) T_SMP[i]=${field#*=} ;;
    memory=*) T_MEMORY[i]=${field#*=} ;;
    test_args=*) T_TEST_ARGS[i]=${field#*=} ;;
    arch=*) T_ARCH[i]=${field#*=} ;;
    accel=*) T_ACCEL[i]=${field#*=} ;;
    timeout=*) T_TIMEOUT[i]=${field#*=} ;;
    skip_reason=*) T_SKIP[i]=${field#*=} ;;
    group=*) T_GROUPS[i]+="${T_GROUPS[i]:+ }${field#*=}" ;;
    arg=*) printf -v q '%q' "${field#*=}"; T_ARGS[i]+=" $q" ;;
    check=*) printf -v q '%q' "${field#*=}"; T_CHECKS[i]+=" $q" ;;
    *) die "unexpected record '$field' from the cfg parser" ;;
  esac
done <"$work/records"

in_groups() { # GROUPS-STRING WANTED-GROUP
  [[ " $1 " == *" $2 "* ]]
}

selected=()
declare -A name_hit=() group_hit=()
for ((i = 0; i < n; i++)); do
  take=0
  if ((${#names[@]} == 0 && ${#sel_groups[@]} == 0)); then
    in_groups "${T_GROUPS[i]}" nodefault || take=1
  else
    for pat in "${names[@]}"; do
      # shellcheck disable=SC2053  # the name is a pattern on purpose
      if [[ ${T_NAME[i]} == $pat ]]; then take=1; name_hit[$pat]=1; fi
    done
    for g in "${sel_groups[@]}"; do
      if in_groups "${T_GROUPS[i]}" "$g"; then take=1; group_hit[$g]=1; fi
    done
  fi
  if ((take)); then selected+=("$i"); fi
done

for pat in "${names[@]}"; do
  [[ -n ${name_hit[$pat]:-} ]] && continue
  {
    echo "run_tests.sh: no test named '$pat' in $(basename "$cfg_file")"
    close=$(printf '%s\n' "${T_NAME[@]}" | close_matches "$pat" | tr '\n' ' ')
    if [[ -n $close ]]; then echo "close matches: $close"; fi
  } >&2
  exit "$EXIT_ERROR"
done
for g in "${sel_groups[@]}"; do
  [[ -n ${group_hit[$g]:-} ]] || echo "run_tests.sh: warning: no test in group '$g'" >&2
done
((${#selected[@]})) || die "no test selected"

if ((list)); then
  for i in "${selected[@]}"; do
    if ((verbose)); then
      printf '%s\t%s\t%s\n' "${T_NAME[i]}" "${T_FILE[i]}" "${T_GROUPS[i]}"
    else
      printf '%s\n' "${T_NAME[i]}"
    fi
  done
  exit 0
fi

qemu_find_tools "$top"
# The firmware profile, settled once for every test of the run.
export QEMU FIRMWARE
case $FIRMWARE in
  pflash) export OVMF_CODE OVMF_VARS ;;
  bios) export BIOS ;;
  secboot) export SECBOOT_CODE SECBOOT_VARS SECBOOT_KEY SECBOOT_CERT ;;
esac

# --- order -------------------------------------------------------------------

# With several jobs the longest tests start first, by their durations in
# earlier runs, so that one long test does not end up running alone at the
# end. Tests never timed before start first of all, in cfg order.
durations_file=$top/build/test-durations
declare -A PREV_SECS=()
if [[ -r $durations_file ]]; then
  while read -r n s; do
    if [[ -n $n && $s =~ ^[0-9]+(\.[0-9]+)?$ ]]; then PREV_SECS[$n]=$s; fi
  done <"$durations_file"
fi
if ((jobs > 1 && ${#PREV_SECS[@]} > 0)); then
  mapfile -t selected < <(
    for i in "${selected[@]}"; do printf '%s %s\n' "${PREV_SECS[${T_NAME[i]}]:-999999}" "$i"; done |
      sort -s -k1,1 -g -r | awk '{ print $2 }')
fi

save_durations() {
  local k n tmp=$durations_file.tmp.$$
  for k in "${!R_NAME[@]}"; do
    case ${R_VERDICT[k]} in INTERRUPTED) continue ;; esac
    PREV_SECS[${R_NAME[k]}]=${R_SECS[k]}
  done
  mkdir -p "${durations_file%/*}" 2>/dev/null || return 0
  if for n in "${!PREV_SECS[@]}"; do printf '%s %s\n' "$n" "${PREV_SECS[$n]}"; done >"$tmp" 2>/dev/null; then
    mv -f "$tmp" "$durations_file" 2>/dev/null || rm -f "$tmp"
  fi
}

# --- logs --------------------------------------------------------------------

if [[ -z $log_dir ]]; then
  stamp=$(date +%Y%m%d-%H%M%S)
  mkdir -p "$top/logs"
  # mkdir without -p fails if the directory exists, so a second run in the
  # same second gets its own suffix instead of sharing the directory.
  for suffix in "" -2 -3 -4 -5 -6 -7 -8 -9; do
    if mkdir "$top/logs/$stamp$suffix" 2>/dev/null; then stamp+=$suffix; break; fi
  done
  [[ -d $top/logs/$stamp ]] || die "cannot create a log directory under $top/logs"
  log_dir=$top/logs/$stamp
  ln -sfn "$stamp" "$top/logs/.latest.$$"
  mv -fT "$top/logs/.latest.$$" "$top/logs/latest"
else
  mkdir -p "$log_dir" || die "cannot create $log_dir"
  log_dir=$(cd "$log_dir" && pwd)
fi
tap_file=$log_dir/results.tap
: >"$tap_file"

# --- output --------------------------------------------------------------------

# Human output goes to stdout, or to stderr when stdout carries TAP.
if ((tap)); then exec 3>&2; else exec 3>&1; fi
tty=0
if [[ -t 3 ]]; then tty=1; fi
if ((tty)) && [[ -z ${NO_COLOR:-} && ${TERM:-dumb} != dumb ]]; then
  c_red=$'\e[31m' c_green=$'\e[32m' c_yellow=$'\e[33m' c_bold=$'\e[1m' c_off=$'\e[0m'
else
  c_red='' c_green='' c_yellow='' c_bold='' c_off=''
fi
color_of() { # VAR VERDICT
  case $2 in
    PASS) printf -v "$1" '%s' "$c_green" ;;
    SKIP) printf -v "$1" '%s' "$c_yellow" ;;
    *) printf -v "$1" '%s' "$c_red" ;;
  esac
}

# emit_tap FILE: appends the TAP text in FILE to the run's TAP file, and to
# stdout with -t. Builtins only: this runs between two tests.
emit_tap() {
  local tap_lines=()
  mapfile -t tap_lines <"$1"
  ((${#tap_lines[@]})) || return 0
  printf '%s\n' "${tap_lines[@]}" >>"$tap_file"
  if ((tap)); then printf '%s\n' "${tap_lines[@]}"; fi
}

status_shown=0
clear_status() {
  if ((status_shown)); then printf '\r\e[K' >&3; status_shown=0; fi
}
show_status() {
  ((tty && !(verbose && jobs == 1))) || return 0
  local names_running='' p
  ((${#RUNNING[@]})) || return 0
  for p in "${!RUNNING[@]}"; do names_running+=" ${T_NAME[${RUNNING[$p]}]}"; done
  printf '\r\e[K[%d/%d] running:%s' "$done_count" "${#selected[@]}" "${names_running:0:60}" >&3
  status_shown=1
}

# --- running -------------------------------------------------------------------

max_smp=${MAX_SMP:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
qemu_extra=()
if [[ -n ${QEMU_EXTRA:-} ]]; then read -r -a qemu_extra <<<"$QEMU_EXTRA"; fi
case ${ACCEL:-auto} in
  auto|kvm|tcg) ;;
  *) die "ACCEL must be kvm, tcg or auto, not '$ACCEL'" ;;
esac
declare -A ACCEL_SHOWN=()

# test_accel INDEX ARGS...: sets TEST_ACCEL and TEST_ACCEL_WHY for a test
# whose QEMU arguments are ARGS, the way scripts/run will decide it (the
# probe's cache makes the second decision free). A test that needs KVM
# where KVM cannot run it gets SKIP_REASON. The reason for TCG is shown
# once per run.
test_accel() {
  local i=$1 want=${ACCEL:-auto}
  shift
  [[ -z ${T_ACCEL[i]} ]] || want=${T_ACCEL[i]}
  TEST_ACCEL=tcg TEST_ACCEL_WHY=''
  if ACCEL=$want accel_resolve "$efitest" -machine q35 -cpu "$QEMU_DEFAULT_CPU" "${qemu_extra[@]}" "$@"; then
    TEST_ACCEL=$ACCEL_USED TEST_ACCEL_WHY=$ACCEL_WHY
  elif [[ -n ${T_ACCEL[i]} ]]; then
    SKIP_REASON="needs KVM: $ACCEL_WHY"
    return
  else
    # ACCEL=kvm that cannot work: scripts/run reports it as ERROR.
    TEST_ACCEL=kvm TEST_ACCEL_WHY=$ACCEL_WHY
  fi
  if [[ $want == auto && $TEST_ACCEL == tcg && -z ${ACCEL_SHOWN[$TEST_ACCEL_WHY]:-} ]]; then
    ACCEL_SHOWN[$TEST_ACCEL_WHY]=1
    clear_status
    printf 'accel: tcg (%s)\n' "$TEST_ACCEL_WHY" >&3
  fi
}

declare -A RUNNING=()  # pid -> test index
START=()
R_NAME=() R_VERDICT=() R_SECS=()
declare -A COUNT=() BOOTS=()
done_count=0 any_bad=0 secs_shown=$verbose

# record_result INDEX VERDICT DETAIL MILLISECONDS
record_result() {
  local i=$1 verdict=$2 detail=$3 ms=$4 log=$log_dir/${T_NAME[$1]}.log secs color shown=''
  printf -v secs '%d.%03d' $((ms / 1000)) $((ms % 1000))
  printf 'RESULT: %s %s (%s)\n' "$verdict" "${T_NAME[i]}" "$detail" >>"$log"
  R_NAME+=("${T_NAME[i]}") R_VERDICT+=("$verdict") R_SECS+=("$secs")
  printf '%s\0' "${T_NAME[i]}" "$verdict" "$detail" "$ms" "${T_GROUPS[i]%% *}" "$log" >>"$work/junit.records"
  COUNT[$verdict]=$((${COUNT[$verdict]:-0} + 1))
  done_count=$((done_count + 1))
  case $verdict in PASS|SKIP) ;; *) any_bad=1 ;; esac
  "$efitest" tap-test "$done_count" "${T_NAME[i]}" "$verdict" "$detail" "$log" "$ms" >"$work/tap.one"
  emit_tap "$work/tap.one"
  clear_status
  if ((verbose && jobs > 1)); then "$efitest" clean "$log" >&3; fi
  color_of color "$verdict"
  if ((secs_shown)); then shown=" [${secs}s]"; fi
  printf '%s%s%s %s (%s)%s\n' "$color" "$verdict" "$c_off" "${T_NAME[i]}" "$detail" "$shown" >&3
  printf '%s %s (%s)\n' "$verdict" "${T_NAME[i]}" "$detail" >>"$log_dir/summary.txt"
}

# precheck INDEX: sets SKIP_REASON to why the test must be skipped without
# booting it, or to nothing.
precheck() {
  local i=$1 c path want have
  SKIP_REASON=''
  if [[ -n ${T_SKIP[i]} ]]; then SKIP_REASON=${T_SKIP[i]}; return; fi
  if [[ -n ${T_ARCH[i]} && ${T_ARCH[i]} != x86_64 ]]; then
    SKIP_REASON="arch ${T_ARCH[i]} is not built"; return
  fi
  local checks=()
  eval "checks=(${T_CHECKS[i]})"
  for c in "${checks[@]}"; do
    path=${c%%=*} want=${c#*=} have=''
    if [[ -r $path ]]; then have=$(head -c 4096 "$path" | tr -d '\n'); fi
    if [[ $have != "$want" ]]; then
      SKIP_REASON="check $c failed (found \"$have\")"; return
    fi
  done
}

test_timeout() { # INDEX ACCEL: sets TEST_TIMEOUT to the test's seconds
  local i=$1 accel=$2 base scale
  if [[ -n $timeout_override ]]; then duration_to TEST_TIMEOUT "$timeout_override"; return; fi
  duration_to base "${T_TIMEOUT[i]:-$DEFAULT_TIMEOUT}"
  scale=$timeout_scale
  if [[ -z $scale ]]; then
    if [[ $accel == kvm ]]; then scale=1; else scale=$TCG_TIMEOUT_SCALE; fi
  fi
  if [[ $base =~ ^[0-9]+$ && $scale =~ ^[0-9]+$ ]]; then
    TEST_TIMEOUT=$((base * scale))
  else
    TEST_TIMEOUT=$(awk -v b="$base" -v s="$scale" 'BEGIN { printf "%g\n", b * s }')
  fi
}

launch() {
  local i=$1 name=${T_NAME[$1]} log accel secs reason args=() pid
  log=$log_dir/$name.log
  precheck "$i"
  reason=$SKIP_REASON
  {
    echo "# $name: unittests.cfg line ${T_LINE[i]}, file ${T_FILE[i]}, groups ${T_GROUPS[i]:-(none)}"
  } >"$log"
  if [[ -n $reason ]]; then
    echo "# skipped before boot: $reason" >>"$log"
    record_result "$i" SKIP "$reason" 0
    return
  fi
  if [[ -n ${T_SMP[i]} ]]; then
    if [[ ${T_SMP[i]} == "\$MAX_SMP" ]]; then args+=(-smp "$max_smp"); else args+=(-smp "${T_SMP[i]}"); fi
  fi
  if [[ -n ${T_MEMORY[i]} ]]; then args+=(-m "${T_MEMORY[i]}"); fi
  local extra=()
  eval "extra=(${T_ARGS[i]})"
  args+=("${extra[@]}")
  test_accel "$i" "${args[@]}"
  if [[ -n $SKIP_REASON ]]; then
    echo "# skipped before boot: $SKIP_REASON" >>"$log"
    record_result "$i" SKIP "$SKIP_REASON" 0
    return
  fi
  accel=$TEST_ACCEL
  test_timeout "$i" "$accel"
  secs=$TEST_TIMEOUT
  if [[ -n ${T_TEST_ARGS[i]} ]]; then args+=(-append "${T_TEST_ARGS[i]}"); fi
  echo "# timeout ${secs}s, accel $accel ($TEST_ACCEL_WHY)" >>"$log"
  START[i]=$EPOCHREALTIME
  if ((verbose && jobs == 1)); then
    ACCEL=$accel TIMEOUT=${secs}s RUN_RESULT_FILE=$work/$i.result \
      "$top/scripts/run" "$image_dir/${T_FILE[i]}" "${args[@]}" > >(tee -a "$log" >&3) 2>&1 &
  else
    ACCEL=$accel TIMEOUT=${secs}s RUN_RESULT_FILE=$work/$i.result \
      "$top/scripts/run" "$image_dir/${T_FILE[i]}" "${args[@]}" >>"$log" 2>&1 &
  fi
  pid=$!
  RUNNING[$pid]=$i
  show_status
}

verdict_of_status() { # VAR STATUS
  local v
  case $2 in
    0) v=PASS ;; 1) v=FAIL ;; 77) v=SKIP ;; 124) v=TIMEOUT ;; 125) v=CRASH ;;
    130|143) v=INTERRUPTED ;; *) v=ERROR ;;
  esac
  printf -v "$1" '%s' "$v"
}

reap() { # PID STATUS
  local pid=$1 st=$2 i verdict='' detail='' key val status_verdict
  i=${RUNNING[$pid]}
  unset "RUNNING[$pid]"
  elapsed_ms "${START[i]}"
  if [[ -f $work/$i.result ]]; then
    while IFS='=' read -r key val; do
      case $key in
        verdict) verdict=$val ;;
        detail) detail=$val ;;
        boot) [[ -z $val ]] || BOOTS[$val]=$((${BOOTS[$val]:-0} + 1)) ;;
      esac
    done <"$work/$i.result"
  fi
  verdict_of_status status_verdict "$st"
  if [[ -z $verdict ]]; then
    verdict=$status_verdict
    if [[ $verdict == INTERRUPTED ]]; then
      detail="stopped by the runner"
    else
      detail="scripts/run exited $st without a verdict; see the log"
    fi
  fi
  # The two views of one verdict must agree; the exit status is what CI
  # scripts see, so a mismatch is a runner bug worth stopping on.
  if [[ $status_verdict != "$verdict" ]]; then
    detail="scripts/run exited $st but reported $verdict: $detail"
    verdict=ERROR
  fi
  record_result "$i" "$verdict" "$detail" "$ELAPSED_MS"
}

print_summary() {
  local total=${#selected[@]} v parts=() wall color
  elapsed_ms "$run_start"
  printf -v wall '%d.%d' $((ELAPSED_MS / 1000)) $((ELAPSED_MS % 1000 / 100))
  clear_status
  for v in PASS SKIP FAIL ERROR CRASH TIMEOUT INTERRUPTED; do
    [[ -n ${COUNT[$v]:-} ]] || continue
    color_of color "$v"
    parts+=("$color${COUNT[$v]} $v$c_off")
  done
  local not_run=$((total - done_count))
  ((not_run > 0)) && parts+=("$not_run not run")
  local joined boots=''
  printf -v joined '%s, ' "${parts[@]}"
  if ((${#BOOTS[@]})); then boots="; ${BOOTS[warm]:-0} warm, ${BOOTS[cold]:-0} cold boots"; fi
  printf '%s%d tests%s: %s in %ss%s; logs in %s\n' "$c_bold" "$total" "$c_off" "${joined%, }" "$wall" \
    "$boots" "$log_dir" >&3
  if [[ -n $junit ]]; then
    "$efitest" junit "$junit" unittests "$ELAPSED_MS" "${run_start%.*}" "$(uname -n)" "$work/junit.records" ||
      echo "run_tests.sh: could not write $junit" >&3
  fi
}

interrupted=0
# shellcheck disable=SC2317  # invoked through trap
on_signal() {
  local sig=$1 pid st
  trap - INT TERM
  interrupted=1
  for pid in "${!RUNNING[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${!RUNNING[@]}"; do
    st=0
    wait "$pid" 2>/dev/null || st=$?
    reap "$pid" "$st"
  done
  clear_status
  echo "run_tests.sh: interrupted by SIG$sig" >&3
  print_summary
  exit 130
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

run_start=$EPOCHREALTIME
printf 'TAP version 13\n1..%d\n' "${#selected[@]}" >"$work/tap.one"
emit_tap "$work/tap.one"

next=0
while ((next < ${#selected[@]} || ${#RUNNING[@]} > 0)); do
  while ((next < ${#selected[@]} && ${#RUNNING[@]} < jobs)); do
    launch "${selected[next]}"
    next=$((next + 1))
  done
  ((${#RUNNING[@]} > 0)) || continue
  st=0 pid=''
  wait -n -p pid "${!RUNNING[@]}" || st=$?
  # A signal interrupts wait before any child ended; the trap handled it.
  [[ -n $pid && -n ${RUNNING[$pid]:-} ]] || continue
  reap "$pid" "$st"
  show_status
done

save_durations
print_summary
((interrupted == 0)) || exit 130
exit $((any_bad ? 1 : 0))
