#!/usr/bin/env bash
# Builds the efitest ESP: a directory tree, and a GPT disk image whose one
# partition, an EFI System Partition, holds it. mkfs.fat and mtools build
# the FAT file system in a file of its own and sgdisk the partition table,
# so no root and no loop device are needed. `make esp` and `make sign` call
# it; docs/esp.md describes the variables that feed these options.
#
#   mkesp.sh --top DIR --parser PATH --dir OUT_DIR --image OUT_IMG
#            [--cfg FILE] [--tests LIST] [--groups LIST] [--end ACTION]
#            [--timeout DUR] [--timeout-scale X] [--size MIB]
#            [--key KEY --cert CERT]
#
# Layout of the ESP:
#   EFI/BOOT/BOOTX64.EFI      the batch runner (efi/runner.efi)
#   efitest/manifest.txt      the selection (`efitest manifest`)
#   efitest/x86/...           every test image (x86/**/*.efi)
#   efitest/efi/...           the other EFI applications (efi/*.efi)
# The runner adds efitest/journal.txt while it runs and results.tap,
# junit.xml and summary.txt at the root when it is done.
#
# Layout of the disk image (512-byte sectors, what a USB stick has):
#   LBA 0                 protective MBR (one partition of type 0xEE)
#   LBA 1-33              GPT header and partition entries
#   1 MiB                 the ESP: type C12A7328-F81F-11D2-BA4B-00A0C93EC93B,
#                         --size MiB of FAT32, ending on a MiB boundary
#   the last 1 MiB        free, but for the backup GPT in its last 33 sectors
# So the image is --size + 2 MiB.
#
# Two runs on the same files give the same image, byte for byte: the files
# go in in sorted order, their FAT time stamps are SOURCE_DATE_EPOCH
# (1980-01-01 00:00 UTC, the FAT epoch, when unset), and the FAT volume ID
# and the GUIDs of the disk and the partition are derived from a hash of
# the tree (RFC 9562 version 8 GUIDs), so that two different ESPs do not
# share them. Signed trees differ from run to run all the same: sbsign
# puts the signing time into each signature.
#
# With --key and --cert every .efi in the tree is signed with sbsign (the
# build's own images stay unsigned); the key must not need a passphrase
# prompt, or sbsign asks on the terminal.
set -euo pipefail

die() { echo "mkesp.sh: $*" >&2; exit 1; }

top='' parser='' dir='' img='' size='' key='' cert='' manifest_args=()
while (($#)); do
  case $1 in
    --top) top=$2; shift ;;
    --parser) parser=$2; shift ;;
    --dir) dir=$2; shift ;;
    --image) img=$2; shift ;;
    --size) size=$2; shift ;;
    --key) key=$2; shift ;;
    --cert) cert=$2; shift ;;
    --cfg|--tests|--groups|--end|--timeout|--timeout-scale)
      manifest_args+=("$1" "$2"); shift ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift
done
[[ -n $top && -n $parser && -n $dir && -n $img ]] || die "missing --top, --parser, --dir or --image"
# mkfs.fat and sgdisk live in /usr/sbin, which is not on a Debian user's
# PATH; they need no root on a plain file.
PATH=$PATH:/usr/sbin:/sbin
for tool in mcopy mmd mkfs.fat sgdisk sha256sum; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' not found (install the Debian packages mtools, dosfstools and gdisk)"
done
# FAT time stamps cannot go below 1980 (mtools wraps earlier ones to 2107).
readonly FAT_EPOCH=315532800
stamp=${SOURCE_DATE_EPOCH:-$FAT_EPOCH}
if ! [[ $stamp =~ ^[0-9]+$ ]] || ((stamp < FAT_EPOCH)); then
  die "SOURCE_DATE_EPOCH must be a time in seconds from 1980 on (${FAT_EPOCH} or more), not '$stamp'"
fi
if [[ -n $key || -n $cert ]]; then
  [[ -r $key && -r $cert ]] || die "signing needs a readable KEY and CERT (got '$key', '$cert')"
  command -v sbsign >/dev/null 2>&1 || die "'sbsign' not found (install the Debian package sbsigntool)"
fi
[[ -f $top/efi/runner.efi ]] || die "efi/runner.efi is not built (run make)"

# Build next to the target and swap it in, so that a failed build never
# leaves half an ESP behind.
tmp="$dir.tmp.$$"
fat="$img.fat.tmp.$$"
trap 'rm -rf "$tmp" "$img.tmp.$$" "$fat"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp/EFI/BOOT" "$tmp/efitest/x86" "$tmp/efitest/efi"

[[ -x $parser ]] || die "no host program (--parser build/efitest)"
"$parser" manifest "${manifest_args[@]}" >"$tmp/efitest/manifest.txt"
cp "$top/efi/runner.efi" "$tmp/EFI/BOOT/BOOTX64.EFI"
(cd "$top/x86" && find . -name '*.efi' -type f) | sort | while IFS= read -r f; do
  mkdir -p "$tmp/efitest/x86/$(dirname "$f")"
  cp "$top/x86/$f" "$tmp/efitest/x86/$f"
done
for f in "$top"/efi/*.efi; do
  [[ $(basename "$f") == runner.efi ]] || cp "$f" "$tmp/efitest/efi/"
done

if [[ -n $key ]]; then
  find "$tmp" -name '*.efi' -o -name '*.EFI' | sort | while IFS= read -r f; do
    sbsign --key "$key" --cert "$cert" --output "$f.signed" "$f" >/dev/null 2>"$f.log" ||
      { cat "$f.log" >&2; die "sbsign failed on ${f#"$tmp"/}"; }
    mv "$f.signed" "$f"
    rm -f "$f.log"
  done
fi

# FAT32 as UEFI 2.10 §13.3.1.1 expects on fixed media; it needs at least
# 65525 clusters, so the partition is never below 64 MiB (sparse on disk).
used=$(du -sk --apparent-size "$tmp" | cut -f1)
if [[ -z $size ]]; then
  size=$(((used * 2 / 1024) + 8))
  ((size >= 64)) || size=64
fi
[[ $size =~ ^[0-9]+$ ]] || die "ESP_SIZE must be a whole number of MiB, not '$size'"
((size * 1024 > used)) || die "ESP_SIZE=${size} MiB is too small for ${used} KiB of files"

# One hash over every path and content of the tree names this ESP.
tree_sum=$(cd "$tmp" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum)
tree_sum=${tree_sum%% *}
# hex_of WHAT: 64 hex digits, from the tree hash and WHAT.
hex_of() {
  local h
  h=$(printf '%s %s\n' "$tree_sum" "$1" | sha256sum)
  printf '%s\n' "${h%% *}"
}
# guid_of WHAT: a version 8 GUID (RFC 9562: the bits are the maker's own)
# with the variant bits 10.
guid_of() {
  local h
  h=$(hex_of "$1")
  printf '%s-%s-8%s-%x%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" \
    $(((16#${h:16:1} & 3) | 8)) "${h:17:3}" "${h:20:12}"
}
volume_id=$(hex_of volume)
volume_id=${volume_id:0:8}

readonly SECTOR=512 PART_START_MIB=1
part_lba=$((PART_START_MIB * 1024 * 1024 / SECTOR))

# The FAT file system, on its own file the size of the partition. Its
# boot sector counts the sectors in front of the partition as hidden, as a
# partition's should (-h); --invariant fixes its creation time stamp.
rm -f "$fat" "$img.tmp.$$"
truncate -s "${size}M" "$fat"
mkfs.fat --invariant -i "$volume_id" -F 32 -S "$SECTOR" -s 1 -h "$part_lba" \
  -n EFITEST "$fat" >/dev/null
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=$stamp TZ=UTC
# Directories first, then the files of each, all in byte order; mcopy -s
# would take them in the host directory's order.
(cd "$tmp" && find . -mindepth 1 -type d | LC_ALL=C sort) | while IFS= read -r d; do
  mmd -i "$fat" "::/${d#./}"
done
(cd "$tmp" && find . -type f | LC_ALL=C sort) | while IFS= read -r f; do
  mcopy -Q -i "$fat" "$tmp/${f#./}" "::/${f#./}"
done

# The disk: the partition table on an empty file of the full size, then
# the file system copied into the partition (sparse: the image stays as
# small on disk as the FAT).
truncate -s "$((size + 2 * PART_START_MIB))M" "$img.tmp.$$"
if ! out=$(sgdisk --disk-guid="$(guid_of disk)" \
    --new="1:$part_lba:+${size}M" --typecode=1:C12A7328-F81F-11D2-BA4B-00A0C93EC93B \
    --partition-guid="1:$(guid_of partition)" --change-name="1:EFI System Partition" \
    "$img.tmp.$$" 2>&1); then
  printf '%s\n' "$out" >&2
  die "sgdisk could not write the partition table"
fi
dd if="$fat" of="$img.tmp.$$" bs=1M seek="$PART_START_MIB" conv=notrunc,sparse status=none

rm -rf "$dir"
mv "$tmp" "$dir"
mv "$img.tmp.$$" "$img"
count=$(grep -c -E '^(test|skip)' "$dir/efitest/manifest.txt")
echo "ESP: $img (GPT disk of $((size + 2 * PART_START_MIB)) MiB, ${size} MiB ESP at ${PART_START_MIB} MiB, $count tests selected${key:+, signed})"
