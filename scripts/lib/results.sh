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

# The guest's check lines (PASS:, FAIL:, SKIP:, XFAIL:, XPASS:) of a log.
check_lines() {
  clean_text "$1" | grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS): ' || true
}

# In a TAP description, '#' starts a directive unless escaped.
tap_escape() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//#/\\#}"
}

# A YAML single-quoted scalar.
yaml_quote() {
  printf "'%s'" "${1//\'/\'\'}"
}

# tap_test NUMBER NAME VERDICT DETAIL LOG DURATION_MS: one test line, with
# the guest's checks as an indented subtest before it (the layout prove and
# Test::More use) and a YAML block after anything that is not a pass.
tap_test() {
  local num=$1 name=$2 verdict=$3 detail=$4 log=$5 ms=$6
  local line n=0 kind msg
  if [[ -f $log ]]; then
    while IFS= read -r line; do
      kind=${line%%:*} msg=$(tap_escape "${line#*: }")
      if ((n == 0)); then printf '    # Subtest: %s\n' "$(tap_escape "$name")"; fi
      n=$((n + 1))
      case $kind in
        PASS) printf '    ok %d - %s\n' "$n" "$msg" ;;
        FAIL) printf '    not ok %d - %s\n' "$n" "$msg" ;;
        SKIP) printf '    ok %d - %s # SKIP\n' "$n" "$msg" ;;
        XFAIL) printf '    not ok %d - %s # TODO expected failure\n' "$n" "$msg" ;;
        XPASS) printf '    not ok %d - %s (unexpected pass)\n' "$n" "$msg" ;;
      esac
    done < <(check_lines "$log")
    if ((n > 0)); then printf '    1..%d\n' "$n"; fi
  fi
  local desc
  desc=$(tap_escape "$name")
  case $verdict in
    PASS) printf 'ok %d - %s (%s)\n' "$num" "$desc" "$(tap_escape "$detail")" ;;
    SKIP) printf 'ok %d - %s # SKIP %s\n' "$num" "$desc" "$(tap_escape "$detail")" ;;
    *) printf 'not ok %d - %s: %s (%s)\n' "$num" "$desc" "$verdict" "$(tap_escape "$detail")" ;;
  esac
  if [[ $verdict != PASS ]]; then
    printf '  ---\n'
    printf '  verdict: %s\n' "$verdict"
    printf '  reason: %s\n' "$(yaml_quote "$detail")"
    printf '  log: %s\n' "$(yaml_quote "$log")"
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
