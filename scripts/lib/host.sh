# shellcheck shell=bash
# The host program build/efitest (host/main.cc): the per-test runner, the
# suite runner, the cfg parser and the result writers that the front doors
# call. It is built on demand from the sources host/SOURCES lists, so that
# a fresh clone needs nothing but a host compiler; `make` builds it too.

# config_get FILE KEY: value of a `KEY=value` (or `KEY := value`) line of a
# make-syntax file. The file is read as data, never sourced or evaluated.
config_get() {
  local file=$1 key=$2 line
  [[ -f $file ]] || return 1
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*[:?]?=[[:space:]]*(.*)$ ]] || continue
    [[ ${BASH_REMATCH[1]} == "$key" ]] || continue
    printf '%s\n' "${BASH_REMATCH[2]%"${BASH_REMATCH[2]##*[![:space:]]}"}"
    return 0
  done <"$file"
  return 1
}

# efitest_tool_to VAR TOP: sets VAR to the path of an up-to-date efitest,
# building it first when a source is newer. A tree without the sources
# (a copy of the runner alone) uses the binary it has.
efitest_tool_to() {
  local -n _tool=$1
  local top=$2 out=$2/build/efitest list=$2/host/SOURCES stale=0 f srcs=()
  if [[ -r $list ]]; then
    mapfile -t srcs <"$list"
    if [[ ! -x $out ]]; then
      stale=1
    else
      for f in "${srcs[@]}" "$top"/host/*.h "$top"/host/run/*.h "$top"/lib/result/*.h "$top"/scripts/cfg/*.h "$top"/scripts/image/*.h "$top"/scripts/esp/*.h "$top/lib/rt/verdict.h"; do
        if [[ $f != /* ]]; then f=$top/$f; fi
        if [[ $f -nt $out ]]; then stale=1; break; fi
      done
    fi
  elif [[ ! -x $out ]]; then
    echo "no $out and no sources to build it from" >&2
    return 1
  fi
  if ((stale)); then
    local cxx=${HOSTCXX:-} paths=()
    [[ -n $cxx ]] || cxx=$(config_get "$top/config.mak" HOSTCXX) || cxx="g++"
    for f in "${srcs[@]}"; do paths+=("$top/$f"); done
    mkdir -p "$top/build"
    # Built under a private name and renamed, so that concurrent runs never
    # execute a half-written binary.
    "$cxx" -std=c++20 -O2 -Wall -I"$top/host" -I"$top/lib" -I"$top/scripts" \
      -o "$out.tmp.$$" "${paths[@]}" >&2 || {
      rm -f "$out.tmp.$$"
      echo "cannot build $out with '$cxx' (install g++)" >&2
      return 1
    }
    mv -f "$out.tmp.$$" "$out"
  fi
  _tool=$out
}
