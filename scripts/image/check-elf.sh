#!/bin/sh
# Refuse a test image's ELF stage unless the stub can relocate it by itself
# (DESIGN.md, boot phase 2): no text relocations, no undefined symbols, and no
# dynamic relocation other than R_X86_64_RELATIVE (or the no-op R_X86_64_NONE).
set -u
so=$1
READELF=${READELF:-readelf}
NM=${NM:-nm}
bad=0

if $READELF -d "$so" | grep -q 'TEXTREL'; then
    echo "check-elf: $so: has text relocations (TEXTREL)" >&2
    bad=1
fi
undef=$($NM -D --undefined-only "$so" 2>/dev/null)
if [ -n "$undef" ]; then
    echo "check-elf: $so: undefined symbols:" >&2
    echo "$undef" | sed 's/^/    /' >&2
    bad=1
fi
others=$($READELF -W -r "$so" | awk '/^[0-9a-f]+ +[0-9a-f]+ +R_X86_64_/ && $3 != "R_X86_64_RELATIVE" && $3 != "R_X86_64_NONE" { print $3 }' | sort | uniq -c)
if [ -n "$others" ]; then
    echo "check-elf: $so: dynamic relocations the stub cannot apply:" >&2
    echo "$others" | sed 's/^/    /' >&2
    bad=1
fi
exit $bad
