#!/usr/bin/env bash
# run_tests.sh --shard and --list-format json, through the real front door:
# the shards of a selection are disjoint and together are the selection,
# with and without durations, and the JSON listing names each test's
# scripts/run command line.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tree=$scratch/tree
make_tree "$tree"
x=$tree/x86
cfg=$tree/unittests.cfg
for t in a b c d e f g; do
  fake_image "$x/$t.efi" 33 <<<"SUMMARY: 1 tests, 0 unexpected failures, 0 skipped"
  printf '[%s]\nfile = %s.efi\ngroups = g%s\n\n' "$t" "$t" "$(( $(printf '%d' "'$t") % 2 ))" >>"$cfg"
done
printf '[h]\nfile = h.efi\nsmp = 2\nmemory = 1G\nextra_params = -cpu qemu64\ntest_args = one "two words"\ntimeout = 20s\ngroups = nodefault\n\n' >>"$cfg"
fake_image "$x/h.efi" 33 <<<"SUMMARY: 1 tests, 0 unexpected failures, 0 skipped"
printf 'a 40\nb 1\nc 1\nd 30\ne 2\nf 2\ng 3\n' >"$scratch/durations"

# shards SELECTION...: checks that 1/3, 2/3, 3/3 of the selection are
# disjoint and complete.
shards() {
  local what=$1 all parts=() k union
  shift
  all=$("$tree/run_tests.sh" -l "$@" | sort)
  for k in 1 2 3; do parts+=("$("$tree/run_tests.sh" -l --shard "$k/3" "$@")"); done
  union=$(printf '%s\n' "${parts[@]}" | sort)
  expect_eq "$what: the shards together are the selection" "$all" "$union"
  expect_eq "$what: no test is in two shards" "$(sort -u <<<"$union")" "$union"
  local k2
  for k in 0 1 2; do
    [[ -n ${parts[k]} ]] || not_ok "$what: shard $((k + 1)) is empty"
    k2=$("$tree/run_tests.sh" -l --shard "$((k + 1))/3" "$@")
    expect_eq "$what: shard $((k + 1))/3 is the same every time" "${parts[k]}" "$k2"
  done
}
shards "default selection"
shards "group g1" -g g1
shards "names and a group" 'a' 'h' -g g0
shards "with durations" --durations "$scratch/durations"
long=$("$tree/run_tests.sh" -l --shard 1/3 --durations "$scratch/durations")
expect_eq "with durations: the longest test has a shard of its own" "a" "$long"

st=0
out=$("$tree/run_tests.sh" -l --shard 4/3 2>&1) || st=$?
expect_eq "--shard 4/3 is a usage error" 2 "$st"
expect_contains "--shard 4/3 says why" "--shard needs I/N with 1 <= I <= N, not '4/3'" "$out"
st=0
out=$("$tree/run_tests.sh" -l --shard 1/2 --durations "$scratch/none" 2>&1) || st=$?
expect_eq "--durations that cannot be read: ERROR" 99 "$st"

# The suite runs its shard: the two halves run every test once.
st=0
h1=$("$tree/run_tests.sh" --shard 1/2 --log-dir "$scratch/l1" 2>&1) || st=$?
h2=$("$tree/run_tests.sh" --shard 2/2 --log-dir "$scratch/l2" 2>&1) || st=$?
expect_eq "running both halves passes" 0 "$st"
ran=$(cat "$scratch/l1/summary.txt" "$scratch/l2/summary.txt" | awk '{ print $2 }' | sort | tr '\n' ' ')
expect_eq "running both halves runs every default test once" "a b c d e f g " "$ran"

json=$("$tree/run_tests.sh" -l --list-format json h a)
if command -v python3 >/dev/null; then
  check "JSON listing: parses" python3 -c 'import json, sys; json.load(sys.stdin)' <<<"$json"
  got=$(python3 -c 'import json, sys; t = json.load(sys.stdin); print(" ".join(x["name"] for x in t)); print(json.dumps(t[1]["run"])); print(t[1]["timeout_s"]["tcg"], t[1]["groups"])' <<<"$json")
  expect_eq "JSON listing: the selection in cfg order, with the scripts/run command line" \
    $'a h\n["scripts/run", "x86/h.efi", "-smp", "2", "-m", "1G", "-cpu", "qemu64", "-append", "one \\"two words\\""]\n60 [\'nodefault\']' "$got"
else
  expect_contains "JSON listing: the command line" '"run": ["scripts/run", "x86/h.efi", "-smp", "2"' "$json"
fi

finish
