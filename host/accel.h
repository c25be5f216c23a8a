// The accelerator: KVM only where a probe VM has been seen to run under it.
//
// A /dev/kvm that opens is not enough: a paravirtual KVM module opens fine
// and then cannot run a full-virtualization guest. The probe is a 64 KiB
// ROM (scripts/accel/probe.S, built to build/accel-probe.rom) booted with
// -bios and no firmware, on the machine type and CPU model the test will
// use: it goes from real mode to long mode, runs CPUID, takes INT3 and UD2
// through an IDT, reads the local APIC (MMIO), takes a self-IPI and writes
// kProbeValue to isa-debug-exit. Its result is cached per host and shape
// (kernel release, QEMU binary, /dev/kvm, the probe ROM and the KVM
// modules loaded, -machine, -cpu) in one file, appended under flock, so that a suite
// probes each shape once however many runs share the cache.
#pragma once

#include <string>
#include <vector>

namespace accel {

inline constexpr int kProbeValue = 42;
inline constexpr int kProbeStatus = (kProbeValue << 1) | 1;  // 85

// The arguments of a QEMU command line that decide whether KVM can run
// it: every -machine (QEMU merges them; accel= left out), the last -cpu.
std::vector<std::string> shape_of(const std::vector<std::string>& qemu_args);

// True when a line of QEMU's stderr says that KVM failed: after the first
// two messages QEMU pauses the VM instead of exiting, after the third it
// aborts.
bool is_kvm_failure(const std::string& line);
// The line without QEMU's "qemu-system-x86_64: " prefix.
std::string strip_qemu_prefix(const std::string& line);

struct Env {
  std::string qemu;        // binary, found on PATH when it has no slash
  std::string kvm_device;  // /dev/kvm
  std::string probe_rom;
  std::string cache;       // the cache file; its lock is cache + ".lock"
  double probe_timeout_s = 3;
};

// What the probe's result depends on besides the shape.
std::string host_key(const Env& env);

// Boots the probe; returns why KVM cannot run it, or "" when it ran.
std::string probe(const Env& env, const std::vector<std::string>& shape);

// "" when KVM can run a guest of this shape, else why not (cached).
std::string kvm_blocker(const Env& env, const std::vector<std::string>& shape);

struct Decision {
  std::string used;  // kvm or tcg
  std::string why;
  // 0: decided; 1: KVM was forced but cannot run this shape (why says
  // why); 2: `want` is not auto, kvm or tcg.
  int status = 0;
};
// want: ACCEL's value (auto, kvm, tcg; empty means auto).
Decision resolve(const Env& env, const std::string& want, const std::vector<std::string>& shape);

}  // namespace accel
