#include "esp/vars.h"

#include "esp/manifest.h"

namespace esp {

namespace {

constexpr uint32_t kProgressMagic = 0x50544645;  // "EFTP"
constexpr uint32_t kLaunchMagic = 0x4c544645;    // "EFTL"
constexpr uint32_t kVerdictMagic = 0x56544645;   // "EFTV"
constexpr uint16_t kVersion = 1;

class Writer {
 public:
  Writer(uint8_t* out, uint32_t magic, uint16_t payload) : p_(out) {
    u32(magic);
    u16(kVersion);
    u16(payload);
  }
  void u8(uint8_t v) { p_[n_++] = v; }
  void u16(uint16_t v) { u8(v & 0xff), u8(v >> 8); }
  void u32(uint32_t v) { u16(v & 0xffff), u16(v >> 16); }
  void u64(uint64_t v) { u32(v & 0xffffffff), u32(v >> 32); }
  void finish() { u32(fnv1a32(Str(reinterpret_cast<const char*>(p_), n_))); }

 private:
  uint8_t* p_;
  size_t n_ = 0;
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t size, uint32_t magic, size_t want) {
    if (!data || size != want) return;
    p_ = data;
    end_ = size;
    size_t body = size - kRecordTrailer;
    uint32_t sum = fnv1a32(Str(reinterpret_cast<const char*>(data), body));
    n_ = body;
    if (u32() != sum) return;
    n_ = 0;
    ok_ = u32() == magic && u16() == kVersion && u16() == size - kRecordHeader - kRecordTrailer;
  }
  bool ok() const { return ok_; }
  uint8_t u8() { return n_ < end_ ? p_[n_++] : 0; }
  uint16_t u16() { uint16_t lo = u8(); return static_cast<uint16_t>(lo | u8() << 8); }
  uint32_t u32() { uint32_t lo = u16(); return lo | static_cast<uint32_t>(u16()) << 16; }
  uint64_t u64() { uint64_t lo = u32(); return lo | static_cast<uint64_t>(u32()) << 32; }

 private:
  const uint8_t* p_ = nullptr;
  size_t n_ = 0, end_ = 0;
  bool ok_ = false;
};

constexpr uint16_t payload(size_t total) {
  return static_cast<uint16_t>(total - kRecordHeader - kRecordTrailer);
}

}  // namespace

void encode(const Progress& p, uint8_t (&out)[kProgressSize]) {
  Writer w(out, kProgressMagic, payload(kProgressSize));
  w.u8(static_cast<uint8_t>(p.state));
  w.u8(0), w.u16(0);
  w.u32(p.manifest_hash);
  w.u32(p.next);
  w.u32(p.launch_seq);
  w.u32(p.timeout_s);
  w.u64(p.started);
  w.u64(p.run_started);
  w.finish();
}

bool decode(const uint8_t* data, size_t size, Progress* out) {
  Reader r(data, size, kProgressMagic, kProgressSize);
  if (!r.ok()) return false;
  uint8_t state = r.u8();
  if (state > 1) return false;
  r.u8(), r.u16();
  Progress p;
  p.state = static_cast<Progress::State>(state);
  p.manifest_hash = r.u32();
  p.next = r.u32();
  p.launch_seq = r.u32();
  p.timeout_s = r.u32();
  p.started = r.u64();
  p.run_started = r.u64();
  *out = p;
  return true;
}

void encode(const Launch& l, uint8_t (&out)[kLaunchSize]) {
  Writer w(out, kLaunchMagic, payload(kLaunchSize));
  w.u32(l.index);
  w.u32(l.launch_seq);
  w.finish();
}

bool decode(const uint8_t* data, size_t size, Launch* out) {
  Reader r(data, size, kLaunchMagic, kLaunchSize);
  if (!r.ok()) return false;
  out->index = r.u32();
  out->launch_seq = r.u32();
  return true;
}

void encode(const VerdictRecord& v, uint8_t (&out)[kVerdictSize]) {
  Writer w(out, kVerdictMagic, payload(kVerdictSize));
  w.u32(v.index);
  w.u32(v.launch_seq);
  w.u8(static_cast<uint8_t>(v.verdict));
  w.u8(0), w.u16(0);
  w.u32(v.tests);
  w.u32(v.failures);
  w.u32(v.xfailures);
  w.u32(v.skipped);
  w.finish();
}

bool decode(const uint8_t* data, size_t size, VerdictRecord* out) {
  Reader r(data, size, kVerdictMagic, kVerdictSize);
  if (!r.ok()) return false;
  VerdictRecord v;
  v.index = r.u32();
  v.launch_seq = r.u32();
  uint8_t verdict = r.u8();
  if (verdict > static_cast<uint8_t>(Verdict::fail)) return false;
  v.verdict = static_cast<Verdict>(verdict);
  r.u8(), r.u16();
  v.tests = r.u32();
  v.failures = r.u32();
  v.xfailures = r.u32();
  v.skipped = r.u32();
  *out = v;
  return true;
}

uint64_t epoch_seconds(uint16_t year, uint8_t month, uint8_t day, uint8_t hour, uint8_t minute,
                       uint8_t second) {
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 59)
    return 0;
  // Days from civil: March-based years put the leap day last.
  int64_t y = year - (month <= 2);
  int64_t era = y / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = (month + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  return static_cast<uint64_t>(days) * 86400 + hour * 3600u + minute * 60u + second;
}

}  // namespace esp
