#!/usr/bin/env bash
# Tests of the ESP image and its batch runner, under QEMU + OVMF (TCG is
# enough). Each case builds an ESP with `make esp` or `make sign` into a
# scratch directory, boots it with a writable copy of the variable store
# and without -no-reboot (the runner reboots once per test) as a SATA
# disk, and reads the result files back with mtools out of the FAT at the
# offset of the image's EFI System Partition.
#
#   image        the GPT disk image: sgdisk -v accepts it, a protective MBR,
#                one EFI System Partition at 1 MiB holding exactly the ESP
#                tree, a clean FAT32 there; two builds are byte-identical
#   unattended   selftest with arguments, a failing, a hanging and a triple-faulting guest:
#                PASS, FAIL, TIMEOUT (through the TCO watchdog), CRASH;
#                results.tap passes prove's parser, junit.xml xmllint
#   selection    the manifest of the default selection leaves nodefault out,
#                an unknown test name is an error
#   secure-boot  OVMF with Secure Boot on and the snakeoil keys enrolled: the
#                signed ESP runs, an unsigned test image is refused and
#                recorded as ERROR with the reason
#   screen       the runner's summary on the GOP console, from a QEMU
#                screendump of a one-test run that waits at the end
#
# Prints one line per check and ends with "N passed, N failed".
# Environment: QEMU, OVMF_CODE, OVMF_VARS (as scripts/run), OVMF_SB_CODE,
# OVMF_SB_VARS, SNAKEOIL_KEY, SNAKEOIL_CERT (Debian's ovmf paths by
# default), ESP_QEMU_TIMEOUT (seconds per QEMU run, default 300).
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/host.sh
. "$top/scripts/lib/host.sh"
cd "$top" || exit 1

passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAILED: $*"; failed=$((failed + 1)); }
check() {  # description command...
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/efitest-esp.XXXXXX")
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1
# sgdisk, mkfs.fat and fsck.fat are in /usr/sbin, off a Debian user's PATH.
PATH=$PATH:/usr/sbin:/sbin

# QEMU and the firmware as scripts/run finds them.
tools=$(scripts/run --find-tools) || exit 99
while IFS='=' read -r key val; do
  case $key in QEMU|OVMF_CODE|OVMF_VARS) printf -v "$key" '%s' "$val" ;; esac
done <<<"$tools"
# QEMU splits option values on commas; a literal comma is written twice.
qemu_escape_commas() { printf '%s' "${1//,/,,}"; }
sb_code=${OVMF_SB_CODE:-/usr/share/OVMF/OVMF_CODE_4M.secboot.fd}
sb_vars=${OVMF_SB_VARS:-/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd}
sb_key=${SNAKEOIL_KEY:-/usr/share/ovmf/PkKek-1-snakeoil.key}
sb_cert=${SNAKEOIL_CERT:-/usr/share/ovmf/PkKek-1-snakeoil.pem}
qemu_timeout=${ESP_QEMU_TIMEOUT:-300}
# KVM only where the probe VM ran under it (host/accel.h).
efitest=''
efitest_tool_to efitest "$top" || { bad "the host program is missing"; exit 1; }
accel='' accel_why='' st=0
decision=$(QEMU=$QEMU ACCEL_PROBE_ROM=$top/build/accel-probe.rom ACCEL_CACHE=${ACCEL_CACHE:-$top/build/accel-probe.cache} \
  "$efitest" accel --want "${ACCEL:-auto}" -- -machine q35 -cpu max) || st=$?
while IFS='=' read -r key val; do
  case $key in used) accel=$val ;; why) accel_why=$val ;; esac
done <<<"$decision"
if ((st != 0)); then
  bad "ACCEL=${ACCEL:-}: $accel_why"
  echo "$passed passed, $failed failed"
  exit 1
fi
echo "accel: $accel ($accel_why)"

for tool in mcopy mkfs.fat fsck.fat sgdisk xmllint perl timeout; do
  command -v "$tool" >/dev/null 2>&1 || { bad "tool '$tool' missing"; echo "$passed passed, $failed failed"; exit 1; }
done

# boot_esp IMG CODE VARS LOG [QEMU ARGS...]: boots the ESP until the runner
# powers the machine off. -global ICH9-LPC.noreboot=false releases the
# board strap that QEMU sets by default, so that the TCO watchdog can reset
# the machine (lib/esp/tco.h).
boot_esp() {
  local img=$1 code=$2 vars=$3 log=$4
  shift 4
  timeout --foreground -k 5 "$qemu_timeout" "$QEMU" -nodefaults -machine q35 -accel "$accel" \
    -cpu max -m 256M \
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$(qemu_escape_commas "$code")" \
    -drive "if=pflash,format=raw,unit=1,file=$(qemu_escape_commas "$vars")" \
    -drive "if=none,format=raw,id=esp,file=$(qemu_escape_commas "$img")" \
    -device ide-hd,drive=esp,bus=ide.0 \
    -global ICH9-LPC.noreboot=false \
    -serial stdio -display none "$@" </dev/null >"$log" 2>&1
}

# esp_fat IMG: the FAT of the image's EFI System Partition for mtools'
# -i, as IMG@@OFFSET. The offset comes from the partition table, which
# must have partition 1 of the ESP type; fails otherwise.
readonly ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B SECTOR=512
esp_fat() {
  local info first
  info=$(sgdisk -i 1 "$1" 2>&1) || return 1
  [[ $info == *"Partition GUID code: $ESP_TYPE "* ]] || return 1
  first=$(sed -n 's/^First sector: \([0-9]*\) .*/\1/p' <<<"$info")
  [[ -n $first ]] || return 1
  printf '%s@@%s\n' "$1" "$((first * SECTOR))"
}

# in_esp IMG PATH: PATH (::/...) is in the FAT of the image's ESP.
in_esp() {
  local fat
  fat=$(esp_fat "$1") && mdir -i "$fat" "$2" >/dev/null
}

# tap_outcomes FILE: "<number> <ok|not_ok> <VERDICT-or-SKIP>" per test line,
# from TAP::Parser (the parser behind prove); fails on a parse error or a
# plan that does not match.
tap_outcomes() {
  perl -MTAP::Parser -e '
    my $p = TAP::Parser->new({ source => $ARGV[0] });
    while (my $r = $p->next) {
      next unless $r->is_test;
      my $kind = $r->has_skip ? "SKIP" : ($r->description =~ /: (\w+) \(/ ? $1 : "PASS");
      printf "%d %s %s\n", $r->number, ($r->is_actual_ok ? "ok" : "not_ok"), $kind;
    }
    my @e = $p->parse_errors;
    die "TAP parse errors: @e\n" if @e;
    die "plan mismatch\n" unless $p->is_good_plan;
  ' "$1"
}

# prove itself must read the stream as well-formed TAP 13 (its verdict is
# "FAIL" here by design, because the selection holds failing guests).
prove_parses() {
  local out
  out=$(prove --exec cat "$1" 2>&1)
  [[ $out != *"Parse errors"* && $out == *"Tests="* ]]
}

junit_counts() {  # FILE: "tests failures errors skipped" of the testsuite
  local f=$1 a out=()
  for a in tests failures errors skipped; do
    out+=("$(xmllint --xpath "string(/testsuites/testsuite/@$a)" "$f")")
  done
  echo "${out[*]}"
}

# --- unattended run -----------------------------------------------------------

case_unattended() {
  local img=$work/run.img vars=$work/run-vars.fd log=$work/run.log start=$SECONDS rc
  if ! make -s esp ESP_DIR="$work/esp" ESP_IMG="$img" ESP_END=poweroff \
      ESP_TESTS="selftest_argv negative_fail negative_hang negative_triple_fault" >"$work/make.log" 2>&1; then
    cat "$work/make.log"
    bad "unattended: make esp"
    return
  fi
  ok "unattended: make esp"
  cp "$OVMF_VARS" "$vars"
  boot_esp "$img" "$OVMF_CODE" "$vars" "$log"
  rc=$?
  echo "   (QEMU exit $rc after $((SECONDS - start)) s, $(grep -c 'BdsDxe: starting' "$log") boots)"
  check "unattended: the runner powered the machine off (no hang, no QEMU timeout)" test "$rc" -eq 0
  local fat
  fat=$(esp_fat "$img") || bad "unattended: no EFI System Partition in the image"
  mcopy -n -i "$fat" ::results.tap "$work/results.tap" 2>/dev/null
  mcopy -n -i "$fat" ::junit.xml "$work/junit.xml" 2>/dev/null
  mcopy -n -i "$fat" ::summary.txt "$work/summary.txt" 2>/dev/null
  check "unattended: results.tap, junit.xml and summary.txt are on the ESP" \
    test -s "$work/results.tap" -a -s "$work/junit.xml" -a -s "$work/summary.txt"
  local got want
  got=$(tap_outcomes "$work/results.tap" 2>&1)
  want=$'1 ok PASS\n2 not_ok FAIL\n3 not_ok TIMEOUT\n4 not_ok CRASH'
  if [[ $got == "$want" ]]; then
    ok "unattended: TAP verdicts PASS, FAIL, TIMEOUT, CRASH"
  else
    bad "unattended: TAP verdicts: got '$got'"
    sed 's/^/   | /' "$work/results.tap"
  fi
  check "unattended: prove parses results.tap" prove_parses "$work/results.tap"
  check "unattended: junit.xml is well-formed" xmllint --noout "$work/junit.xml"
  got=$(junit_counts "$work/junit.xml" 2>&1)
  check "unattended: JUnit counts tests=4 failures=1 errors=2 skipped=0 (got $got)" \
    test "$got" = "4 1 2 0"
  check "unattended: the summary is on the serial console" \
    grep -q 'SUMMARY: 4 tests: 1 PASS, 1 FAIL, 1 CRASH, 1 TIMEOUT' "$log"
  check "unattended: TIMEOUT came from the TCO watchdog after ExitBootServices" \
    grep -q 'TIMEOUT negative_hang (no verdict within the 4s timeout' "$work/summary.txt"
  check "unattended: argv reached the test as scripts/run passes it" \
    grep -q 'PASS: .*quoted argument kept whole' "$log"
}

# --- the disk image -----------------------------------------------------------

# gpt_verifies IMG: sgdisk -v finds no problems and has nothing else to
# say; shows what it said. It also ends with "No problems found" after it
# has repaired a damaged backup GPT in memory, or built a GPT from a plain
# MBR, so nothing may come before that sentence.
gpt_verifies() {
  local out rc
  out=$(sgdisk -v "$1" 2>&1)
  rc=$?
  out=$(tr -s ' \n' '  ' <<<"$out")
  out=${out# }
  out=${out% }
  printf '   (sgdisk -v: %s)\n' "$out"
  ((rc == 0)) && [[ $out == "No problems found. "* ]]
}

# protective_mbr IMG: LBA 0 is a protective MBR (UEFI 2.10 §5.2.3): the
# signature 0x55 0xAA, one record of type 0xEE that starts at LBA 1 and
# covers the rest of the disk (0xFFFFFFFF sectors at most), the other three
# records zero. Says what is wrong on stderr.
protective_mbr() {
  perl -e '
    my ($img, $sector) = @ARGV;
    open my $f, "<:raw", $img or die "$img: $!\n";
    read($f, my $mbr, 512) == 512 or die "short image\n";
    my $want = int((-s $img) / $sector) - 1;
    $want = 0xffffffff if $want > 0xffffffff;
    substr($mbr, 510, 2) eq "\x55\xaa" or die "no MBR signature\n";
    my ($boot, $type, $lba, $size) = unpack "C x3 C x3 V V", substr($mbr, 446, 16);
    die sprintf("record 1: boot indicator 0x%02x, type 0x%02x, LBA %u, %u sectors; want 0x00, 0xee, 1, %u\n",
                $boot, $type, $lba, $size, $want)
      unless $boot == 0 && $type == 0xee && $lba == 1 && $size == $want;
    substr($mbr, 462, 48) eq "\0" x 48 or die "records 2 to 4 are not empty\n";
  ' "$1" "$SECTOR"
}

# one_esp_partition IMG: the GPT holds one partition, of the ESP type, from
# LBA 2048 (1 MiB) to a MiB boundary.
one_esp_partition() {
  local img=$1 table info first last n
  table=$(sgdisk -p "$img" 2>&1) || { echo "$table" >&2; return 1; }
  n=$(sed -n '/^Number  *Start/,$p' <<<"$table" | grep -c '^ *[0-9]')
  info=$(sgdisk -i 1 "$img" 2>&1) || { echo "$info" >&2; return 1; }
  first=$(sed -n 's/^First sector: \([0-9]*\) .*/\1/p' <<<"$info")
  last=$(sed -n 's/^Last sector: \([0-9]*\) .*/\1/p' <<<"$info")
  if [[ $n != 1 || $info != *"Partition GUID code: $ESP_TYPE "* || $first != 2048 ||
        -z $last || $(((last + 1) % 2048)) != 0 ]]; then
    printf '%s\n' "$table" "$info" | sed 's/^/   | /' >&2
    return 1
  fi
}

# fat_clean IMG: the partition, copied out, passes fsck.fat as FAT32 with
# the partition's start as its hidden sectors.
fat_clean() {
  local img=$1 info first size out
  info=$(sgdisk -i 1 "$img" 2>&1) || return 1
  first=$(sed -n 's/^First sector: \([0-9]*\) .*/\1/p' <<<"$info")
  size=$(sed -n 's/^Partition size: \([0-9]*\) sectors.*/\1/p' <<<"$info")
  dd if="$img" of="$work/part.fat" bs="$SECTOR" skip="$first" count="$size" status=none || return 1
  out=$(fsck.fat -n -v "$work/part.fat" 2>&1)
  local rc=$?
  rm -f "$work/part.fat"
  if ((rc != 0)) || [[ $out != *"32 bit entries"* || $out != *" $first hidden sectors"* ]]; then
    printf '%s\n' "$out" | sed 's/^/   | /' >&2
    return 1
  fi
}

# same_tree IMG DIR: the FAT of the image's ESP holds exactly DIR: the
# same paths, the same contents.
same_tree() {
  local fat out=$work/tree-out
  fat=$(esp_fat "$1") || return 1
  rm -rf "$out"
  mkdir "$out"
  mcopy -s -n -i "$fat" ::/ "$out/" || return 1
  diff -r "$2" "$out" >&2
}

case_image() {
  local img=$work/disk.img again=$work/disk2.img
  if ! make -s esp ESP_DIR="$work/disk" ESP_IMG="$img" ESP_TESTS=selftest \
      >"$work/disk-make.log" 2>&1; then
    cat "$work/disk-make.log"
    bad "image: make esp"
    return
  fi
  echo "   ($(grep '^ESP:' "$work/disk-make.log"))"
  check "image: sgdisk -v finds no problems" gpt_verifies "$img"
  check "image: LBA 0 is a protective MBR" protective_mbr "$img"
  check "image: one partition, type EFI System, at 1 MiB, ending on a MiB boundary" \
    one_esp_partition "$img"
  check "image: a clean FAT32 at the partition offset, the offset as hidden sectors" fat_clean "$img"
  check "image: the FAT at the partition offset holds exactly the ESP tree" \
    same_tree "$img" "$work/disk"
  # Another time zone (a POSIX rule, no tzdata needed) for the second build:
  # the FAT's local time stamps must not follow it.
  if TZ=XYZ-14 make -s esp ESP_DIR="$work/disk2" ESP_IMG="$again" ESP_TESTS=selftest \
      >"$work/disk2-make.log" 2>&1; then
    check "image: a second build of the same ESP is byte-identical" cmp "$img" "$again"
  else
    cat "$work/disk2-make.log"
    bad "image: second make esp"
  fi
}

# --- manifest selection -------------------------------------------------------

case_selection() {
  if make -s esp ESP_DIR="$work/sel" ESP_IMG="$work/sel.img" >"$work/sel.log" 2>&1; then
    local m=$work/sel/efitest/manifest.txt
    check "selection: default selection leaves the nodefault group out" \
      bash -c "! grep -q '^test.negative_' '$m' && grep -q '^test.selftest.' '$m'"
    check "selection: the runner is EFI/BOOT/BOOTX64.EFI in the image" \
      in_esp "$work/sel.img" ::/EFI/BOOT/BOOTX64.EFI
  else
    cat "$work/sel.log"
    bad "selection: make esp with the default selection"
  fi
  check "selection: an unknown test name is an error" \
    bash -c "! make -s esp ESP_DIR='$work/bad' ESP_IMG='$work/bad.img' ESP_TESTS=no_such_test \
      >'$work/bad.log' 2>&1 && grep -q \"no test or group matches 'no_such_test'\" '$work/bad.log'"
}

# --- Secure Boot ----------------------------------------------------------------

case_secure_boot() {
  local f
  for f in "$sb_code" "$sb_vars" "$sb_key" "$sb_cert"; do
    if [[ ! -r $f ]]; then bad "secure-boot: '$f' missing (Debian package ovmf)"; return; fi
  done
  command -v sbsign >/dev/null 2>&1 || { bad "secure-boot: sbsign missing (sbsigntool)"; return; }
  # sbsign would prompt for the snakeoil key's passphrase on the terminal.
  openssl rsa -in "$sb_key" -passin pass:snakeoil -out "$work/snakeoil.key" 2>/dev/null ||
    { bad "secure-boot: cannot decrypt the snakeoil key"; return; }
  local img=$work/sb.img vars=$work/sb-vars.fd log=$work/sb.log start=$SECONDS rc
  if ! make -s sign KEY="$work/snakeoil.key" CERT="$sb_cert" ESP_DIR="$work/sbesp" \
      ESP_IMG="$img" ESP_TESTS="selftest negative_fail" >"$work/sign.log" 2>&1; then
    cat "$work/sign.log"
    bad "secure-boot: make sign"
    return
  fi
  ok "secure-boot: make sign"
  check "secure-boot: the runner in the ESP carries a signature" \
    bash -c "sbverify --cert '$sb_cert' '$work/sbesp/EFI/BOOT/BOOTX64.EFI' >/dev/null 2>&1"
  # One test image goes back to its unsigned build.
  local fat
  fat=$(esp_fat "$img") || bad "secure-boot: no EFI System Partition in the image"
  mcopy -o -i "$fat" x86/negative/fail.efi ::/efitest/x86/negative/fail.efi
  cp "$sb_vars" "$vars"
  boot_esp "$img" "$sb_code" "$vars" "$log" \
    -machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on
  rc=$?
  echo "   (QEMU exit $rc after $((SECONDS - start)) s)"
  check "secure-boot: the signed runner booted and powered off" test "$rc" -eq 0
  mcopy -n -i "$fat" ::results.tap "$work/sb.tap" 2>/dev/null
  local got
  got=$(tap_outcomes "$work/sb.tap" 2>&1)
  check "secure-boot: signed selftest PASS, unsigned negative_fail ERROR (got '${got//$'\n'/, }')" \
    test "$got" = $'1 ok PASS\n2 not_ok ERROR'
  check "secure-boot: the ERROR names the refusal" \
    grep -q 'negative_fail: ERROR (LoadImage: \(Security Violation\|Access Denied\) (refused by Secure Boot' "$work/sb.tap"
}

# --- the summary on the screen ----------------------------------------------

# monitor SOCKET COMMAND: one human-monitor command over a UNIX socket.
monitor() {
  perl -MIO::Socket::UNIX -e '
    my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "monitor: $!\n";
    print $s "$ARGV[1]\n"; sleep 1; close $s;' "$1" "$2"
}

# lit_pixels PPM: how many pixels of a binary PPM (P6) are not black in its
# upper 40%. The runner clears the screen before its summary and the console
# writes from the top, while OVMF's logo (gone after the clear anyway) sits
# in the middle: only the summary's text can light this band.
lit_pixels() {
  perl -e '
    local $/; open my $f, "<:raw", $ARGV[0] or die; my $d = <$f>;
    $d =~ s/^P6\s+(\d+)\s+(\d+)\s+(\d+)\s//s or die "not a P6 PPM\n";
    my ($w, $h) = ($1, $2); my $end = 3 * $w * int($h * 0.4);
    my $n = 0; for (my $i = 0; $i + 2 < $end; $i += 3) {
      $n++ if substr($d, $i, 3) ne "\0\0\0" }
    print "$n\n";' "$1"
}

case_screendump() {
  local img=$work/gop.img vars=$work/gop-vars.fd log=$work/gop.log sock=$work/gop.sock
  local ppm=$work/gop.ppm waited=0 pid
  if ! make -s esp ESP_DIR="$work/gop" ESP_IMG="$img" ESP_END=wait ESP_TESTS=selftest \
      >"$work/gop-make.log" 2>&1; then
    cat "$work/gop-make.log"
    bad "screen: make esp"
    return
  fi
  cp "$OVMF_VARS" "$vars"
  boot_esp "$img" "$OVMF_CODE" "$vars" "$log" -vga std \
    -monitor "unix:$sock,server=on,wait=off" &
  pid=$!
  while ((waited < qemu_timeout)) && ! grep -q 'SUMMARY: 1 tests:' "$log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
    waited=$((waited + 1))
  done
  # The summary reaches the serial port and the screen in the same call;
  # give the framebuffer a moment before taking the picture.
  sleep 2
  monitor "$sock" "screendump $ppm" 2>/dev/null
  monitor "$sock" quit 2>/dev/null
  wait "$pid" 2>/dev/null
  check "screen: the runner showed its summary and waited" grep -q 'SUMMARY: 1 tests: 1 PASS' "$log"
  local lit
  lit=$(lit_pixels "$ppm" 2>/dev/null || echo 0)
  # The summary block alone lights thousands of pixels; an empty or
  # never-drawn console lights none.
  check "screen: the GOP screendump shows the summary text ($lit lit pixels)" test "${lit:-0}" -gt 2000
  if [[ -s $ppm ]]; then cp "$ppm" "$top/build/esp-screen.ppm" 2>/dev/null || true; fi
}

start=$SECONDS
case_image
case_selection
case_unattended
case_secure_boot
case_screendump
echo "ESP tests took $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
((failed == 0))
