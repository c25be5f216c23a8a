// Measuring the TSC against a reference clock (the ACPI PM timer, the
// HPET), with every wait bounded. Portable: both counters are read through
// function pointers, so host tests drive it with fake clocks.
//
// Contract:
//  - measure_tsc() never waits unboundedly. Each wait ends on a TSC-cycle
//    bound and, in case the TSC itself does not advance, on a read count;
//    with the defaults one reference costs at most 2^26 + 2^32 + 2^30 TSC
//    cycles (under 2.1 s at 2.6 GHz), 20 ms when it works. Reaching a
//    bound is an outcome (RefStatus), never a hang.
//  - A reference that does not advance within Bounds::first_tick_cycles is
//    rejected before any round: it reads all ones (no device decodes the
//    address, e.g. PM1 I/O space left disabled by the firmware, or an
//    absent HPET) or stays at one value (a counter that was never started).
//  - The frequency is the median of Bounds::rounds_wanted rounds. A round
//    whose bracketing reads (TSC, reference, TSC) took far longer than the
//    median read, and long against the round, does not count: the vCPU
//    was descheduled, or an SMI ran, between the two reads, so the
//    midpoint does not date the reference read. Such rounds are retried,
//    at most Bounds::rounds_max in all.
#pragma once

#include <cstddef>
#include <cstdint>

namespace timer {

struct Counter {
  uint64_t (*read)(void* ctx) = nullptr;
  void* ctx = nullptr;
  uint64_t operator()() const { return read(ctx); }
};

struct RefClock {
  Counter counter;
  unsigned bits = 0;  // width, 1..64; the counter wraps at 2^bits
  uint64_t hz = 0;
};

struct Bounds {
  // The reference must tick within this many TSC cycles: 6.7 ms at 10 GHz,
  // against a PM timer tick of 280 ns and an HPET tick of at most 100 ns.
  uint64_t first_tick_cycles = 1ull << 26;
  // Reads before giving up when the TSC does not reach the bound above.
  uint64_t max_reads = 1ull << 20;
  // One round lasts round_ns of the reference and at most round_cycles of
  // the TSC (0.1 s at 10 GHz, 0.4 s at 2.6 GHz). Rounds are short so that
  // a vCPU that runs only a few ms at a time (a host with more vCPUs than
  // cores) still completes some undisturbed: one PM timer tick of 280 ns
  // is 0.03% of a round.
  uint64_t round_ns = 1'000'000;
  uint64_t round_cycles = 1ull << 30;
  unsigned rounds_wanted = 7;
  unsigned rounds_min = 3;  // fewer undisturbed rounds than this: too noisy
  unsigned rounds_max = 64;
  // No new round starts after this many TSC cycles of rounds (1.6 s at
  // 2.6 GHz), however many were disturbed.
  uint64_t total_cycles = 1ull << 32;
  // A bracket longer than this many times the median read is disturbed,
  // unless it is short against the round: a bracket of w cycles dates the
  // reference read to within w / 2, so one within max_error_ppm of the
  // round cannot skew it by more than that.
  unsigned bracket_factor = 8;
  unsigned max_error_ppm = 1000;
  // Results outside this range are not a TSC rate (x86-64 TSCs run between
  // a few hundred MHz and a few GHz); the reference's rate must be wrong.
  uint64_t min_hz = 100'000'000;
  uint64_t max_hz = 10'000'000'000;
};

enum class RefStatus : uint8_t {
  ok,
  all_ones,     // never advanced, and read all ones
  stuck,        // never advanced from `value`
  tsc_stuck,    // the TSC did not advance over max_reads reads
  too_slow,     // a round did not see round_ns of the reference in time
  too_noisy,    // fewer than rounds_min undisturbed rounds
  implausible,  // an undisturbed round or the median lies outside [min_hz, max_hz]
};
const char* ref_status_str(RefStatus s);

struct RefResult {
  RefStatus status = RefStatus::stuck;
  uint64_t hz = 0;           // the TSC frequency; also set when implausible
  uint64_t value = 0;        // stuck/all_ones: the value read
  unsigned kept = 0;         // rounds that counted
  unsigned rejected = 0;     // rounds with a disturbed bracket
  uint64_t read_cycles = 0;  // median bracket width, in TSC cycles
  uint64_t reads = 0;        // reference reads in all
};

RefResult measure_tsc(const RefClock& ref, const Counter& tsc, const Bounds& b = {});

// One reference in the order of preference: a clock to measure the TSC
// against, or a rate the platform states (CPUID), or the reason it has
// neither.
struct Candidate {
  const RefClock* clock = nullptr;
  uint64_t stated_hz = 0;
  const char* absent = nullptr;  // with clock == nullptr and stated_hz == 0
};

// What became of one candidate. `absent` is "not needed" for those after
// the one used.
struct Outcome {
  bool used = false;
  bool measured = false;  // result holds why it was (not) used
  const char* absent = nullptr;
  RefResult result;
};

// Tries the candidates in order until one gives a rate (a clock that
// passes measure_tsc, or a stated rate within [min_hz, max_hz]); fills
// out[0..n) and returns the index used, or n when none served. `hz`
// receives the rate (0 when none).
size_t choose_reference(const Candidate* c, size_t n, const Counter& tsc, Outcome* out,
                        uint64_t* hz, const Bounds& b = {});

}  // namespace timer
