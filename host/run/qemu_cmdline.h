// The QEMU command line of one test: where QEMU and the firmware are
// (environment, then config.mak, then Debian's paths), the firmware
// profile's arguments (pflash, bios, secboot with a signed copy of each
// image), the base machine, and the user's arguments with their
// replace-or-append rules:
//   -cpu, -m, -smp      replace the defaults (max, 256M, 1)
//   -accel, -enable-kvm, -machine accel=   choose the accelerator
//   -append ARGS        not passed on: ARGS become the test's arguments
//   -bios FILE          the bios profile with FILE
//   -kernel, -pflash    refused: the runner sets them
// everything else is appended after QEMU_EXTRA.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace run {

inline constexpr const char* kDefaultCpu = "max";
inline constexpr const char* kDefaultMem = "256M";
inline constexpr const char* kDefaultSmp = "1";
inline constexpr const char* kFirmwareProfiles = "pflash bios secboot";

// The value of a `KEY=value` (or `KEY := value`, `KEY ?= value`) line of
// a make-syntax file, read as data; trailing blanks dropped.
std::optional<std::string> config_get(const std::string& file, const std::string& key);

// Where a setting comes from: an override (e.g. -bios FILE), then the
// environment (non-empty), then config.mak (non-empty), then a default.
class Settings {
 public:
  explicit Settings(std::string config_mak) : config_(std::move(config_mak)) {}
  void set(const std::string& key, const std::string& value) { overrides_[key] = value; }
  std::string get(const std::string& key, const std::string& fallback) const;
  // Set by an override, the environment or config.mak.
  bool given(const std::string& key) const;

 private:
  std::string config_;
  std::map<std::string, std::string> overrides_;
};

struct Tools {
  std::string qemu;  // as configured: a name on PATH or a path
  std::string qemu_path;  // where it was found
  std::string firmware;  // the profile
  std::string secboot_key, secboot_cert;
  std::vector<std::string> firmware_args;
  std::vector<std::string> firmware_files;  // their contents key a snapshot
  // The settled values of QEMU, FIRMWARE, OVMF_CODE, ..., SECBOOT_CERT.
  std::map<std::string, std::string> vars;
};

// The names `--find-tools` prints, in order.
extern const char* const kToolVars[9];

// Finds QEMU and the firmware profile's files. false with *error, the
// line to print ("error: ..."), when something is missing; the run then
// ends with status 99.
bool find_tools(const std::string& top, const Settings& s, Tools* out, std::string* error);

// The image the firmware starts for `src`: src itself, or under secboot a
// copy signed into `dst` (by sbsign). false with *error otherwise.
bool firmware_image(const Tools& t, const std::string& src, const std::string& dst, std::string* image,
                    std::string* error);

// QEMU splits option values on commas; a literal comma is written twice.
std::string qemu_escape(const std::string& s);

// The machine without the accelerator, sizes and image: -nodefaults, q35,
// the firmware, isa-debug-exit, the serial port on stdio, -no-reboot.
std::vector<std::string> base_args(const std::vector<std::string>& firmware_args);

struct UserArgs {
  std::vector<std::string> args;  // passed to QEMU, in order
  std::string test_args;          // of -append
  bool have_append = false, have_cpu = false, have_mem = false, have_smp = false, have_accel = false;
  std::string user_accel;  // the accelerator they name (kvm, tcg, ...)
  std::string bios;        // of -bios FILE
};
// false with *error (e.g. "-append given twice").
bool parse_user_args(const std::vector<std::string>& in, UserArgs* out, std::string* error);

// base + the defaults the user did not replace + extra + the user's.
std::vector<std::string> machine_args(const std::vector<std::string>& base, const UserArgs& user,
                                      const std::vector<std::string>& extra);

// Blank-separated words (QEMU_EXTRA).
std::vector<std::string> split_blanks(const std::string& s);

// One line a shell reads back as the same words; plain words unquoted.
std::string shell_quote(const std::vector<std::string>& words);

// Durations in the cfg's forms (90, 90s, 1.5m, 2h, 1d) as seconds.
bool parse_duration(const std::string& s, double* seconds);

// A run's TIMEOUT or SNAPSHOT_BUILD_TIMEOUT: N or N.N with an optional
// s, m, h or d; 0 is allowed (TIMEOUT=0: no limit).
bool parse_run_duration(const std::string& s, double* seconds);

// Seconds as the runners print them: 90, 1.5.
std::string seconds_text(double s);

}  // namespace run
