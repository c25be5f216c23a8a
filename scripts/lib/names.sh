# shellcheck shell=bash
# "Did you mean" for unknown test names, shared by scripts/run and
# run_tests.sh.

# close_matches WANT: reads candidate names on stdin and prints those that
# contain WANT, are contained in it, or are within edit distance 2 of it
# (typos such as "plian" for "plain"); at most 10.
close_matches() {
  awk -v want="$1" '
    function dist(a, b,    i, j, la, lb, d, cost, x) {
      la = length(a); lb = length(b)
      for (i = 0; i <= la; i++) d[i, 0] = i
      for (j = 0; j <= lb; j++) d[0, j] = j
      for (i = 1; i <= la; i++)
        for (j = 1; j <= lb; j++) {
          cost = substr(a, i, 1) != substr(b, j, 1)
          x = d[i - 1, j] + 1
          if (d[i, j - 1] + 1 < x) x = d[i, j - 1] + 1
          if (d[i - 1, j - 1] + cost < x) x = d[i - 1, j - 1] + cost
          d[i, j] = x
        }
      return d[la, lb]
    }
    {
      base = $0; sub(/.*\//, "", base)
      if (index(base, want) || index(want, base) || dist(base, want) <= 2) {
        if (++n <= 10) print
      }
    }'
}
