#include "rt/report.h"

#include <cstdarg>

#include "boot/bootinfo.h"
#include "cpu/desc.h"
#include "cpu/processor.h"
#include "rt/console.h"
#include "rt/exit.h"
#include "rt/format.h"
#include "rt/string.h"
#include "smp/percpu.h"

namespace {

constexpr unsigned kPrefixBuf = 256;
constexpr unsigned kMaxDepth = 16;

// Prefixes are per CPU: a line carries the prefix of the CPU that prints
// it. A CPU changes only its own stack, but for report_prefix_hand_over,
// which writes an idle CPU's.
struct PrefixStack {
  char text[kPrefixBuf];
  unsigned len;
  unsigned marks[kMaxDepth];
  unsigned depth;
};
constinit PrefixStack prefixes[desc::kMaxCpus] = {};

PrefixStack& stack_of(unsigned cpu) { return prefixes[cpu < desc::kMaxCpus ? cpu : 0]; }
PrefixStack& my_stack() { return stack_of(smp::current_cpu()); }

struct ReportState {
  ReportCounts counts;
  bool summary_printed;
};
constinit ReportState st = {};
// Several CPUs may report at once: the counters and each line are updated
// under this lock, so lines do not interleave and counts are not lost. The
// holder may take it again (a fault while printing still reports).
constinit smp::CpuLock lock;

void vline(const char* kind, const char* fmt, va_list ap) {
  printf("%s: %s", kind, my_stack().text);
  vprintf(fmt, ap);
  printf("\n");
}

void record(bool pass, const char* fmt, va_list ap) {
  smp::CpuLockGuard g(lock);
  ++st.counts.tests;
  if (!pass) ++st.counts.failures;
  vline(pass ? "PASS" : "FAIL", fmt, ap);
}

}  // namespace

const char* verdict_str(Verdict v) {
  switch (v) {
    case Verdict::pass: return "PASS";
    case Verdict::skip: return "SKIP";
    case Verdict::error: return "ERROR";
    case Verdict::fail: return "FAIL";
  }
  return "?";
}

void report(bool pass, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  record(pass, fmt, ap);
  va_end(ap);
}

void report_pass(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  record(true, fmt, ap);
  va_end(ap);
}

void report_fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  record(false, fmt, ap);
  va_end(ap);
}

void report_skip(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  smp::CpuLockGuard g(lock);
  ++st.counts.tests;
  ++st.counts.skipped;
  vline("SKIP", fmt, ap);
  va_end(ap);
}

void report_xfail(bool xfail, bool pass, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  smp::CpuLockGuard g(lock);
  ++st.counts.tests;
  const char* kind;
  if (!xfail) {
    kind = pass ? "PASS" : "FAIL";
    if (!pass) ++st.counts.failures;
  } else if (pass) {
    kind = "XPASS";
    ++st.counts.failures;
  } else {
    kind = "XFAIL";
    ++st.counts.xfailures;
  }
  vline(kind, fmt, ap);
  va_end(ap);
}

void report_info(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  smp::CpuLockGuard g(lock);
  vline("INFO", fmt, ap);
  va_end(ap);
}

void report_prefix_pushf(const char* fmt, ...) {
  smp::CpuLockGuard g(lock);
  PrefixStack& p = my_stack();
  if (p.depth < kMaxDepth) p.marks[p.depth] = p.len;
  ++p.depth;
  va_list ap;
  va_start(ap, fmt);
  unsigned room = kPrefixBuf - p.len;
  int n = rt::vsnprintf(p.text + p.len, room, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  unsigned len = static_cast<unsigned>(n) < room ? static_cast<unsigned>(n) : room - 1;
  p.len += len;
  if (p.len + 2 < kPrefixBuf) {
    p.text[p.len++] = ':';
    p.text[p.len++] = ' ';
  }
  p.text[p.len] = 0;
}

void report_prefix_push(const char* prefix) { report_prefix_pushf("%s", prefix); }

void report_prefix_pop() {
  smp::CpuLockGuard g(lock);
  PrefixStack& p = my_stack();
  if (p.depth == 0) return;
  --p.depth;
  if (p.depth < kMaxDepth) p.len = p.marks[p.depth];
  p.text[p.len] = 0;
}

const char* report_prefix() { return my_stack().text; }

void report_prefix_hand_over(unsigned cpu) {
  const unsigned me = smp::current_cpu();
  if (cpu == me || cpu >= desc::kMaxCpus) return;
  smp::CpuLockGuard g(lock);
  const PrefixStack& from = stack_of(me);
  PrefixStack& to = stack_of(cpu);
  memcpy(to.text, from.text, from.len + 1);
  to.len = from.len;
  to.depth = 0;  // what is handed over cannot be popped by the callee
}

void report_abort(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lock.lock();
  vline("ERROR", fmt, ap);
  va_end(ap);
  st.summary_printed = true;  // an abort has no meaningful summary
  platform_exit(Verdict::error);
}

ReportCounts report_counts() { return st.counts; }

Verdict report_verdict() {
  const ReportCounts& c = st.counts;
  if (c.failures) return Verdict::fail;
  if (c.tests == 0) return Verdict::error;
  if (c.skipped == c.tests) return Verdict::skip;
  return Verdict::pass;
}

int report_summary() {
  smp::CpuLockGuard g(lock);
  const ReportCounts& c = st.counts;
  if (!st.summary_printed) {
    st.summary_printed = true;
    if (c.tests == 0) printf("ERROR: no checks were made: the test proved nothing\n");
    if (c.xfailures)
      printf("SUMMARY: %u tests, %u unexpected failures, %u expected failures, %u skipped\n",
             c.tests, c.failures, c.xfailures, c.skipped);
    else
      printf("SUMMARY: %u tests, %u unexpected failures, %u skipped\n", c.tests, c.failures,
             c.skipped);
  }
  return exit_code(report_verdict());
}

bool report_summary_printed() { return st.summary_printed; }

void exit(int code) {
  const int summary = report_summary();
  platform_exit(worse(verdict_of_exit_code(code), verdict_of_exit_code(summary)));
}

bool require_qemu_device(const char* what) {
  const BootInfo& bi = boot_info();
  if (bi.on_qemu) return true;
  report_skip("%s: needs a QEMU device, not on QEMU (hypervisor %s%s)", what,
              cpu::hypervisor_str(bi.hypervisor), bi.fw_cfg_probed ? ", no fw_cfg signature" : "");
  return false;
}
