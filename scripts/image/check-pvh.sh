#!/bin/sh
# Refuse a PVH image (x86/<name>.elf) that a PVH loader could not start
# as the entry expects (lib/boot/pvh_entry.S, docs/pvh.md): it must be an
# ELF executable (no relocation of its own: the entry runs with paging off
# at its link address), with a PT_NOTE holding the XEN_ELFNOTE_PHYS32_ENTRY
# note (name "Xen", type 18, a 32-bit entry address inside the image's
# code), and with no text relocations or dynamic relocations at all.
set -u
elf=$1
READELF=${READELF:-readelf}
bad=0

if ! $READELF -h "$elf" 2>/dev/null | grep -q 'Type: *EXEC'; then
    echo "check-pvh: $elf: not an ELF executable (ET_EXEC)" >&2
    bad=1
fi
if ! $READELF -W -l "$elf" | grep -q '^ *NOTE '; then
    echo "check-pvh: $elf: no PT_NOTE segment" >&2
    bad=1
fi
# readelf -n prints the owner, the size of the descriptor and the type;
# the type 18 is unknown to some readelf versions and then shows as 0x12.
note=$($READELF -W -n "$elf" | awk '$1 == "Xen" && ($0 ~ /\(0x00000012\)/ || $0 ~ /PHYS32_ENTRY/) { print $2 }')
if [ "$note" != "0x00000004" ]; then
    echo "check-pvh: $elf: no XEN_ELFNOTE_PHYS32_ENTRY note (name \"Xen\", type 18, 4-byte entry)" >&2
    bad=1
fi
if $READELF -d "$elf" 2>/dev/null | grep -q 'TEXTREL'; then
    echo "check-pvh: $elf: has text relocations (TEXTREL)" >&2
    bad=1
fi
if $READELF -W -r "$elf" | grep -q '^[0-9a-f]\+ \+[0-9a-f]\+ \+R_X86_64_'; then
    echo "check-pvh: $elf: has relocations; the PVH entry cannot apply any" >&2
    bad=1
fi
exit $bad
