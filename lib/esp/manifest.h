// The ESP manifest: the unittests.cfg selection an ESP image was built for.
//
// scripts/esp/mkmanifest.sh writes it on the host (from the record stream
// of the cfg parser) to \efitest\manifest.txt; the batch runner
// (efi/runner.cc) reads it on every boot. Plain text, one record a line,
// fields separated by one TAB, lines ending in LF (CR LF accepted):
//
//   efitest-manifest 1                      first line: format and version
//   end <action>                            poweroff | wait, once, optional
//   test <name> <timeout> <image> <cmdline> a test to boot
//   skip <name> <reason>                    recorded as SKIP, never booted
//   # ...                                   comment; blank lines ignored
//
// <timeout> is whole seconds (> 0). <image> is the path on the ESP with
// backslashes (\efitest\x86\msr.efi). <cmdline> is the rest of the line,
// verbatim: the LoadOptions text, image name first, exactly as scripts/run
// passes it with -append (lib/boot/cmdline.h drops that first word into
// argv[0]). Tests run in file order; the order is the test's index.
#pragma once

#include <cstdint>

#include "esp/textbuf.h"

namespace esp {

enum class EndAction : uint8_t { poweroff, wait };

struct ManifestEntry {
  Str name;
  Str image;        // empty for a skip record
  Str cmdline;
  Str skip_reason;  // non-empty: never booted
  uint32_t timeout_s = 0;
};

struct Manifest {
  EndAction end = EndAction::poweroff;
  uint32_t count = 0;
  // FNV-1a of the whole file: the runner's progress belongs to one
  // manifest, and a different stick (or a rebuilt one) starts afresh.
  uint32_t hash = 0;
};

struct ManifestError {
  uint32_t line = 0;  // 1-based
  const char* message = nullptr;
};

// Parses `text` into entries[0..capacity). Strings point into `text`.
// Returns false with `err` set on the first malformed line or when there
// are more than `capacity` entries.
bool parse_manifest(Str text, ManifestEntry* entries, uint32_t capacity, Manifest* out,
                    ManifestError* err);

uint32_t fnv1a32(Str data);

}  // namespace esp
