// The fast path's snapshot cache: the firmware boots once per VM shape,
// the VM is saved while efi/loader.efi waits on fw_cfg, and each test
// restores it with its image and command line as fw_cfg files.
//
// A snapshot is valid only for exactly the QEMU, firmware, loader and
// machine arguments it was taken with, so all of them go into its key
// (the "shape"). Whatever cannot be keyed sends the run down the cold
// path, with a one-line reason (args_reason).
//
// Guest RAM is not in the migration stream. The snapshot VM runs on a RAM
// file shared with QEMU (memory-backend-file, share=on), and the stream is
// saved with the x-ignore-shared capability, so it holds only device state
// and the small RAM blocks (firmware, variable store). A restore maps the
// RAM file privately (share=off): the guest faults in the pages it touches
// from the page cache, and its writes never reach the file. A restore
// therefore costs the same at any -m, and the file stays sparse.
//
// Cache layout, in SNAPSHOT_DIR (default build/snapshots):
//   <key>.state    the migration stream
//   <key>.ram      guest RAM at the moment of the save (sparse)
//   <key>.loader.efi  efi/loader.efi marked as a boot-service driver
//   <key>.shape    what the key was computed from; written last, so it is
//                  also the completion marker: a state without it is junk
//   <key>.lock     flock(2) lock held while the snapshot is built
//   <key>.failed   why the last build failed; honoured for a few minutes so
//                  that parallel runs do not all retry a hopeless build
//   <key>.*.tmp.*  a build in progress, or left behind by one that died
//   memo.<hash>    the key and shape last computed for these files and
//                  arguments
//   qemu-version.<hash>  `qemu --version` of one QEMU binary
//
// Readers take no lock: the state and the marker appear by rename(2), and
// a restore holds its own descriptor, so a rebuild never disturbs it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace run {
struct Tools;
}

namespace run::snapshot {

// fw_cfg names; efi/loader.cc polls for them.
inline constexpr const char* kFwCfgImage = "opt/efitest/test.efi";
inline constexpr const char* kFwCfgCmdline = "opt/efitest/cmdline";
// The loader prints this once it waits on fw_cfg; the VM is saved after it.
inline constexpr const char* kReadyLine = "loader: ready";
// Bump when the snapshot procedure changes in a way the key does not show.
inline constexpr int kFormat = 3;
// The RAM backend's object id; QEMU names the RAM block after it, and the
// saving and the restoring QEMU must agree on it.
inline constexpr const char* kRamId = "efitest-ram";
inline constexpr int kFailedTtlMin = 10;
inline constexpr unsigned kDefaultKeep = 32;

// The QMP commands that make a QEMU started with `-incoming defer` load
// the stream from its descriptor 3; x-ignore-shared leaves guest RAM in
// the RAM file.
inline constexpr const char* kRestoreQmp[] = {
    R"({"execute":"qmp_capabilities"})",
    R"({"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}})",
    R"({"execute":"migrate-incoming","arguments":{"uri":"fd:3"}})",
};

// The guest RAM of `-m VALUE` in MiB (QEMU's forms: 512, 512M, 6G,
// size=6G), or 0 when it is not a plain size.
uint64_t mem_mib(const std::string& value);

// The options that put the guest RAM of the machine (its last -m) on the
// file `path`: shared with it (the VM being saved) or a private
// copy-on-write mapping of it (a restore). false without a plain -m.
bool ram_args(const std::string& path, bool share, const std::vector<std::string>& machine,
              std::vector<std::string>* out);

// Why these arguments keep the VM off the fast path, or "" when all of
// them can be keyed: the option changes only the device model and names no
// host file, socket or backend whose state could differ at restore.
std::string args_reason(const std::vector<std::string>& args);

struct ShapeInput {
  std::string dir;  // the cache (memo and qemu-version files)
  std::string qemu_path;
  std::string firmware;
  std::vector<std::string> firmware_files;
  std::string signed_by;  // secboot: the certificate that signs the loader
  std::string loader;
  std::vector<std::string> machine;
};

// The shape text (lines, no final newline) for a QEMU of this version.
// Firmware paths inside the arguments are replaced by their contents'
// hashes, so a copy of the same file elsewhere shares the snapshot and a
// changed byte gets a new one. false when a file cannot be read.
bool shape_text(const ShapeInput& in, const std::string& qemu_version, std::string* out);

// The key of a shape: 20 hex digits of its SHA-256.
std::string key_of_shape(const std::string& shape);

// `qemu --version`, cached per binary (path, size, mtime, inode).
bool qemu_version(const std::string& bin, const std::string& dir, std::string* out);

// The key and shape. Hashing the firmware costs more than the rest of a
// warm run's setup, so both are remembered per identity of the files
// (size, mtime and ctime in ns, inode: any write changes them) and the
// arguments; only a changed file is hashed again.
bool key(const ShapeInput& in, std::string* key, std::string* shape);

// DIR/KEY.<part>
std::string file(const std::string& dir, const std::string& key, const char* part);
// The marker, state, RAM file and loader all exist.
bool complete(const std::string& dir, const std::string& key);
// Drops a snapshot that failed to restore, so that the next run builds it
// again instead of failing the same way.
void forget(const std::string& dir, const std::string& key);
// Keeps the `keep` newest snapshots (a rebuilt loader or an updated
// firmware leaves old shapes unused for good, at tens of MiB each), and
// drops memo and qemu-version files older than a week.
void prune(const std::string& dir, unsigned keep);

// Building (snapshot_build.cc).
struct Build {
  std::string dir, key, shape, loader;
  double timeout_s = 120;
  unsigned keep = kDefaultKeep;
  // QEMU and the machine arguments, with -kernel DIR/KEY.loader.efi.
  std::vector<std::string> qemu_cmd;
  const Tools* tools = nullptr;
};
enum class Prepared { ready, failed, interrupted };
// Makes sure the snapshot is complete, building it under the lock when it
// is not. *reason says why not when it fails.
Prepared prepare(const Build& b, std::string* reason);

}  // namespace run::snapshot
