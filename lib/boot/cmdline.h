// A command line to argv, the same for every entry (lib/boot/chain.h).
//
// The text is bytes, UTF-8 as far as the loader gave it: the PVH entry
// passes hvm_start_info's string as it is; the UEFI entry first turns its
// UTF-16 LoadOptions into UTF-8 (lib/efi/utf16.h). Only ASCII bytes are
// special, and no byte of a multi-byte UTF-8 sequence is ASCII, so the
// rules below work on bytes and leave every other character intact.
//
// How argv[0] is decided: argv[0] is always `program_name`, the test's
// built-in name. The UEFI Shell passes the whole command line, program name
// first; QEMU's -kernel boot passes only what -append gave, with no program
// name. The first word is therefore dropped when its last path component,
// without a trailing ".efi" (case-insensitive), equals `program_name`;
// scripts/run always puts the test name first, so an argument that happens
// to equal the name is still kept.
//
// Word splitting follows the UEFI Shell: spaces and tabs separate words,
// double quotes group, and ^ escapes the next character (so ^" is a literal
// quote). Parsing stops at the first NUL or at `size`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace boot {

enum class ArgvStatus : uint32_t {
  ok = 0,
  too_long,          // the words do not fit in the buffer
  too_many_args,     // more than max_args words
  unterminated_quote,
};

struct Argv {
  int argc;
  char** argv;  // argv[argc] == nullptr
};

// Writes the strings into buf[0..buf_size) and the pointers into
// argv[0..max_args]; max_args counts argv[0] and excludes the final nullptr.
// `text` may be null when `size` is 0.
ArgvStatus parse_cmdline(const char* text, size_t size, const char* program_name, char* buf,
                         size_t buf_size, char** argv, int max_args, Argv* out);

const char* argv_status_str(ArgvStatus s);

}  // namespace boot
