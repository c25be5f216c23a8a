// The host program's accelerator decision (host/accel.h): which arguments
// decide it, what counts as KVM failing, and the decision itself where it
// needs no probe.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../host/accel.h"

namespace {

using Args = std::vector<std::string>;

TEST(AccelShape, MachinesMergedWithoutAccelAndTheLastCpu) {
  EXPECT_EQ(accel::shape_of({"-nodefaults", "-machine", "q35", "-cpu", "max", "-m", "256M", "-cpu",
                             "qemu64", "-machine", "accel=kvm,smm=off", "-M", "accel=tcg"}),
            (Args{"-machine", "q35", "-machine", "smm=off", "-cpu", "qemu64"}));
  EXPECT_EQ(accel::shape_of({"-smp", "2"}), Args{});
  // A shape is its own shape: callers may pass either.
  Args s = accel::shape_of({"-M", "pc,accel=kvm", "-cpu", "Nehalem"});
  EXPECT_EQ(s, (Args{"-machine", "pc", "-cpu", "Nehalem"}));
  EXPECT_EQ(accel::shape_of(s), s);
  // A trailing option without its value takes nothing with it.
  EXPECT_EQ(accel::shape_of({"-cpu"}), Args{});
}

TEST(AccelStderr, KvmFailuresAndThePrefix) {
  EXPECT_TRUE(accel::is_kvm_failure("KVM internal error. Suberror: 1"));
  EXPECT_TRUE(accel::is_kvm_failure("qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69"));
  EXPECT_TRUE(accel::is_kvm_failure("kvm run failed Invalid argument"));
  EXPECT_FALSE(accel::is_kvm_failure("qemu-system-x86_64: warning: host doesn't support requested feature"));
  EXPECT_EQ(accel::strip_qemu_prefix("qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69"),
            "error: failed to set MSR 0x10a to 0x69");
  EXPECT_EQ(accel::strip_qemu_prefix("no prefix"), "no prefix");
}

TEST(AccelResolve, ForcedAndMissingDevice) {
  accel::Env env;
  env.qemu = "qemu-system-x86_64";
  env.kvm_device = "/nonexistent/kvm";
  env.probe_rom = "/nonexistent/probe.rom";
  env.cache = "/nonexistent/cache";
  accel::Decision d = accel::resolve(env, "tcg", {});
  EXPECT_EQ(d.used, "tcg");
  EXPECT_EQ(d.why, "ACCEL=tcg");
  EXPECT_EQ(d.status, 0);
  d = accel::resolve(env, "", {});
  EXPECT_EQ(d.used, "tcg");
  EXPECT_EQ(d.why, "no /nonexistent/kvm");
  EXPECT_EQ(d.status, 0);
  d = accel::resolve(env, "kvm", {});
  EXPECT_EQ(d.used, "kvm");
  EXPECT_EQ(d.status, 1);
  EXPECT_EQ(d.why, "no /nonexistent/kvm");
  d = accel::resolve(env, "hvf", {});
  EXPECT_EQ(d.status, 2);
  EXPECT_EQ(d.why, "ACCEL must be kvm, tcg or auto, not 'hvf'");
}

TEST(AccelResolve, UnbuiltProbeIsTheReason) {
  accel::Env env;
  env.kvm_device = "/dev/null";  // exists, readable and writable
  env.probe_rom = "/nonexistent/accel-probe.rom";
  env.cache = "/nonexistent/cache";
  accel::Decision d = accel::resolve(env, "auto", {"-cpu", "max"});
  EXPECT_EQ(d.used, "tcg");
  EXPECT_EQ(d.why, "the KVM probe accel-probe.rom is not built (run make)");
}

}  // namespace
