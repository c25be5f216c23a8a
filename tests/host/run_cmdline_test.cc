// The per-test runner's QEMU command line (host/run/qemu_cmdline.h): the
// user's arguments with their replace-or-append rules, the base machine,
// durations, config.mak, the precedence of settings, the firmware
// profiles, and the quoting of the logged command line.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "../../host/run/qemu_cmdline.h"

namespace {

using Args = std::vector<std::string>;

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/run-cmdline-test.XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string put(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    const std::string p = path + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }
};

TEST(RunUserArgs, AppendBecomesTheTestArguments) {
  run::UserArgs u;
  std::string err;
  ASSERT_TRUE(run::parse_user_args({"-smp", "4", "-append", "a \"b c\"", "-rtc", "base=utc"}, &u, &err));
  EXPECT_TRUE(u.have_append);
  EXPECT_EQ(u.test_args, "a \"b c\"");
  EXPECT_EQ(u.args, (Args{"-smp", "4", "-rtc", "base=utc"}));
  EXPECT_TRUE(u.have_smp);
  EXPECT_FALSE(u.have_cpu);
  EXPECT_FALSE(u.have_mem);
}

TEST(RunUserArgs, Refusals) {
  run::UserArgs u;
  std::string err;
  EXPECT_FALSE(run::parse_user_args({"-append", "a", "-append", "b"}, &u, &err));
  EXPECT_EQ(err, "-append given twice");
  EXPECT_FALSE(run::parse_user_args({"-append"}, &u, &err));
  EXPECT_EQ(err, "-append needs an argument");
  EXPECT_FALSE(run::parse_user_args({"-bios"}, &u, &err));
  EXPECT_EQ(err, "-bios needs a file");
  EXPECT_FALSE(run::parse_user_args({"-kernel", "x.efi"}, &u, &err));
  EXPECT_EQ(err.rfind("-kernel is set by scripts/run", 0), 0u) << err;
  EXPECT_FALSE(run::parse_user_args({"-pflash", "f.fd"}, &u, &err));
  EXPECT_EQ(err.rfind("-pflash is set by scripts/run", 0), 0u) << err;
}

TEST(RunUserArgs, BiosIsTakenOut) {
  run::UserArgs u;
  std::string err;
  ASSERT_TRUE(run::parse_user_args({"-bios", "/x/OVMF.fd", "-m", "1G"}, &u, &err));
  EXPECT_EQ(u.bios, "/x/OVMF.fd");
  EXPECT_EQ(u.args, (Args{"-m", "1G"}));
  EXPECT_TRUE(u.have_mem);
}

TEST(RunUserArgs, Accelerators) {
  struct Case {
    Args args;
    bool have;
    std::string accel;
  };
  const Case cases[] = {
      {{"-enable-kvm"}, true, "kvm"},
      {{"-accel", "kvm,kernel-irqchip=split"}, true, "kvm"},
      {{"-accel", "tcg"}, true, "tcg"},
      {{"-machine", "q35,accel=kvm:tcg"}, true, "kvm"},
      {{"-M", "accel=tcg,smm=off"}, true, "tcg"},
      {{"-machine", "q35,smm=on"}, false, ""},
      {{"-machine", "myaccel=kvm"}, false, ""},
      {{"-cpu", "host"}, false, ""},
  };
  for (const Case& c : cases) {
    run::UserArgs u;
    std::string err;
    ASSERT_TRUE(run::parse_user_args(c.args, &u, &err));
    EXPECT_EQ(u.have_accel, c.have) << c.args[0] << " " << (c.args.size() > 1 ? c.args[1] : "");
    EXPECT_EQ(u.user_accel, c.accel) << c.args[0];
    EXPECT_EQ(u.args, c.args) << "the accelerator options are still passed on";
  }
}

TEST(RunMachine, UserSizesReplaceTheDefaults) {
  const Args base = {"-nodefaults"};
  run::UserArgs u;
  std::string err;
  ASSERT_TRUE(run::parse_user_args({"-smp", "4", "-m", "6G", "-cpu", "qemu64"}, &u, &err));
  EXPECT_EQ(run::machine_args(base, u, {"-vga", "std"}),
            (Args{"-nodefaults", "-vga", "std", "-smp", "4", "-m", "6G", "-cpu", "qemu64"}));
  run::UserArgs none;
  EXPECT_EQ(run::machine_args(base, none, {}), (Args{"-nodefaults", "-cpu", "max", "-m", "256M", "-smp", "1"}));
  run::UserArgs only_mem;
  ASSERT_TRUE(run::parse_user_args({"-m", "512M"}, &only_mem, &err));
  EXPECT_EQ(run::machine_args(base, only_mem, {}), (Args{"-nodefaults", "-cpu", "max", "-smp", "1", "-m", "512M"}));
}

TEST(RunMachine, BaseArguments) {
  EXPECT_EQ(run::base_args({"-bios", "F"}),
            (Args{"-nodefaults", "-machine", "q35", "-bios", "F", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                  "-serial", "stdio", "-display", "none", "-no-reboot"}));
}

TEST(RunDurations, TimeoutForms) {
  struct Case {
    const char* in;
    bool ok;
    double secs;
  };
  const Case cases[] = {{"90", true, 90},   {"90s", true, 90},  {"2m", true, 120}, {"1.5m", true, 90},
                        {"1h", true, 3600}, {"1d", true, 86400}, {"0", true, 0},    {"0s", true, 0},
                        {"", false, 0},     {"x", false, 0},     {"1.", false, 0},  {".5", false, 0},
                        {"-1", false, 0},   {"5ms", false, 0},   {"1e3", false, 0}, {"2 m", false, 0}};
  for (const Case& c : cases) {
    double s = -1;
    EXPECT_EQ(run::parse_run_duration(c.in, &s), c.ok) << c.in;
    if (c.ok) {
      EXPECT_DOUBLE_EQ(s, c.secs) << c.in;
    }
  }
}

TEST(RunDurations, CfgDurationsAreNeverZero) {
  double s = 0;
  EXPECT_TRUE(run::parse_duration("2m", &s));
  EXPECT_DOUBLE_EQ(s, 120);
  EXPECT_FALSE(run::parse_duration("0", &s));
}

TEST(RunDurations, SecondsText) {
  EXPECT_EQ(run::seconds_text(90), "90");
  EXPECT_EQ(run::seconds_text(270), "270");
  EXPECT_EQ(run::seconds_text(1.5), "1.5");
  EXPECT_EQ(run::seconds_text(0), "0");
}

TEST(RunText, QuotingAndSplitting) {
  EXPECT_EQ(run::qemu_escape("/a,b/c,,d"), "/a,,b/c,,,,d");
  EXPECT_EQ(run::shell_quote({"qemu", "-m", "256M", "name=x,file=/p", "a b", "it's", ""}),
            "qemu -m 256M name=x,file=/p 'a b' 'it'\\''s' ''");
  EXPECT_EQ(run::split_blanks("  -vga std\t-m  1G \n"), (Args{"-vga", "std", "-m", "1G"}));
  EXPECT_TRUE(run::split_blanks("   ").empty());
}

TEST(RunConfig, ConfigMakIsReadAsData) {
  TempDir d;
  const std::string f = d.put("config.mak",
                              "# QEMU=/commented\n"
                              "QEMU = /usr/bin/qemu  \n"
                              "FIRMWARE:=bios\n"
                              "  BIOS ?= /x/OVMF.fd\n"
                              "EMPTY=\n"
                              "CFLAGS = $(shell uname -r)\n");
  EXPECT_EQ(run::config_get(f, "QEMU"), "/usr/bin/qemu");
  EXPECT_EQ(run::config_get(f, "FIRMWARE"), "bios");
  EXPECT_EQ(run::config_get(f, "BIOS"), "/x/OVMF.fd");
  EXPECT_EQ(run::config_get(f, "EMPTY"), "");
  EXPECT_EQ(run::config_get(f, "CFLAGS"), "$(shell uname -r)");
  EXPECT_FALSE(run::config_get(f, "MISSING").has_value());
  EXPECT_FALSE(run::config_get(d.path + "/nothing.mak", "QEMU").has_value());
}

TEST(RunConfig, SettingsPrecedence) {
  TempDir d;
  const std::string f = d.put("config.mak", "RUN_TEST_A=from-config\nRUN_TEST_B=from-config\nRUN_TEST_C=\n");
  setenv("RUN_TEST_B", "from-env", 1);
  setenv("RUN_TEST_C", "", 1);
  run::Settings s(f);
  EXPECT_EQ(s.get("RUN_TEST_A", "default"), "from-config");
  EXPECT_EQ(s.get("RUN_TEST_B", "default"), "from-env");
  EXPECT_EQ(s.get("RUN_TEST_C", "default"), "default") << "empty values do not count";
  EXPECT_FALSE(s.given("RUN_TEST_C"));
  s.set("RUN_TEST_B", "override");
  EXPECT_EQ(s.get("RUN_TEST_B", "default"), "override");
  unsetenv("RUN_TEST_B");
  unsetenv("RUN_TEST_C");
}

TEST(RunTools, Profiles) {
  TempDir d;
  const std::string qemu = d.put("qemu", "#!/bin/sh\n", 0755);
  const std::string code = d.put("CODE,1.fd", "c"), vars = d.put("VARS.fd", "v"), bios = d.put("OVMF.fd", "b");
  run::Settings s(d.path + "/config.mak");
  s.set("QEMU", qemu);
  s.set("FIRMWARE", "pflash");
  s.set("OVMF_CODE", code);
  s.set("OVMF_VARS", vars);
  run::Tools t;
  std::string err;
  ASSERT_TRUE(run::find_tools(d.path, s, &t, &err)) << err;
  EXPECT_EQ(t.qemu_path, qemu);
  EXPECT_EQ(t.firmware_files, (Args{code, vars}));
  EXPECT_EQ(t.firmware_args, (Args{"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + d.path + "/CODE,,1.fd",
                                   "-drive", "if=pflash,format=raw,unit=1,snapshot=on,file=" + vars}));
  EXPECT_EQ(t.vars["OVMF_CODE"], code);

  s.set("FIRMWARE", "bios");
  s.set("BIOS", bios);
  ASSERT_TRUE(run::find_tools(d.path, s, &t, &err)) << err;
  EXPECT_EQ(t.firmware_args, (Args{"-bios", bios}));
  EXPECT_EQ(t.firmware_files, (Args{bios}));

  s.set("BIOS", d.path + "/missing.fd");
  EXPECT_FALSE(run::find_tools(d.path, s, &t, &err));
  EXPECT_EQ(err, "error: firmware '" + d.path +
                     "/missing.fd' not found (install the Debian package ovmf, or set BIOS=)");
  s.set("FIRMWARE", "coreboot");
  EXPECT_FALSE(run::find_tools(d.path, s, &t, &err));
  EXPECT_EQ(err, "error: FIRMWARE must be one of: pflash bios secboot (not 'coreboot')");
  s.set("QEMU", d.path + "/no-qemu");
  EXPECT_FALSE(run::find_tools(d.path, s, &t, &err));
  EXPECT_NE(err.find("install the Debian package qemu-system-x86"), std::string::npos) << err;
}

}  // namespace
