#!/usr/bin/env bash
# A broken unittests.cfg stops run_tests.sh before anything runs, with
# every error named as file:line.
# shellcheck source=tests/runner/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tree=$scratch/tree
make_tree "$tree"
export FAKE_QEMU_LOG=$scratch/qemu.log
fake_image "$tree/x86/good.efi" 33 <<'EOF2'
PASS: a
SUMMARY: 1 tests, 0 unexpected failures, 0 skipped
EOF2

good=$'[good]\nfile = good.efi\n\n'
# name | cfg text (after a valid first entry, which runs unless the whole
# file is rejected) | expected message
cases=(
  "unknown key|[t]\nfile = good.efi\nsmpp = 2\n|unittests.cfg:6: unknown key 'smpp'"
  "duplicate section|[good]\nfile = good.efi\n|unittests.cfg:4: duplicate section [good] (first at line 1)"
  "duplicate key|[t]\nfile = good.efi\nfile = good.efi\n|unittests.cfg:6: duplicate key 'file' (first at line 5)"
  "bad smp|[t]\nfile = good.efi\nsmp = abc\n|unittests.cfg:6: bad value for 'smp': 'abc'"
  "bad timeout|[t]\nfile = good.efi\ntimeout = xyz\n|unittests.cfg:6: bad value for 'timeout': 'xyz'"
  "bad memory|[t]\nfile = good.efi\nmemory = 6X\n|unittests.cfg:6: bad value for 'memory': '6X'"
  "missing equals|[t]\nfile = good.efi\ngroups nodefault\n|unittests.cfg:6: expected '[name]' or 'key = value', got 'groups nodefault'"
  "key outside section|file = good.efi\n|FAILS-FIRST"
  "missing file key|[t]\nsmp = 2\n|unittests.cfg:4: [t] has no 'file' key"
  "image not built|[t]\nfile = negative/absent.efi\n|unittests.cfg:5: [t]: image 'negative/absent.efi' not found in"
  "unclosed quote|[t]\nfile = good.efi\nextra_params = -append 'a b\n|unittests.cfg:6: bad value for 'extra_params': '-append 'a b' (unterminated single quote)"
)

for c in "${cases[@]}"; do
  IFS='|' read -r what text want <<<"$c"
  if [[ $want == FAILS-FIRST ]]; then
    # Before the first section: the entry line number is the first line.
    printf '%b' "$text$good" >"$tree/unittests.cfg"
    want="unittests.cfg:1: 'file' outside of a [section]"
  else
    printf '%b' "$good$text" >"$tree/unittests.cfg"
  fi
  : >"$FAKE_QEMU_LOG"
  rm -rf "$tree/logs"
  st=0
  out=$("$tree/run_tests.sh" -j 2 2>&1) || st=$?
  expect_eq "$what: exit 99" 99 "$st"
  expect_contains "$what: error names file:line" "$want" "$out"
  expect_contains "$what: says nothing ran" "has errors; nothing was run" "$out"
  expect_eq "$what: QEMU never started" "" "$(<"$FAKE_QEMU_LOG")"
  check "$what: no log directory" test ! -e "$tree/logs"
done

# All errors of a file are reported in one go.
printf '[a]\nfile = good.efi\nfoo = 1\n[b]\nsmp = x\nfile = good.efi\n' >"$tree/unittests.cfg"
out=$("$tree/run_tests.sh" 2>&1)
expect_contains "several errors: first" "unittests.cfg:3: unknown key 'foo'" "$out"
expect_contains "several errors: second" "unittests.cfg:5: bad value for 'smp'" "$out"

# Listing works before the images are built.
printf '[t]\nfile = not-built-yet.efi\n' >"$tree/unittests.cfg"
expect_eq "-l does not need the images" "t" "$("$tree/run_tests.sh" -l 2>&1)"

# Usage errors are not cfg errors.
st=0
"$tree/run_tests.sh" --bogus >/dev/null 2>&1 || st=$?
expect_eq "unknown option exits 2" 2 "$st"
st=0
"$tree/run_tests.sh" -j x >/dev/null 2>&1 || st=$?
expect_eq "bad -j exits 2" 2 "$st"

finish
