# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# The one place that knows how a test image is launched: tool discovery,
# accelerator choice and the base QEMU command line. Sourced by scripts/run;
# run_tests.sh launches every test through scripts/run.

# Debug-exit statuses produced by the guest (lib/rt/verdict.h: a write of V
# to port 0xf4 makes QEMU exit with (V << 1) | 1).
readonly QEMU_STATUS_PASS=33 QEMU_STATUS_SKIP=35 QEMU_STATUS_ERROR=37 QEMU_STATUS_FAIL=39

# Process exit codes shared by scripts/run and run_tests.sh.
readonly EXIT_PASS=0 EXIT_FAIL=1 EXIT_SKIP=77 EXIT_ERROR=99 EXIT_TIMEOUT=124 EXIT_CRASH=125

# config_get FILE KEY: value of a `KEY=value` (or `KEY := value`) line of a
# make-syntax file. The file is read as data, never sourced or evaluated.
config_get() {
  local file=$1 key=$2 line k v
  [[ -f $file ]] || return 1
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*[:?]?=[[:space:]]*(.*)$ ]] || continue
    k=${BASH_REMATCH[1]} v=${BASH_REMATCH[2]}
    [[ $k == "$key" ]] || continue
    v=${v%"${v##*[![:space:]]}"}
    printf '%s\n' "$v"
    return 0
  done <"$file"
  return 1
}

# qemu_find_tools TOP: sets QEMU, OVMF_CODE and OVMF_VARS. Precedence:
# environment, then TOP/config.mak, then the Debian default locations.
# Exits 99 with the package to install when something is missing.
qemu_find_tools() {
  local cfg=$1/config.mak v
  if [[ -z ${QEMU:-} ]]; then
    if v=$(config_get "$cfg" QEMU) && [[ -n $v ]]; then QEMU=$v; else QEMU=qemu-system-x86_64; fi
  fi
  if [[ -z ${OVMF_CODE:-} ]]; then
    if v=$(config_get "$cfg" OVMF_CODE) && [[ -n $v ]]; then OVMF_CODE=$v
    else OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd; fi
  fi
  if [[ -z ${OVMF_VARS:-} ]]; then
    if v=$(config_get "$cfg" OVMF_VARS) && [[ -n $v ]]; then OVMF_VARS=$v
    else OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd; fi
  fi
  if ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "error: QEMU '$QEMU' not found (install the Debian package qemu-system-x86, or set QEMU=)" >&2
    exit "$EXIT_ERROR"
  fi
  local f
  for f in "$OVMF_CODE" "$OVMF_VARS"; do
    if [[ ! -r $f ]]; then
      echo "error: firmware '$f' not found (install the Debian package ovmf, or set OVMF_CODE= and OVMF_VARS=)" >&2
      exit "$EXIT_ERROR"
    fi
  done
}

kvm_usable() { [[ -r /dev/kvm && -w /dev/kvm ]]; }

# accel_choose_to VAR: sets VAR to kvm or tcg. ACCEL=kvm|tcg forces one;
# empty or `auto` picks KVM when /dev/kvm is usable. Returns 1 when KVM is
# forced but unavailable, 2 on a bad ACCEL.
accel_choose_to() {
  local a
  case ${ACCEL:-auto} in
    auto|"") if kvm_usable; then a=kvm; else a=tcg; fi ;;
    kvm) kvm_usable || return 1; a=kvm ;;
    tcg) a=tcg ;;
    *) echo "error: ACCEL must be kvm, tcg or auto, not '$ACCEL'" >&2; return 2 ;;
  esac
  printf -v "$1" '%s' "$a"
}

# accel_choose: accel_choose_to, printed.
accel_choose() {
  local accel_chosen
  accel_choose_to accel_chosen || return
  echo "$accel_chosen"
}

# QEMU splits option values on commas; a literal comma is written twice.
qemu_escape_commas() { printf '%s' "${1//,/,,}"; }
# qemu_escape_to VAR TEXT: the same into VAR, without a subshell.
qemu_escape_to() { printf -v "$1" '%s' "${2//,/,,}"; }

# qemu_base_args ACCEL: sets the array QEMU_BASE_ARGS, the machine without
# the image: a cold boot adds `-kernel IMAGE -append ...`, the fast path
# (scripts/lib/snapshot.sh) adds the loader and restores a snapshot.
#
# -nodefaults leaves no NIC, VGA, monitor, floppy or CD-ROM: OVMF boots the
# -kernel image without any of them, and the tests must not depend on
# devices nobody asked for. The pflash pair is the split OVMF image; the
# variable store is opened with snapshot=on so the shared file is never
# written. -no-reboot turns a triple fault or guest reset into QEMU exit 0.
# The caller appends the size/CPU defaults it did not see overridden, the
# user's arguments, -kernel and -append (see scripts/run).
qemu_base_args() {
  local accel=$1 code vars
  qemu_escape_to code "$OVMF_CODE"
  qemu_escape_to vars "$OVMF_VARS"
  # shellcheck disable=SC2054  # the commas belong to QEMU option syntax
  QEMU_BASE_ARGS=(
    -nodefaults -machine q35 -accel "$accel"
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$code"
    -drive "if=pflash,format=raw,unit=1,snapshot=on,file=$vars"
    -device isa-debug-exit,iobase=0xf4,iosize=0x04
    -serial stdio -display none -no-reboot
  )
}

# Defaults that a user argument may replace; kept apart so that they are
# dropped, not merely overridden, when the user gives the same option.
readonly QEMU_DEFAULT_CPU=max QEMU_DEFAULT_MEM=256M QEMU_DEFAULT_SMP=1

# duration_to VAR DUR: sets VAR to the seconds of DUR, a kvm-unit-tests
# duration (90, 90s, 1.5m, 2h, 1d), as a decimal number. Returns 1 on
# anything else. Whole numbers stay in the shell: the runners call this for
# every test.
duration_to() {
  local d=$2
  [[ $d =~ ^([0-9]+(\.[0-9]+)?)([smhd]?)$ ]] || return 1
  local n=${BASH_REMATCH[1]} u=${BASH_REMATCH[3]} mul=1
  case $u in m) mul=60 ;; h) mul=3600 ;; d) mul=86400 ;; esac
  if [[ $n =~ ^[0-9]+$ ]]; then printf -v "$1" '%d' $((10#$n * mul)); return; fi
  printf -v "$1" '%s' "$(awk -v n="$n" -v m="$mul" 'BEGIN { printf "%g\n", n * m }')"
}

# duration_seconds DUR: duration_to, printed.
duration_seconds() {
  local secs
  duration_to secs "$1" || return 1
  printf '%s\n' "$secs"
}

# elapsed_ms START: milliseconds since START, an earlier $EPOCHREALTIME
# (whose decimal point follows the locale), into ELAPSED_MS.
ELAPSED_MS=0
elapsed_ms() {
  local a=${1//[.,]/} b=${EPOCHREALTIME//[.,]/}
  ELAPSED_MS=$(((10#$b - 10#$a) / 1000))
}

# shell_quote_to VAR WORD...: sets VAR to the words as one line that a
# shell reads back as the same words; plain words stay unquoted so that
# logs remain readable.
shell_quote_to() {
  local var=$1 out='' w
  shift
  for w in "$@"; do
    if [[ -n $w && $w =~ ^[A-Za-z0-9_./=,:+@%^-]+$ ]]; then
      out+=" $w"
    else
      out+=" '${w//\'/\'\\\'\'}'"
    fi
  done
  printf -v "$var" '%s' "${out# }"
}

# shell_quote WORD...: shell_quote_to, printed as a line.
shell_quote() {
  local quoted
  shell_quote_to quoted "$@"
  printf '%s\n' "$quoted"
}
