// Differential check of lib/cpu/decode against Capstone (64-bit mode).
//
// For one byte string: decode with both. Outside the claimed subset (our
// decoder says `unsupported`) the input is skipped. Inside it, the verdicts
// must match (ok vs. decoded, invalid/too_long vs. rejected), and for `ok`
// the length, displacement and immediate sizes, the ModRM memory operand
// (base, index, scale, displacement, RIP-relative, FS/GS override), the
// immediate values, and for the handler forms the register operands and
// access width must match too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace decode_diff {

// oracle_deviation: our decoder reports #UD where the SDM says #UD and
// Capstone decodes anyway (listed in decode_diff.cc); not a failure.
enum class Verdict { agree, disagree, skipped, oracle_deviation };

struct Result {
  Verdict verdict = Verdict::agree;
  const char* deviation = nullptr;  // the Capstone deviation class, if any
  char why[256] = {};               // filled on disagreement
};

bool init();  // opens Capstone; false if it cannot
void fini();
Result compare(const uint8_t* bytes, size_t len);
// "48 8b 05 ..." for messages.
void hex(const uint8_t* bytes, size_t len, char* out, size_t out_len);

}  // namespace decode_diff
