#include "record.h"

#include <algorithm>
#include <cstdlib>

namespace run {

std::string Record::text() const {
  auto line = [](const char* k, const std::string& v) {
    std::string clean = v;
    std::replace(clean.begin(), clean.end(), '\n', ' ');
    return std::string(k) + "=" + clean + "\n";
  };
  std::string s = line("verdict", result::outcome_str(outcome)) + line("detail", detail) + line("accel", accel) +
                  line("timeout", timeout) + line("boot", boot) + line("boot_reason", boot_reason);
  if (have_counts) {
    s += "tests=" + std::to_string(counts.tests) + "\nfailures=" + std::to_string(counts.failures) +
         "\nxfailures=" + std::to_string(counts.xfailures) + "\nskipped=" + std::to_string(counts.skipped) + "\n";
  }
  return s;
}

bool Record::parse(const std::string& text, Record* out) {
  Record r;
  bool have_verdict = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    auto number = [&](uint32_t* n) {
      *n = static_cast<uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
      r.have_counts = true;
    };
    if (k == "verdict") {
      have_verdict = result::parse_outcome(result::Str(v.data(), v.size()), &r.outcome);
    } else if (k == "detail") {
      r.detail = v;
    } else if (k == "accel") {
      r.accel = v;
    } else if (k == "timeout") {
      r.timeout = v;
    } else if (k == "boot") {
      r.boot = v;
    } else if (k == "boot_reason") {
      r.boot_reason = v;
    } else if (k == "tests") {
      number(&r.counts.tests);
    } else if (k == "failures") {
      number(&r.counts.failures);
    } else if (k == "xfailures") {
      number(&r.counts.xfailures);
    } else if (k == "skipped") {
      number(&r.counts.skipped);
    }
  }
  if (!have_verdict) return false;
  *out = r;
  return true;
}

}  // namespace run
