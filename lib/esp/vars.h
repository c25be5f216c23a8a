// The UEFI variables through which the batch runner (efi/runner.cc) and the
// tests it boots talk across resets, and their byte encodings.
//
// All live under the project's vendor GUID (UEFI 2.10 §8.2: a vendor's
// variables are named by its own GUID):
//
//   EfitestProgress  NV+BS+RT  runner -> runner   where the run stands
//   EfitestLaunch    BS+RT     runner -> test     "the runner started you"
//                              (volatile: gone after the reset that ends
//                              the test, so a later boot of the same image
//                              outside the runner never sees it)
//   EfitestVerdict   NV+BS+RT  test -> runner     verdict and counts,
//                              written by platform_exit just before reset
//
// Every record is little-endian: magic (4 bytes), version (2), payload
// size (2), payload, then FNV-1a-32 over everything before it. Decoders
// refuse a wrong magic, version, size or checksum, so stale or torn data
// reads as "absent" rather than as a result.
#pragma once

#include <cstddef>
#include <cstdint>

#include "efi/efi.h"
#include "result/outcome.h"
#include "rt/verdict.h"

namespace esp {

// afa26b38-c841-4791-8ede-06bc36289b29
inline constexpr efi::Guid kVendorGuid{
    0xafa26b38, 0xc841, 0x4791, {0x8e, 0xde, 0x06, 0xbc, 0x36, 0x28, 0x9b, 0x29}};
inline constexpr char16_t kProgressVar[] = u"EfitestProgress";
inline constexpr char16_t kLaunchVar[] = u"EfitestLaunch";
inline constexpr char16_t kVerdictVar[] = u"EfitestVerdict";

inline constexpr uint32_t kNvAttrs = efi::kVariableNonVolatile |
                                     efi::kVariableBootserviceAccess |
                                     efi::kVariableRuntimeAccess;
inline constexpr uint32_t kVolatileAttrs =
    efi::kVariableBootserviceAccess | efi::kVariableRuntimeAccess;

// What the runner records per test: the guest's verdicts plus the three
// that only the runner can see.
// The outcomes are the shared ones (result/outcome.h).
using result::Outcome;
using result::outcome_of;
using result::outcome_str;

struct Progress {
  enum class State : uint8_t { idle = 0, in_flight = 1 };
  State state = State::idle;
  uint32_t manifest_hash = 0;
  // idle: the next entry to run; in_flight: the entry that is running.
  uint32_t next = 0;
  // Incremented per launch; a verdict counts only for its own launch.
  uint32_t launch_seq = 0;
  uint32_t timeout_s = 0;  // of the in-flight test
  uint64_t started = 0;    // seconds since 1970 (RTC) when it was launched
  uint64_t run_started = 0;
};

struct Launch {
  uint32_t index = 0;
  uint32_t launch_seq = 0;
};

struct VerdictRecord {
  uint32_t index = 0;
  uint32_t launch_seq = 0;
  Verdict verdict = Verdict::error;
  uint32_t tests = 0, failures = 0, xfailures = 0, skipped = 0;
};

constexpr size_t kRecordHeader = 8, kRecordTrailer = 4;
constexpr size_t kProgressSize = kRecordHeader + 36 + kRecordTrailer;
constexpr size_t kLaunchSize = kRecordHeader + 8 + kRecordTrailer;
constexpr size_t kVerdictSize = kRecordHeader + 28 + kRecordTrailer;

void encode(const Progress& p, uint8_t (&out)[kProgressSize]);
void encode(const Launch& l, uint8_t (&out)[kLaunchSize]);
void encode(const VerdictRecord& v, uint8_t (&out)[kVerdictSize]);
[[nodiscard]] bool decode(const uint8_t* data, size_t size, Progress* out);
[[nodiscard]] bool decode(const uint8_t* data, size_t size, Launch* out);
[[nodiscard]] bool decode(const uint8_t* data, size_t size, VerdictRecord* out);

// Seconds since 1970-01-01 of a calendar date and time (proleptic
// Gregorian), for EFI_TIME (UEFI 2.10 §8.3.1) as GetTime() returns it.
// Returns 0 for fields out of range.
uint64_t epoch_seconds(uint16_t year, uint8_t month, uint8_t day, uint8_t hour, uint8_t minute,
                       uint8_t second);

}  // namespace esp
