#!/usr/bin/env bash
# Runs the tests listed in unittests.cfg and reports per-test verdicts, TAP
# and JUnit (./run_tests.sh -h). The cfg format is described in
# docs/unittests-cfg.md.
#
# The runner is the host program's `suite` command (host/suite.cc): this
# front door only builds the program when a source is newer and hands over.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/host.sh
. "$top/scripts/lib/host.sh"

efitest=''
efitest_tool_to efitest "$top" || { echo "run_tests.sh: the host program is missing" >&2; exit 99; }
exec "$efitest" suite --top "$top" -- "$@"
