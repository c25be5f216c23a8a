// TSC measurement against a reference clock; the contract is in reference.h.
#include "timer/reference.h"

#include "timer/calibrate.h"

namespace timer {
namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr unsigned kCostSamples = 15;
// Bracket widths are measured at full resolution; a limit this small would
// reject rounds for ordinary jitter when the read is nearly free.
constexpr uint64_t kMinBracketSlack = 256;
constexpr unsigned kMaxRounds = 64;

// One reference read between two TSC reads.
struct Stamp {
  uint64_t before, ref, after;
  uint64_t width() const { return after - before; }
  // The TSC at the moment of the reference read, to within width() / 2.
  uint64_t mid() const { return before + width() / 2; }
};

Stamp stamp(const RefClock& ref, const Counter& tsc) {
  Stamp s;
  s.before = tsc();
  s.ref = ref.counter();
  s.after = tsc();
  return s;
}

uint64_t all_ones(unsigned bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }

}  // namespace

const char* ref_status_str(RefStatus s) {
  switch (s) {
    case RefStatus::ok: return "ok";
    case RefStatus::all_ones: return "reads all ones and does not advance";
    case RefStatus::stuck: return "does not advance";
    case RefStatus::tsc_stuck: return "the TSC does not advance";
    case RefStatus::too_slow: return "runs far slower than its stated rate";
    case RefStatus::too_noisy: return "too few undisturbed rounds";
    case RefStatus::implausible: return "gives an implausible TSC rate";
  }
  return "?";
}

RefResult measure_tsc(const RefClock& ref, const Counter& tsc, const Bounds& b) {
  RefResult res;
  const uint64_t mask = all_ones(ref.bits);

  // 1. Does it tick at all, within a bound on TSC cycles and on reads?
  {
    const uint64_t t0 = tsc();
    const uint64_t first = ref.counter() & mask;
    uint64_t t = t0;
    bool ticked = false;
    for (uint64_t i = 0; i < b.max_reads && t - t0 <= b.first_tick_cycles; ++i) {
      ++res.reads;
      if ((ref.counter() & mask) != first) {
        ticked = true;
        break;
      }
      t = tsc();
    }
    if (!ticked) {
      res.value = first;
      res.status = t == t0 ? RefStatus::tsc_stuck
                   : first == mask ? RefStatus::all_ones
                                   : RefStatus::stuck;
      return res;
    }
  }

  // 2. What an undisturbed read costs: the median of a few brackets.
  uint64_t widths[kCostSamples];
  for (auto& w : widths) w = stamp(ref, tsc).width();
  res.reads += kCostSamples;
  res.read_cycles = median(widths, kCostSamples);
  uint64_t limit = res.read_cycles * b.bracket_factor;
  if (limit < res.read_cycles + kMinBracketSlack) limit = res.read_cycles + kMinBracketSlack;

  // 3. Rounds of round_ns of the reference each.
  const uint64_t want = mul_div(ref.hz, b.round_ns, kNsPerSecond);
  uint64_t samples[kMaxRounds];
  const unsigned wanted = b.rounds_wanted < kMaxRounds ? b.rounds_wanted : kMaxRounds;
  const uint64_t rounds_start = tsc();
  for (unsigned round = 0; round < b.rounds_max && res.kept < wanted; ++round) {
    const Stamp start = stamp(ref, tsc);
    if (start.before - rounds_start > b.total_cycles) break;
    Stamp end;
    uint64_t ticks = 0;
    for (uint64_t reads = 1;; ++reads) {
      end = stamp(ref, tsc);
      ticks = counter_delta(start.ref, end.ref, ref.bits);
      if (ticks >= want && ticks != 0) {
        res.reads += reads + 1;
        break;
      }
      if (end.after - start.before > b.round_cycles || reads >= b.max_reads) {
        res.reads += reads + 1;
        res.value = ticks;
        res.status = end.after == start.before ? RefStatus::tsc_stuck : RefStatus::too_slow;
        return res;
      }
    }
    if (end.after == start.before) {
      res.status = RefStatus::tsc_stuck;
      return res;
    }
    const uint64_t span = end.mid() - start.mid();
    const uint64_t small = mul_div(span, b.max_error_ppm, 1'000'000);
    const uint64_t allowed = limit > small ? limit : small;
    if (start.width() > allowed || end.width() > allowed) {
      ++res.rejected;
      continue;
    }
    const uint64_t f = frequency_from(span, ticks, ref.hz);
    // An undisturbed round is a true measurement: if it is not a TSC rate,
    // the reference's stated rate is wrong, and more rounds will not help.
    if (f < b.min_hz || f > b.max_hz) {
      res.hz = f;
      res.status = RefStatus::implausible;
      return res;
    }
    samples[res.kept++] = f;
  }
  if (res.kept < b.rounds_min || res.kept == 0) {
    res.status = RefStatus::too_noisy;
    return res;
  }
  res.hz = median(samples, res.kept);
  res.status = res.hz < b.min_hz || res.hz > b.max_hz ? RefStatus::implausible : RefStatus::ok;
  return res;
}

size_t choose_reference(const Candidate* c, size_t n, const Counter& tsc, Outcome* out,
                        uint64_t* hz, const Bounds& b) {
  *hz = 0;
  size_t used = n;
  for (size_t i = 0; i < n; ++i) {
    Outcome& o = out[i];
    o = Outcome{};
    if (used != n) {
      o.absent = "not needed";
      continue;
    }
    if (c[i].clock) {
      o.measured = true;
      o.result = measure_tsc(*c[i].clock, tsc, b);
      if (o.result.status != RefStatus::ok) continue;
      *hz = o.result.hz;
    } else if (c[i].stated_hz) {
      if (c[i].stated_hz < b.min_hz || c[i].stated_hz > b.max_hz) {
        o.absent = "states an implausible rate";
        continue;
      }
      *hz = c[i].stated_hz;
    } else {
      o.absent = c[i].absent ? c[i].absent : "absent";
      continue;
    }
    o.used = true;
    used = i;
  }
  return used;
}

}  // namespace timer
