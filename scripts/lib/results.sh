# shellcheck shell=bash
# Output formats of run_tests.sh: TAP 13 and JUnit XML. Both are written from
# the per-test log files, which hold the guest's serial output verbatim.

# `&` in a ${var//pattern/replacement} replacement means the match in
# bash >= 5.2; the escaping below wants it literal.
shopt -u patsub_replacement 2>/dev/null || true

# Guest output without terminal escapes, carriage returns and other control
# characters, and with invalid UTF-8 dropped: safe inside TAP and XML.
clean_text() {
  sed -e 's/\x1b\[[0-9;?=]*[A-Za-z]//g' -e 's/\r//g' "$@" |
    tr -d '\000-\010\013\014\016-\037\177' | iconv -f UTF-8 -t UTF-8 -c
}

# tap_escape VAR TEXT: sets VAR to TEXT for a TAP description, where '#'
# starts a directive unless escaped. No subshell: the runner calls this for
# every test.
tap_escape() {
  local s=${2//\\/\\\\}
  printf -v "$1" '%s' "${s//#/\\#}"
}

# yaml_quote VAR TEXT: sets VAR to TEXT as a YAML single-quoted scalar.
yaml_quote() {
  printf -v "$1" "'%s'" "${2//\'/\'\'}"
}

# tap_test NUMBER NAME VERDICT DETAIL LOG DURATION_MS: one test line, with
# the guest's checks as an indented subtest before it (the layout prove and
# Test::More use) and a YAML block after anything that is not a pass. The
# checks are formatted by one awk over the cleaned log: a test prints
# hundreds of them, too many for a shell loop.
tap_test() {
  local num=$1 name=$2 verdict=$3 detail=$4 log=$5 ms=$6 desc esc_detail
  tap_escape desc "$name"
  tap_escape esc_detail "$detail"
  if [[ -f $log ]]; then
    clean_text "$log" | awk -v name="$desc" '
      function esc(s,   out, i, c) {
        out = ""
        for (i = 1; i <= length(s); i++) {
          c = substr(s, i, 1)
          if (c == "\\" || c == "#") out = out "\\"
          out = out c
        }
        return out
      }
      /^(PASS|FAIL|SKIP|XFAIL|XPASS): / {
        kind = substr($0, 1, index($0, ":") - 1)
        msg = esc(substr($0, index($0, ": ") + 2))
        if (n == 0) printf "    # Subtest: %s\n", name
        n++
        if (kind == "PASS") printf "    ok %d - %s\n", n, msg
        else if (kind == "FAIL") printf "    not ok %d - %s\n", n, msg
        else if (kind == "SKIP") printf "    ok %d - %s # SKIP\n", n, msg
        else if (kind == "XFAIL") printf "    not ok %d - %s # TODO expected failure\n", n, msg
        else printf "    not ok %d - %s (unexpected pass)\n", n, msg
      }
      END { if (n > 0) printf "    1..%d\n", n }'
  fi
  case $verdict in
    PASS) printf 'ok %d - %s (%s)\n' "$num" "$desc" "$esc_detail" ;;
    SKIP) printf 'ok %d - %s # SKIP %s\n' "$num" "$desc" "$esc_detail" ;;
    *) printf 'not ok %d - %s: %s (%s)\n' "$num" "$desc" "$verdict" "$esc_detail" ;;
  esac
  if [[ $verdict != PASS ]]; then
    local q_detail q_log
    yaml_quote q_detail "$detail"
    yaml_quote q_log "$log"
    printf '  ---\n'
    printf '  verdict: %s\n' "$verdict"
    printf '  reason: %s\n' "$q_detail"
    printf '  log: %s\n' "$q_log"
    printf '  duration_ms: %d\n' "$ms"
    printf '  ...\n'
  fi
}

xml_escape() {
  local s=$1
  s=${s//&/&amp;}
  s=${s//</&lt;}
  s=${s//>/&gt;}
  s=${s//\"/&quot;}
  printf '%s' "$s"
}

# junit_write FILE SUITE_NAME WALL_SECONDS: JUnit XML from the arrays the
# runner fills (R_NAME, R_VERDICT, R_DETAIL, R_LOG, R_SECS, R_GROUPS, in
# completion order). FAIL maps to <failure>; ERROR, CRASH, TIMEOUT and
# INTERRUPTED to <error>, so CI tells a broken subject from a broken run.
junit_write() {
  local file=$1 suite=$2 wall=$3 i
  local total=${#R_NAME[@]} failures=0 errors=0 skipped=0
  for i in "${!R_NAME[@]}"; do
    case ${R_VERDICT[i]} in
      PASS) ;;
      FAIL) failures=$((failures + 1)) ;;
      SKIP) skipped=$((skipped + 1)) ;;
      *) errors=$((errors + 1)) ;;
    esac
  done
  {
    printf '<?xml version="1.0" encoding="UTF-8"?>\n'
    printf '<testsuites name="%s" tests="%d" failures="%d" errors="%d" skipped="%d" time="%s">\n' \
      "$(xml_escape "$suite")" "$total" "$failures" "$errors" "$skipped" "$wall"
    printf '  <testsuite name="%s" tests="%d" failures="%d" errors="%d" skipped="%d" time="%s" timestamp="%s" hostname="%s">\n' \
      "$(xml_escape "$suite")" "$total" "$failures" "$errors" "$skipped" "$wall" \
      "$(date -u +%Y-%m-%dT%H:%M:%S)" "$(xml_escape "$(uname -n)")"
    for i in "${!R_NAME[@]}"; do
      local name detail v
      name=$(xml_escape "${R_NAME[i]}") detail=$(xml_escape "${R_DETAIL[i]}") v=${R_VERDICT[i]}
      printf '    <testcase classname="%s" name="%s" time="%s">\n' \
        "$(xml_escape "$suite.${R_GROUPS[i]:-default}")" "$name" "${R_SECS[i]}"
      case $v in
        PASS) ;;
        SKIP) printf '      <skipped message="%s"/>\n' "$detail" ;;
        FAIL) printf '      <failure type="FAIL" message="%s"/>\n' "$detail" ;;
        *) printf '      <error type="%s" message="%s"/>\n' "$v" "$detail" ;;
      esac
      if [[ -f ${R_LOG[i]} ]]; then
        printf '      <system-out>'
        clean_text "${R_LOG[i]}" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'
        printf '</system-out>\n'
      fi
      printf '    </testcase>\n'
    done
    printf '  </testsuite>\n</testsuites>\n'
  } >"$file"
}
