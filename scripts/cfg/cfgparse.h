// Parser of unittests.cfg, the test list run_tests.sh works from.
//
// The format (docs/unittests-cfg.md) is the kvm-unit-tests one: `[name]`
// sections of `key = value` lines, `#` comment lines. Everything is checked
// before anything runs: a file with any error yields no tests at all, and
// every error names file:line.
//
// run_tests.sh does not parse the file itself; it reads the record stream
// of emit_records(), which needs no unquoting in the shell.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cfg {

struct Test {
  std::string name;
  int line = 0;  // of the [name] header
  std::string file;
  int file_line = 0;
  std::string smp;     // positive integer or "$MAX_SMP"; empty: default
  std::string memory;  // QEMU -m size such as 256M; empty: default
  std::vector<std::string> extra_params;  // QEMU arguments, already split
  std::string test_args;                  // guest arguments, verbatim
  std::vector<std::string> groups;
  std::string arch;     // x86_64 or i386; empty: any
  std::string accel;    // kvm or tcg; empty: any
  std::string boot;     // efi or pvh: the only entry it runs under; empty: any
  std::string timeout;  // duration such as 90s; empty: default
  std::vector<std::string> checks;  // host conditions "path=value"
  std::string skip_reason;
};

struct Error {
  int line = 0;
  std::string message;
};

struct ParseResult {
  std::vector<Test> tests;
  std::vector<Error> errors;
  bool ok() const { return errors.empty(); }
};

// Parses the whole file. On any error, `tests` is empty.
ParseResult parse(std::string_view text);

// Splits a string into words with the quoting rules of a POSIX shell
// ('...', "...", backslash) but no expansion. Characters that would make a
// shell do more than split words ($ ` ; | & < > ( )) are refused unless
// quoted, so that a value never means something different to a reader who
// assumes shell semantics. Returns false and sets `error` on bad input.
bool split_words(std::string_view s, std::vector<std::string>& words, std::string& error);

// Durations in the kvm-unit-tests forms: 90, 90s, 1.5m, 2h, 1d; > 0.
bool valid_duration(std::string_view s);

// The tests as a stream of NUL-terminated fields: "test", then one
// "key=value" field per scalar and one per list element (group=, arg=,
// check=), then "end". Values never contain NUL, so bash reads the stream
// with `read -r -d ''` and needs no unescaping.
std::string emit_records(const std::vector<Test>& tests);

std::string format_error(std::string_view filename, const Error& e);

}  // namespace cfg
