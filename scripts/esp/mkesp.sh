#!/usr/bin/env bash
# Builds the efitest ESP: a directory tree and a FAT image of it, made with
# mtools and mkfs.fat (no root, no loop mounts). `make esp` and `make sign`
# call it; docs/esp.md describes the variables that feed these options.
#
#   mkesp.sh --top DIR --parser PATH --dir OUT_DIR --image OUT_IMG
#            [--cfg FILE] [--tests LIST] [--groups LIST] [--end ACTION]
#            [--timeout DUR] [--timeout-scale X] [--size MIB]
#            [--key KEY --cert CERT]
#
# Layout of the ESP:
#   EFI/BOOT/BOOTX64.EFI      the batch runner (efi/runner.efi)
#   efitest/manifest.txt      the selection (scripts/esp/mkmanifest.sh)
#   efitest/x86/...           every test image (x86/**/*.efi)
#   efitest/efi/...           the other EFI applications (efi/*.efi)
# The runner adds efitest/journal.txt while it runs and results.tap,
# junit.xml and summary.txt at the root when it is done.
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
for tool in mcopy mmd mkfs.fat; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' not found (install the Debian packages mtools and dosfstools)"
done
if [[ -n $key || -n $cert ]]; then
  [[ -r $key && -r $cert ]] || die "signing needs a readable KEY and CERT (got '$key', '$cert')"
  command -v sbsign >/dev/null 2>&1 || die "'sbsign' not found (install the Debian package sbsigntool)"
fi
[[ -f $top/efi/runner.efi ]] || die "efi/runner.efi is not built (run make)"

# Build next to the target and swap it in, so that a failed build never
# leaves half an ESP behind.
tmp="$dir.tmp.$$"
trap 'rm -rf "$tmp" "$img.tmp.$$"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp/EFI/BOOT" "$tmp/efitest/x86" "$tmp/efitest/efi"

"$top/scripts/esp/mkmanifest.sh" --parser "$parser" "${manifest_args[@]}" >"$tmp/efitest/manifest.txt"
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
# 65525 clusters, so the image is never below 64 MiB (sparse on disk).
used=$(du -sk --apparent-size "$tmp" | cut -f1)
if [[ -z $size ]]; then
  size=$(((used * 2 / 1024) + 8))
  ((size >= 64)) || size=64
fi
((size * 1024 > used)) || die "ESP_SIZE=${size} MiB is too small for ${used} KiB of files"
rm -f "$img.tmp.$$"
truncate -s "${size}M" "$img.tmp.$$"
mkfs.fat -F 32 -S 512 -s 1 -n EFITEST "$img.tmp.$$" >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -s -Q -i "$img.tmp.$$" "$tmp"/EFI "$tmp"/efitest ::/

rm -rf "$dir"
mv "$tmp" "$dir"
mv "$img.tmp.$$" "$img"
count=$(grep -c -E '^(test|skip)' "$dir/efitest/manifest.txt")
echo "ESP: $img (${size} MiB, $count tests selected${key:+, signed})"
