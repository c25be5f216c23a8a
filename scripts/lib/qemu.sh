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

# --- firmware profiles ---------------------------------------------------------
# The firmware is a profile, not two file paths. FIRMWARE (environment, or
# `./configure --firmware=`) names it:
#   pflash   a CODE + VARS pair on two pflash drives (the default):
#            OVMF_CODE, OVMF_VARS; Debian's OVMF_{CODE,VARS}_4M.fd
#   bios     one file with -bios, such as OVMF.fd, an SEV-SNP OVMF build,
#            TDVF or another implementation: BIOS; Debian's OVMF.fd
#   secboot  Secure Boot on: SECBOOT_CODE and SECBOOT_VARS (Debian's
#            secboot code and the variable store with the snakeoil keys
#            enrolled), -machine smm=on and the pflash `secure` property;
#            every image is signed before it boots, with SECBOOT_KEY and
#            SECBOOT_CERT (the snakeoil key, its passphrase taken off once)
# The user's own firmware is either form: OVMF_CODE/OVMF_VARS with pflash,
# or BIOS (or `scripts/run TEST -bios FILE`) with bios.
readonly FIRMWARE_PROFILES="pflash bios secboot"
readonly DEBIAN_SNAKEOIL_KEY=/usr/share/ovmf/PkKek-1-snakeoil.key
readonly DEBIAN_SNAKEOIL_CERT=/usr/share/ovmf/PkKek-1-snakeoil.pem

# setting_to VAR CONFIG DEFAULT: VAR from the environment, else from the
# make-syntax file CONFIG, else DEFAULT.
setting_to() {
  local -n setting=$1
  local v
  [[ -z ${setting:-} ]] || return 0
  if v=$(config_get "$2" "$1") && [[ -n $v ]]; then setting=$v; else setting=$3; fi
}

# qemu_find_tools TOP: sets QEMU and the firmware profile: FIRMWARE,
# FIRMWARE_ARGS (its QEMU arguments), FIRMWARE_FILES (the files whose
# contents key a snapshot) and, for secboot, SECBOOT_KEY and SECBOOT_CERT.
# Precedence: environment, then TOP/config.mak, then the Debian defaults.
# Exits 99 with the package to install when something is missing.
qemu_find_tools() {
  local top=$1 cfg=$1/config.mak
  setting_to QEMU "$cfg" qemu-system-x86_64
  if ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "error: QEMU '$QEMU' not found (install the Debian package qemu-system-x86, or set QEMU=)" >&2
    exit "$EXIT_ERROR"
  fi
  KVM_DEVICE=${KVM_DEVICE:-/dev/kvm}
  ACCEL_PROBE_ROM=$top/build/accel-probe.rom
  ACCEL_CACHE=${ACCEL_CACHE:-$top/build/accel-probe.cache}

  setting_to FIRMWARE "$cfg" pflash
  local code vars f
  case $FIRMWARE in
    pflash)
      setting_to OVMF_CODE "$cfg" /usr/share/OVMF/OVMF_CODE_4M.fd
      setting_to OVMF_VARS "$cfg" /usr/share/OVMF/OVMF_VARS_4M.fd
      FIRMWARE_FILES=("$OVMF_CODE" "$OVMF_VARS") ;;
    bios)
      setting_to BIOS "$cfg" /usr/share/ovmf/OVMF.fd
      FIRMWARE_FILES=("$BIOS") ;;
    secboot)
      setting_to SECBOOT_CODE "$cfg" /usr/share/OVMF/OVMF_CODE_4M.secboot.fd
      setting_to SECBOOT_VARS "$cfg" /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd
      FIRMWARE_FILES=("$SECBOOT_CODE" "$SECBOOT_VARS") ;;
    *)
      echo "error: FIRMWARE must be one of: $FIRMWARE_PROFILES (not '$FIRMWARE')" >&2
      exit "$EXIT_ERROR" ;;
  esac
  for f in "${FIRMWARE_FILES[@]}"; do
    if [[ ! -r $f ]]; then
      case $FIRMWARE in
        pflash) echo "error: firmware '$f' not found (install the Debian package ovmf, or set OVMF_CODE= and OVMF_VARS=)" >&2 ;;
        bios) echo "error: firmware '$f' not found (install the Debian package ovmf, or set BIOS=)" >&2 ;;
        secboot) echo "error: firmware '$f' not found (install the Debian package ovmf, or set SECBOOT_CODE= and SECBOOT_VARS=)" >&2 ;;
      esac
      exit "$EXIT_ERROR"
    fi
  done
  # -nodefaults leaves no NIC, VGA, monitor, floppy or CD-ROM: OVMF boots
  # the -kernel image without any of them. The variable store is opened
  # with snapshot=on, so the shared file is never written.
  # shellcheck disable=SC2054  # the commas belong to QEMU option syntax
  case $FIRMWARE in
    pflash|secboot)
      if [[ $FIRMWARE == pflash ]]; then code=$OVMF_CODE vars=$OVMF_VARS
      else code=$SECBOOT_CODE vars=$SECBOOT_VARS; fi
      qemu_escape_to code "$code"
      qemu_escape_to vars "$vars"
      FIRMWARE_ARGS=(
        -drive "if=pflash,format=raw,unit=0,readonly=on,file=$code"
        -drive "if=pflash,format=raw,unit=1,snapshot=on,file=$vars"
      ) ;;
    bios) FIRMWARE_ARGS=(-bios "$BIOS") ;;
  esac
  if [[ $FIRMWARE == secboot ]]; then
    # shellcheck disable=SC2054  # the commas belong to QEMU option syntax
    FIRMWARE_ARGS+=(-machine smm=on -global driver=cfi.pflash01,property=secure,value=on)
    secboot_keys "$top"
  fi
}

# secboot_keys TOP: sets SECBOOT_KEY and SECBOOT_CERT, the key and
# certificate that sign images for the secboot profile. By default that is
# Debian's snakeoil key, whose variable store has it enrolled; sbsign
# cannot take a passphrase, so a copy without it is made once in build/.
secboot_keys() {
  local top=$1 cfg=$1/config.mak
  setting_to SECBOOT_CERT "$cfg" "$DEBIAN_SNAKEOIL_CERT"
  if [[ -z ${SECBOOT_KEY:-} ]] && ! SECBOOT_KEY=$(config_get "$cfg" SECBOOT_KEY); then
    SECBOOT_KEY=$top/build/secboot/snakeoil.key
    if [[ ! -s $SECBOOT_KEY ]]; then
      mkdir -p "${SECBOOT_KEY%/*}"
      if ! (umask 077 && openssl rsa -in "$DEBIAN_SNAKEOIL_KEY" -passin pass:snakeoil \
        -out "$SECBOOT_KEY.tmp.$$" 2>/dev/null); then
        rm -f "$SECBOOT_KEY.tmp.$$"
        echo "error: cannot take the passphrase off $DEBIAN_SNAKEOIL_KEY (install the Debian packages ovmf and openssl, or set SECBOOT_KEY=)" >&2
        exit "$EXIT_ERROR"
      fi
      mv -f "$SECBOOT_KEY.tmp.$$" "$SECBOOT_KEY"
    fi
  fi
  command -v sbsign >/dev/null 2>&1 || {
    echo "error: the secboot profile signs images with sbsign (install the Debian package sbsigntool)" >&2
    exit "$EXIT_ERROR"
  }
  local f
  for f in "$SECBOOT_KEY" "$SECBOOT_CERT"; do
    [[ -r $f ]] || { echo "error: Secure Boot key or certificate '$f' not readable" >&2; exit "$EXIT_ERROR"; }
  done
}

# firmware_image_to VAR SRC DST: sets VAR to the image the firmware will
# start for SRC: SRC itself, or under secboot a copy signed into DST.
firmware_image_to() {
  local -n image_out=$1
  if [[ $FIRMWARE != secboot ]]; then image_out=$2; return 0; fi
  sbsign --key "$SECBOOT_KEY" --cert "$SECBOOT_CERT" --output "$3.tmp.$$" "$2" >"$3.log" 2>&1 || {
    echo "error: sbsign failed on $2: $(tail -n 1 "$3.log")" >&2
    rm -f "$3.tmp.$$" "$3.log"
    return 1
  }
  rm -f "$3.log"
  mv -f "$3.tmp.$$" "$3"
  image_out=$3
}

# --- the accelerator -----------------------------------------------------------
# KVM is used only where a probe VM has been seen to run under it: a
# /dev/kvm that opens is not enough. The probe, its cache and the decision
# are the host program's (host/accel.h, `efitest accel`).

# What QEMU prints when KVM cannot run the guest. After the first two QEMU
# pauses the VM instead of exiting; after the third it aborts.
readonly KVM_FAILURE_RE='KVM internal error|emulation failure|failed to set MSR|kvm run failed'

# qemu_watch_stderr IN OUT PID FLAG: copies QEMU's stderr from the FIFO IN
# to the file OUT, line by line, until QEMU closes it. A line that says KVM
# failed is also written to FLAG, and QEMU (PID) is ended at once: a VM
# that KVM paused would otherwise wait out its timeout.
qemu_watch_stderr() {
  local in=$1 out=$2 pid=$3 flag=$4 line
  while IFS= read -r line || [[ -n $line ]]; do
    printf '%s\n' "$line" >>"$out"
    if [[ ! -e $flag && $line =~ $KVM_FAILURE_RE ]]; then
      printf '%s\n' "${line#*qemu-system-x86_64: }" >"$flag"
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done <"$in"
}

# accel_resolve EFITEST QEMU_ARGS...: sets ACCEL_USED (kvm or tcg) and
# ACCEL_WHY (why that one, for the log and the one-line notice) for a
# command line with these arguments. ACCEL=kvm|tcg forces one; empty or
# `auto` takes KVM when the probe ran for this machine type and CPU model.
# Returns 1 when KVM is forced but cannot run it (ACCEL_WHY says why), 2 on
# a bad ACCEL.
accel_resolve() {
  local tool=$1 key val rc=2 st
  shift
  ACCEL_USED='' ACCEL_WHY=''
  while IFS='=' read -r key val; do
    case $key in
      used) ACCEL_USED=$val ;;
      why) ACCEL_WHY=$val ;;
      rc) rc=$val ;;
    esac
  done < <(KVM_DEVICE=$KVM_DEVICE ACCEL_PROBE_ROM=$ACCEL_PROBE_ROM ACCEL_CACHE=$ACCEL_CACHE \
    "$tool" accel --want "${ACCEL:-auto}" -- "$@" && st=0 || st=$?; echo "rc=$st")
  if ((rc == 2)); then echo "error: ${ACCEL_WHY:-the accelerator could not be decided}" >&2; fi
  return "$rc"
}

# QEMU splits option values on commas; a literal comma is written twice.
qemu_escape_commas() { printf '%s' "${1//,/,,}"; }
# qemu_escape_to VAR TEXT: the same into VAR, without a subshell.
qemu_escape_to() { printf -v "$1" '%s' "${2//,/,,}"; }

# qemu_base_args: sets the array QEMU_BASE_ARGS, the machine without the
# accelerator (scripts/run adds the one accel_resolve chose) and the image:
# a cold boot adds `-kernel IMAGE -append ...`, the fast path
# (scripts/lib/snapshot.sh) adds the loader and restores a snapshot. The
# firmware comes from the profile (qemu_find_tools). -no-reboot turns a
# triple fault or guest reset into QEMU exit 0. The caller appends the
# size/CPU defaults it did not see overridden, the user's arguments,
# -kernel and -append (see scripts/run).
qemu_base_args() {
  # shellcheck disable=SC2054  # the commas belong to QEMU option syntax
  QEMU_BASE_ARGS=(
    -nodefaults -machine q35 "${FIRMWARE_ARGS[@]}"
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
