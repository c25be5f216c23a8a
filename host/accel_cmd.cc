// efitest accel: the accelerator for one QEMU command line (accel.h).
//
//   efitest accel [--want auto|kvm|tcg] -- QEMU_ARGS...
//
// Reads QEMU, KVM_DEVICE, ACCEL_PROBE_ROM, ACCEL_CACHE and
// ACCEL_PROBE_TIMEOUT from the environment (tests and scripts set
// them). Prints "used=kvm|tcg" and "why=..." lines; the exit status is
// the decision's (0 decided, 1 KVM forced but unusable, 2 bad --want).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "accel.h"
#include "cfg/cfgparse.h"
#include "commands.h"

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

accel::Env accel_env() {
  accel::Env env;
  env.qemu = env_or("QEMU", "qemu-system-x86_64");
  env.kvm_device = env_or("KVM_DEVICE", "/dev/kvm");
  env.probe_rom = env_or("ACCEL_PROBE_ROM", "build/accel-probe.rom");
  env.cache = env_or("ACCEL_CACHE", "build/accel-probe.cache");
  if (!parse_duration(env_or("ACCEL_PROBE_TIMEOUT", "3"), &env.probe_timeout_s)) env.probe_timeout_s = 3;
  return env;
}

int cmd_accel(int argc, char** argv) {
  std::string want = env_or("ACCEL", "auto");
  int i = 0;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--want" && i + 1 < argc) {
      want = argv[++i];
    } else if (a == "--") {
      ++i;
      break;
    } else {
      std::fputs("usage: efitest accel [--want auto|kvm|tcg] -- QEMU_ARGS...\n", stderr);
      return 2;
    }
  }
  std::vector<std::string> args(argv + i, argv + argc);
  accel::Decision d = accel::resolve(accel_env(), want, accel::shape_of(args));
  std::printf("used=%s\nwhy=%s\n", d.used.c_str(), d.why.c_str());
  return std::fflush(stdout) == 0 ? d.status : 2;
}
