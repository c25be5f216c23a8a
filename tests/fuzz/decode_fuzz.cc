// Bounded differential fuzzer: lib/cpu/decode vs. Capstone.
//
// Inputs are random 15-byte strings biased toward the claimed subset (legacy
// and REX prefixes in any order, claimed opcodes, random ModRM/SIB tails),
// pure random strings, and mutations of the host test's encoding table.
// Stops after FUZZ_SECONDS (default 20) or FUZZ_INPUTS inputs, whichever comes
// first; FUZZ_SEED makes a run reproducible. Exits 1 on any disagreement.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "decode_cases.h"
#include "decode_diff.h"

namespace {

uint64_t g_state;

uint64_t next() {
  g_state ^= g_state >> 12;
  g_state ^= g_state << 25;
  g_state ^= g_state >> 27;
  return g_state * 0x2545f4914f6cdd1dull;
}
unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }

constexpr uint8_t kLegacyPrefixes[] = {0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e,
                                       0x36, 0x3e, 0x26, 0x64, 0x65};
constexpr uint8_t kHandlerPrimary[] = {0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0xa0, 0xa1,
                                       0xa2, 0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0x6c, 0x6d,
                                       0x6e, 0x6f, 0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed,
                                       0xee, 0xef, 0xf4};
constexpr uint8_t kHandler0f[] = {0xb6, 0xb7, 0xbe, 0xbf, 0xa2, 0x30, 0x31,
                                  0x32, 0x01, 0x09, 0x21, 0x23};

uint8_t random_prefix() {
  return below(3) == 0 ? static_cast<uint8_t>(0x40 | below(16))
                       : kLegacyPrefixes[below(sizeof(kLegacyPrefixes))];
}

void fill_random(uint8_t* buf, unsigned from) {
  for (unsigned i = from; i < x86::kMaxInsnLength; i++) buf[i] = static_cast<uint8_t>(next());
}

void biased(uint8_t* buf) {
  unsigned n = 0;
  // Mostly few prefixes; sometimes a long run to reach the 15-byte limit.
  const unsigned prefixes = below(8) == 0 ? below(15) : below(4);
  for (unsigned i = 0; i < prefixes; i++) buf[n++] = random_prefix();
  if (n < x86::kMaxInsnLength) {
    switch (below(4)) {
      case 0: buf[n++] = kHandlerPrimary[below(sizeof(kHandlerPrimary))]; break;
      case 1:
        buf[n++] = 0x0f;
        if (n < x86::kMaxInsnLength) buf[n++] = kHandler0f[below(sizeof(kHandler0f))];
        break;
      case 2:
        buf[n++] = 0x0f;
        if (n < x86::kMaxInsnLength) buf[n++] = static_cast<uint8_t>(next());
        break;
      default: buf[n++] = static_cast<uint8_t>(next()); break;
    }
  }
  fill_random(buf, n);
}

void mutated(uint8_t* buf) {
  const decode_cases::Case& c = decode_cases::kCases[below(decode_cases::kNumCases)];
  uint8_t enc[x86::kMaxInsnLength];
  const unsigned n = decode_cases::parse_hex(c.hex, enc, sizeof(enc));
  fill_random(buf, 0);
  memcpy(buf, enc, n);
  const unsigned edits = 1 + below(3);
  for (unsigned e = 0; e < edits; e++) {
    const unsigned at = n ? below(n) : 0;
    switch (below(4)) {
      case 0: buf[at] = static_cast<uint8_t>(next()); break;
      case 1: buf[at] ^= static_cast<uint8_t>(1u << below(8)); break;
      case 2:  // insert a prefix
        memmove(buf + 1, buf, x86::kMaxInsnLength - 1);
        buf[0] = random_prefix();
        break;
      default:  // drop the first byte
        memmove(buf, buf + 1, x86::kMaxInsnLength - 1);
        buf[x86::kMaxInsnLength - 1] = static_cast<uint8_t>(next());
        break;
    }
  }
}

unsigned long env_or(const char* name, unsigned long dflt) {
  const char* v = getenv(name);
  return v && *v ? strtoul(v, nullptr, 0) : dflt;
}

struct Tally {
  unsigned long tried = 0, agree = 0, disagree = 0, skipped = 0, deviations = 0;
  unsigned long max_reports = 25;
  struct Class {
    const char* name;
    unsigned long count;
  } classes[16] = {};

  void add(const uint8_t* buf, const decode_diff::Result& r) {
    tried++;
    switch (r.verdict) {
      case decode_diff::Verdict::agree: agree++; break;
      case decode_diff::Verdict::skipped: skipped++; break;
      case decode_diff::Verdict::oracle_deviation:
        deviations++;
        for (Class& c : classes) {
          if (!c.name || strcmp(c.name, r.deviation) == 0) {
            c.name = r.deviation;
            c.count++;
            break;
          }
        }
        break;
      case decode_diff::Verdict::disagree: {
        char h[64];
        decode_diff::hex(buf, x86::kMaxInsnLength, h, sizeof(h));
        if (disagree++ < max_reports) printf("DISAGREE %s: %s\n", h, r.why);
        break;
      }
    }
  }
};

}  // namespace

int main() {
  const unsigned long seconds = env_or("FUZZ_SECONDS", 20);
  const unsigned long max_inputs = env_or("FUZZ_INPUTS", 0);
  const unsigned long seed = env_or("FUZZ_SEED", static_cast<unsigned long>(time(nullptr)));
  Tally t;
  t.max_reports = env_or("FUZZ_REPORTS", 25);
  g_state = seed | 1;
  if (!decode_diff::init()) {
    fprintf(stderr, "cannot open capstone\n");
    return 2;
  }

  const time_t end = time(nullptr) + static_cast<time_t>(seconds);
  uint8_t buf[x86::kMaxInsnLength];

  // The table itself first, unmutated.
  for (unsigned i = 0; i < decode_cases::kNumCases; i++) {
    fill_random(buf, 0);
    decode_cases::parse_hex(decode_cases::kCases[i].hex, buf, sizeof(buf));
    t.add(buf, decode_diff::compare(buf, sizeof(buf)));
  }

  for (;;) {
    if (max_inputs && t.tried >= max_inputs) break;
    if ((t.tried & 0xfff) == 0 && time(nullptr) >= end) break;
    switch (below(5)) {
      case 0: fill_random(buf, 0); break;
      case 1: case 2: mutated(buf); break;
      default: biased(buf); break;
    }
    t.add(buf, decode_diff::compare(buf, sizeof(buf)));
  }
  decode_diff::fini();
  printf("seed %lu: inputs tried %lu, agreements %lu, disagreements %lu, "
         "skipped(not claimed) %lu, known capstone deviations %lu\n",
         seed, t.tried, t.agree, t.disagree, t.skipped, t.deviations);
  for (const Tally::Class& c : t.classes) {
    if (c.name) printf("  capstone deviation: %s: %lu\n", c.name, c.count);
  }
  return t.disagree ? 1 : 0;
}
