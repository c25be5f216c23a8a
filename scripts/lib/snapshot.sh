# shellcheck shell=bash disable=SC2034  # variables are used by scripts/run
# The fast path of scripts/run: boot the firmware once per VM shape, save
# the VM while efi/loader.efi waits on fw_cfg, and restore that snapshot for
# every test with the image and its command line as fw_cfg files.
#
# A snapshot is only valid for exactly the QEMU, firmware, loader and
# machine arguments it was taken with, so all of them go into its key (the
# "shape"). Whatever cannot be keyed sends the run down the cold path, with
# a one-line reason.
#
# Guest RAM is not in the migration stream. The snapshot VM runs on a RAM
# file shared with QEMU (memory-backend-file, share=on), and the stream is
# saved with the x-ignore-shared capability, so it holds only device state
# and the small RAM blocks (firmware, variable store). A restore maps the
# RAM file privately (share=off): nothing is read up front, the guest
# faults in the pages it touches from the page cache, and its writes never
# reach the file. A restore therefore costs the same for 256 MiB or 6 GiB,
# and the file is sparse: it takes the pages the firmware wrote, no more.
#
# Cache layout, in $SNAPSHOT_DIR (default build/snapshots):
#   <key>.state    the migration stream (QEMU's live migration to a file)
#   <key>.ram      guest RAM at the moment of the save (sparse)
#   <key>.loader.efi  efi/loader.efi marked as a boot-service driver (below)
#   <key>.shape    what the key was computed from; written last, so it is
#                  also the completion marker: a state without it is junk
#   <key>.lock     flock(1) lock held while the snapshot is built
#   <key>.failed   why the last build failed; honoured for a few minutes so
#                  that parallel runs do not all retry a hopeless build
#   <key>.*.tmp.*  a build in progress, or left behind by one that died
#   memo.<hash>    the shape last computed for these files and arguments
#   qemu-version.<hash>  `qemu --version` of one QEMU binary
#
# Readers take no lock: the state and the marker appear by rename(2), and a
# restore holds its own descriptor, so a rebuild never disturbs it.

# fw_cfg names; efi/loader.cc polls for them.
readonly SNAPSHOT_FWCFG_IMAGE=opt/efitest/test.efi SNAPSHOT_FWCFG_CMDLINE=opt/efitest/cmdline
# The loader prints this once it waits on fw_cfg; the VM is saved after it.
readonly SNAPSHOT_READY_LINE='loader: ready'
# Bump when the snapshot procedure changes in a way the key does not show.
readonly SNAPSHOT_FORMAT=3
# The RAM backend's object id; QEMU names the RAM block after it, and the
# saving and the restoring QEMU must agree on it.
readonly SNAPSHOT_RAM_ID=efitest-ram
readonly SNAPSHOT_FAILED_TTL_MIN=10

SNAPSHOT_QEMU_PID=''   # the QEMU being saved, for the caller's cleanup
SNAPSHOT_TMP=()        # files to remove if the caller is interrupted
SNAPSHOT_REASON=''     # why snapshot_prepare failed

# snapshot_mem_mib VALUE: sets SNAPSHOT_MEM_MIB to the guest RAM of
# `-m VALUE` in MiB (QEMU's forms: 512, 512M, 6G, size=6G), or to 0 when
# it cannot tell. No subshell: scripts/run calls this on every run.
SNAPSHOT_MEM_MIB=0
snapshot_mem_mib() {
  local v=${1#size=}
  SNAPSHOT_MEM_MIB=0
  [[ $v =~ ^([0-9]+)([MmGgTt]?)[Bb]?$ ]] || return 1
  local n=$((10#${BASH_REMATCH[1]}))
  case ${BASH_REMATCH[2]} in
    G|g) n=$((n * 1024)) ;;
    T|t) n=$((n * 1024 * 1024)) ;;
  esac
  SNAPSHOT_MEM_MIB=$n
  ((n > 0))
}

# snapshot_ram_args PATH on|off MACHINE_ARG...: sets SNAPSHOT_RAM_ARGS to
# the options that put the guest RAM of the machine (its last -m) on the
# file PATH, shared with the file (on: the VM being saved) or a private
# copy-on-write mapping of it (off: a restore). Returns 1 when the machine
# has no plain -m.
SNAPSHOT_RAM_ARGS=()
snapshot_ram_args() {
  local path=$1 share=$2 mem=''
  shift 2
  while (($#)); do
    if [[ $1 == -m ]] && (($# > 1)); then mem=$2; shift; fi
    shift
  done
  snapshot_mem_mib "$mem" || return 1
  # shellcheck disable=SC2054  # the commas belong to QEMU option syntax
  qemu_escape_to path "$path"
  SNAPSHOT_RAM_ARGS=(
    -machine "memory-backend=$SNAPSHOT_RAM_ID"
    -object "memory-backend-file,id=$SNAPSHOT_RAM_ID,size=${SNAPSHOT_MEM_MIB}M,mem-path=$path,share=$share"
  )
}

# snapshot_args_reason ARG...: sets SNAPSHOT_REASON to why the arguments
# keep the VM off the fast path, or to nothing when all of them can be
# keyed. Keyable means: the option changes only the device model and names
# no host file, socket or backend whose state could differ at restore.
# Runs in the caller's shell: scripts/run pays for every process it starts.
snapshot_args_reason() {
  SNAPSHOT_REASON=''
  local a v
  while (($#)); do
    a=$1 v=''
    shift
    if [[ $a == -* && $a != -enable-kvm ]] && (($#)); then v=$1; shift; fi
    case "$a $v" in
      *sev-guest*|*sev-snp-guest*|*tdx-guest*|*confidential-guest-support*|*memory-encryption*)
        SNAPSHOT_REASON="confidential VM ($a $v): its state cannot be saved and restored"
        return ;;
    esac
    case $a in
      -m)
        # The RAM file is sized from -m, so only a plain size will do
        # (not slots= or maxmem=, which add hotplug regions).
        if [[ ! $v =~ ^(size=)?[^,]+$ ]] || ! snapshot_mem_mib "$v"; then
          SNAPSHOT_REASON="-m $v is not a plain size, which the snapshot's RAM file needs"
          return
        fi ;;
      -machine|-M)
        case $v in
          *memory-backend*)
            SNAPSHOT_REASON="-machine $v chooses the RAM backend, which the snapshot needs for itself"
            return ;;
        esac ;;
      -smp|-cpu|-accel|-global|-vga|-enable-kvm) ;;
      -device)
        case $v in
          *drive=*|*chardev=*|*netdev=*|*memdev=*|*fsdev=*|*file=*|*path=*)
            SNAPSHOT_REASON="-device $v has a host backend, which the snapshot key cannot cover"
            return ;;
        esac ;;
      -*) SNAPSHOT_REASON="QEMU argument $a is not part of the snapshot key"; return ;;
      *) SNAPSHOT_REASON="unexpected QEMU argument '$a'"; return ;;
    esac
  done
}

# The QEMU version, cached per binary (path, size, mtime, inode): asking
# QEMU costs a process start on every run otherwise.
snapshot_qemu_version() {
  local bin=$1 dir=$2 id f v
  id=$(stat -L -c '%n %s %Y %i' "$bin") || return 1
  f=$dir/qemu-version.$(printf '%s' "$id" | sha256sum | cut -c1-16)
  if [[ -s $f ]]; then cat "$f"; return; fi
  v=$("$bin" --version 2>/dev/null | head -n 1) || return 1
  [[ -n $v ]] || return 1
  printf '%s\n' "$v" >"$f.tmp.$$" && mv -f "$f.tmp.$$" "$f"
  printf '%s\n' "$v"
}

# snapshot_shape DIR LOADER MACHINE_ARG...: prints the shape text.
# Firmware paths inside the arguments are replaced by their contents'
# hashes, so a copy of the same file elsewhere shares the snapshot, and a
# changed byte gets a new one.
snapshot_shape() {
  local dir=$1 loader=$2
  shift 2
  local bin a f h i esc=()
  bin=$(command -v "$QEMU") || return 1
  printf 'format %s\n' "$SNAPSHOT_FORMAT"
  printf 'qemu %s\n' "$(stat -L -c '%n size %s mtime %Y' "$bin")"
  printf 'qemu-version %s\n' "$(snapshot_qemu_version "$bin" "$dir")"
  printf 'firmware %s\n' "$FIRMWARE"
  for f in "${FIRMWARE_FILES[@]}"; do
    h=$(sha256sum <"$f") || return 1
    printf 'firmware-file sha256 %s\n' "${h%% *}"
    esc+=("$(qemu_escape_commas "$f")")
  done
  if [[ $FIRMWARE == secboot ]]; then
    # The loader is signed: another certificate makes another loader.
    h=$(sha256sum <"$SECBOOT_CERT") || return 1
    printf 'signed-by sha256 %s\n' "${h%% *}"
  fi
  a=$(sha256sum <"$loader") || return 1
  printf 'loader sha256 %s\n' "${a%% *}"
  if [[ " $* " == *kvm* ]]; then
    # Under KVM, -cpu max/host follows the host CPU and the kernel.
    printf 'host %s %s\n' "$(uname -r)" \
      "$(grep -m2 -E '^(model name|flags)' /proc/cpuinfo | sha256sum | cut -c1-16)"
  fi
  for a in "$@"; do
    for i in "${!esc[@]}"; do a=${a//"${esc[i]}"/@FIRMWARE_FILE$i}; done
    printf 'arg %s\n' "$a"
  done
}

# snapshot_key DIR LOADER MACHINE_ARG...: sets SNAPSHOT_SHAPE and
# SNAPSHOT_KEY (a hash of the shape). Hashing the firmware costs more than
# the rest of a warm run's setup, so the key and the shape are remembered
# per identity of the files (size, mtime and ctime in ns, inode: any write
# changes them) and the arguments; only a changed file is hashed again.
snapshot_key() {
  local dir=$1 loader=$2
  shift 2
  local bin ids h memo
  bin=$(command -v "$QEMU") || return 1
  ids=$(stat -L -c '%n %s %y %z %i' "$bin" "${FIRMWARE_FILES[@]}" "$loader" ${SECBOOT_CERT:+"$SECBOOT_CERT"}) || return 1
  h=$(printf '%s\n' "format $SNAPSHOT_FORMAT" "firmware $FIRMWARE" "$ids" "$@" | sha256sum)
  memo=$dir/memo.${h:0:20}
  # The memo is "key <KEY>" and then the shape.
  local lines=()
  if [[ -s $memo ]] && mapfile -t lines <"$memo" && [[ ${lines[0]:-} =~ ^key\ ([0-9a-f]{20})$ ]]; then
    SNAPSHOT_KEY=${BASH_REMATCH[1]}
    printf -v SNAPSHOT_SHAPE '%s\n' "${lines[@]:1}"
    SNAPSHOT_SHAPE=${SNAPSHOT_SHAPE%$'\n'}
    return 0
  fi
  SNAPSHOT_SHAPE=$(snapshot_shape "$dir" "$loader" "$@") || return 1
  h=$(printf '%s\n' "$SNAPSHOT_SHAPE" | sha256sum)
  SNAPSHOT_KEY=${h:0:20}
  printf 'key %s\n%s\n' "$SNAPSHOT_KEY" "$SNAPSHOT_SHAPE" >"$memo.tmp.$$" && mv -f "$memo.tmp.$$" "$memo"
}

# snapshot_driver_copy SRC DST: DST is SRC with the PE subsystem changed
# from EFI application (10) to EFI boot-service driver (11), by the host
# program (`efitest pe-driver`, with petool's PE code). The firmware
# then loads the loader into boot-services memory, which a test sees as
# free after ExitBootServices, exactly as if no loader had been there; as
# an application it would stay loader memory and split a usable range of
# the test's memory map. OVMF starts either kind through -kernel.
snapshot_driver_copy() {
  "${SNAPSHOT_EFITEST:?}" pe-driver "$1" "$2"
}

# A path inside a JSON string inside a sh command: single-quoted for sh,
# then backslashes and double quotes escaped for JSON.
snapshot_exec_uri() {
  local q="'${1//\'/\'\\\'\'}'"
  q="cat > $q"
  q=${q//\\/\\\\}
  printf 'exec:%s' "${q//\"/\\\"}"
}

# The QMP conversations are the host program's (`efitest qmp`, host/qmp.h):
# replies are matched by id, events skipped, every wait bounded, and it
# stops waiting when QEMU exits. SNAPSHOT_EFITEST is its path (scripts/run
# sets it).
QMP_REPLY=''
readonly SNAPSHOT_QMP_IGNORE_SHARED='{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}}'

# snapshot_qmp_run DIR PID TIMEOUT [--migrate-wait S] JSON...: runs one
# conversation with the QEMU (PID) whose pipe chardev is DIR/qmp; sets
# QMP_REPLY to the last reply, or to why it failed (then returns 1).
snapshot_qmp_run() {
  local dir=$1 pid=$2 t=$3 st=0
  shift 3
  QMP_REPLY=$("${SNAPSHOT_EFITEST:?}" qmp --in "$dir/qmp.out" --out "$dir/qmp.in" --pid "$pid" \
    --timeout "$t" "$@") || st=$?
  return "$st"
}

# SNAPSHOT_RESTORE_QMP: the QMP commands that make a QEMU started with
# `-incoming defer` load the stream from its descriptor 3.
readonly SNAPSHOT_RESTORE_QMP=('{"execute":"qmp_capabilities"}' "$SNAPSHOT_QMP_IGNORE_SHARED"
  '{"execute":"migrate-incoming","arguments":{"uri":"fd:3"}}')

# snapshot_build STATE_OUT TIMEOUT CMD...: boots CMD (QEMU with the loader
# as -kernel and its RAM on a shared file), waits for the ready line, saves
# the VM to STATE_OUT and ends QEMU; the RAM file then holds the RAM. On
# failure sets SNAPSHOT_REASON and returns 1. Runs in the caller's shell,
# not a subshell, so that the caller's signal trap can end QEMU.
snapshot_build() {
  local out=$1 t=$2
  shift 2
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/efitest-snap.XXXXXX") ||
    { SNAPSHOT_REASON="cannot create a temporary directory"; return 1; }
  SNAPSHOT_TMP+=("$tmp")
  mkfifo "$tmp/qmp.in" "$tmp/qmp.out"
  # The monitor talks over a pair of FIFOs (QEMU's pipe chardev), so that
  # nothing beyond bash is needed on the host.
  "$@" -chardev "pipe,id=efitest-qmp,path=$tmp/qmp" -mon chardev=efitest-qmp,mode=control \
    </dev/null >"$tmp/serial" 2>"$tmp/stderr" &
  SNAPSHOT_QEMU_PID=$!
  local qin qout deadline reason=''
  # Read-write opens of a FIFO do not wait for the other end.
  exec {qin}<>"$tmp/qmp.in" {qout}<>"$tmp/qmp.out"
  deadline=$((SECONDS + ${t%.*}))
  until grep -q "$SNAPSHOT_READY_LINE" "$tmp/serial" 2>/dev/null; do
    if ! kill -0 "$SNAPSHOT_QEMU_PID" 2>/dev/null; then
      reason=$(sed -e 's/\x1b\[[0-9;?=]*[A-Za-z]//g' -e 's/\r//g' "$tmp/serial" | grep -E '^ERROR: ' | tail -n 1)
      [[ -n $reason ]] || reason=$(grep -v '^$' "$tmp/stderr" | tail -n 1)
      reason="QEMU exited before the loader was ready${reason:+: ${reason:0:160}}"
      break
    fi
    # KVM that fails pauses the VM: waiting out the deadline would not help.
    if reason=$(grep -m1 -E "$KVM_FAILURE_RE" "$tmp/stderr" 2>/dev/null); then
      reason="KVM failed while the firmware booted: ${reason:0:160}"
      break
    fi
    reason=''
    if ((SECONDS >= deadline)); then reason="the loader was not ready within ${t}s"; break; fi
    sleep 0.05
  done
  if [[ -z $reason ]]; then
    local left=$((deadline - SECONDS))
    ((left > 0)) || left=1
    # The default bandwidth cap (32 MiB/s) would make saving take seconds;
    # guest RAM stays in the shared RAM file, out of the stream.
    if ! snapshot_qmp_run "$tmp" "$SNAPSHOT_QEMU_PID" 10 --migrate-wait "$left" \
      '{"execute":"qmp_capabilities"}' \
      '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":107374182400}}' \
      "$SNAPSHOT_QMP_IGNORE_SHARED" \
      "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"$(snapshot_exec_uri "$out")\"}}"; then
      reason=$QMP_REPLY
      [[ $reason != "saving did not finish within"* ]] || reason="saving did not finish within ${t}s"
    fi
  fi
  if [[ -z $reason ]]; then snapshot_qmp_run "$tmp" "$SNAPSHOT_QEMU_PID" 10 '{"execute":"quit"}' || true; fi
  exec {qin}>&- {qout}>&-
  kill -TERM "$SNAPSHOT_QEMU_PID" 2>/dev/null || true
  wait "$SNAPSHOT_QEMU_PID" 2>/dev/null || true
  SNAPSHOT_QEMU_PID=''
  rm -rf "$tmp"
  if [[ -z $reason && ! -s $out ]]; then reason="QEMU wrote an empty snapshot"; fi
  if [[ -n $reason ]]; then SNAPSHOT_REASON=$reason; return 1; fi
}

# snapshot_prepare DIR KEY SHAPE_TEXT LOADER TIMEOUT CMD...: makes sure
# DIR/KEY.state and DIR/KEY.ram are complete, building them under the lock
# when they are not. CMD boots DIR/KEY.loader.efi, which is made here from
# LOADER; the RAM file options are added here.
# Sets SNAPSHOT_REASON and returns 1 when no snapshot can be had.
snapshot_prepare() {
  local dir=$1 key=$2 shape=$3 loader=$4 t=$5
  shift 5
  local base=$dir/$key
  if [[ -f $base.shape && -f $base.state && -f $base.ram && -f $base.loader.efi ]]; then return 0; fi
  command -v flock >/dev/null ||
    { SNAPSHOT_REASON="flock(1) is not installed (package util-linux)"; return 1; }
  local lock
  exec {lock}>>"$base.lock" || { SNAPSHOT_REASON="cannot write $base.lock"; return 1; }
  if ! flock -w "${t%.*}" "$lock"; then
    exec {lock}>&-
    SNAPSHOT_REASON="another run held the snapshot lock for more than ${t}s"
    return 1
  fi
  # Under the lock: another run may have finished the build meanwhile.
  if [[ -f $base.shape && -f $base.state && -f $base.ram && -f $base.loader.efi ]]; then exec {lock}>&-; return 0; fi
  if [[ -n $(find "$base.failed" -mmin -"$SNAPSHOT_FAILED_TTL_MIN" 2>/dev/null) ]]; then
    exec {lock}>&-
    SNAPSHOT_REASON="building this snapshot failed minutes ago: $(head -c 200 "$base.failed") (remove $base.failed to retry)"
    return 1
  fi
  # Whatever is here without a marker is the remains of a build that died.
  rm -f "$base.state" "$base.ram" "$base".*.tmp.*
  local tmp_state=$base.state.tmp.$$ tmp_ram=$base.ram.tmp.$$
  SNAPSHOT_TMP+=("$tmp_state" "$tmp_ram" "$base.shape.tmp.$$" "$base.loader.efi.tmp.$$")
  if ! snapshot_ram_args "$tmp_ram" on "$@"; then
    exec {lock}>&-
    SNAPSHOT_REASON="the machine has no plain -m size for the RAM file"
    return 1
  fi
  if ! snapshot_driver_copy "$loader" "$base.loader.efi"; then
    exec {lock}>&-
    SNAPSHOT_REASON="$loader is not a PE32+ EFI application"
    return 1
  fi
  # Under Secure Boot the firmware starts only a signed loader.
  local signed
  if ! firmware_image_to signed "$base.loader.efi" "$base.loader.efi" 2>"$base.sign.log"; then
    exec {lock}>&-
    SNAPSHOT_REASON="signing the loader failed: $(tail -n 1 "$base.sign.log")"
    rm -f "$base.sign.log" "$base.loader.efi"
    return 1
  fi
  rm -f "$base.sign.log"
  # Said once per build, so that a slow first run explains itself.
  echo "boot: building snapshot $key for this VM shape (one cold boot)" >&2
  if ! snapshot_build "$tmp_state" "$t" "$@" "${SNAPSHOT_RAM_ARGS[@]}"; then
    rm -f "$tmp_state" "$tmp_ram"
    printf '%s\n' "$SNAPSHOT_REASON" >"$base.failed"
    exec {lock}>&-
    SNAPSHOT_REASON="building the snapshot failed: $SNAPSHOT_REASON"
    return 1
  fi
  rm -f "$base.failed"
  printf '%s\n' "$shape" >"$base.shape.tmp.$$"
  mv -f "$tmp_ram" "$base.ram"
  mv -f "$tmp_state" "$base.state"
  mv -f "$base.shape.tmp.$$" "$base.shape"
  exec {lock}>&-
  snapshot_prune "$dir" "${SNAPSHOT_KEEP:-32}"
}

# snapshot_prune DIR KEEP: keeps the KEEP newest snapshots. A rebuilt
# loader or an updated firmware makes new shapes and leaves the old ones
# unused for good, at tens of MiB each.
snapshot_prune() {
  local dir=$1 keep=$2 n=0 line
  while IFS= read -r line; do
    n=$((n + 1))
    ((n > keep)) || continue
    line=${line#* }
    rm -f "${line%.shape}.state" "${line%.shape}.ram" "${line%.shape}.loader.efi" "$line"
  done < <(find "$dir" -maxdepth 1 -name '*.shape' -printf '%T@ %p\n' | sort -rn)
  find "$dir" -maxdepth 1 \( -name 'memo.*' -o -name 'qemu-version.*' \) -mtime +7 -delete 2>/dev/null || true
}

# snapshot_forget DIR KEY: drops a snapshot that failed to restore, so that
# the next run builds it again instead of failing the same way.
snapshot_forget() {
  rm -f "$1/$2.shape" "$1/$2.state" "$1/$2.ram" "$1/$2.loader.efi"
}
