// libFuzzer entry (clang++ -fsanitize=fuzzer): the same differential check as
// the bounded driver, with coverage-guided inputs. Aborts on a disagreement so
// libFuzzer keeps the reproducer.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "decode_diff.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool ready = decode_diff::init();
  if (!ready || size == 0) return 0;
  // Zero-padded to 15 bytes: a short input is a prefix of an instruction,
  // not a fetch boundary.
  uint8_t buf[15] = {};
  memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
  decode_diff::Result r = decode_diff::compare(buf, sizeof(buf));
  if (r.verdict == decode_diff::Verdict::disagree) {
    fprintf(stderr, "DISAGREE: %s\n", r.why);
    abort();
  }
  return 0;
}
