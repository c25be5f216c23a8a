// LoadOptions (UCS-2/UTF-16) to a UTF-8 argv (boot phase 3).
//
// How argv[0] is decided: argv[0] is always `program_name`, the test's
// built-in name. The UEFI Shell passes the whole command line, program name
// first; QEMU's -kernel boot passes only what -append gave, with no program
// name. The first word of LoadOptions is therefore dropped when its last
// path component, without a trailing ".efi" (case-insensitive), equals
// `program_name`; scripts/run always puts the test name first, so an argument
// that happens to equal the name is still kept.
//
// Word splitting follows the UEFI Shell: spaces and tabs separate words,
// double quotes group, and ^ escapes the next character (so ^" is a literal
// quote). Surrogate pairs become 4-byte UTF-8; a lone surrogate becomes
// U+FFFD. Parsing stops at the first NUL or at `size_bytes`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace efi {

enum class CmdlineStatus : uint32_t {
  ok = 0,
  too_long,          // the UTF-8 text does not fit in the buffer
  too_many_args,     // more than max_args words
  unterminated_quote,
};

struct Cmdline {
  int argc;
  char** argv;  // argv[argc] == nullptr
};

// Writes the strings into buf[0..buf_size) and the pointers into
// argv[0..max_args]; max_args counts argv[0] and excludes the final nullptr.
CmdlineStatus parse_load_options(const void* load_options, size_t size_bytes,
                                 const char* program_name, char* buf, size_t buf_size,
                                 char** argv, int max_args, Cmdline* out);

const char* cmdline_status_str(CmdlineStatus s);

}  // namespace efi
