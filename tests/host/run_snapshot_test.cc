// The snapshot cache's portable parts (host/run/snapshot.h): which
// arguments can be keyed, the RAM file options, the shape and its key
// (firmware by content, the memo), completion, forgetting and pruning;
// and what the keys are made of (SHA-256 itself: espid_test.cc).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../../host/run/sha256.h"
#include "../../host/run/snapshot.h"

namespace {

namespace snap = run::snapshot;
using Args = std::vector<std::string>;

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/run-snapshot-test.XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string put(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    const std::string p = path + "/" + name;
    std::ofstream(p, std::ios::trunc) << text;
    chmod(p.c_str(), mode);
    return p;
  }
  bool has(const std::string& name) const { return access((path + "/" + name).c_str(), F_OK) == 0; }
};

void set_age(const std::string& path, time_t seconds_ago) {
  struct timespec t[2];
  t[0].tv_sec = t[1].tv_sec = time(nullptr) - seconds_ago;
  t[0].tv_nsec = t[1].tv_nsec = 0;
  utimensat(AT_FDCWD, path.c_str(), t, 0);
}

TEST(RunSnapshot, MemorySizes) {
  EXPECT_EQ(snap::mem_mib("256M"), 256u);
  EXPECT_EQ(snap::mem_mib("512"), 512u);
  EXPECT_EQ(snap::mem_mib("6G"), 6144u);
  EXPECT_EQ(snap::mem_mib("size=2g"), 2048u);
  EXPECT_EQ(snap::mem_mib("1T"), 1024u * 1024u);
  EXPECT_EQ(snap::mem_mib("512MB"), 512u);
  EXPECT_EQ(snap::mem_mib("0"), 0u);
  EXPECT_EQ(snap::mem_mib("512K"), 0u);
  EXPECT_EQ(snap::mem_mib("512M,slots=2"), 0u);
  EXPECT_EQ(snap::mem_mib(""), 0u);
}

TEST(RunSnapshot, RamFileArguments) {
  Args out;
  ASSERT_TRUE(snap::ram_args("/c,d/k.ram", true, {"-m", "256M", "-smp", "2", "-m", "1G"}, &out));
  EXPECT_EQ(out, (Args{"-machine", "memory-backend=efitest-ram", "-object",
                       "memory-backend-file,id=efitest-ram,size=1024M,mem-path=/c,,d/k.ram,share=on"}));
  ASSERT_TRUE(snap::ram_args("/k.ram", false, {"-m", "size=6G"}, &out));
  EXPECT_EQ(out.back(), "memory-backend-file,id=efitest-ram,size=6144M,mem-path=/k.ram,share=off");
  EXPECT_FALSE(snap::ram_args("/k.ram", false, {"-smp", "2"}, &out));
  EXPECT_FALSE(snap::ram_args("/k.ram", false, {"-m", "1G,maxmem=2G"}, &out));
}

TEST(RunSnapshot, WhichArgumentsCanBeKeyed) {
  EXPECT_EQ(snap::args_reason({"-smp", "2", "-cpu", "qemu64", "-m", "512M", "-accel", "tcg", "-enable-kvm", "-global",
                               "x.y=1", "-vga", "std", "-device", "virtio-rng-pci", "-machine", "q35,smm=off"}),
            "");
  EXPECT_EQ(snap::args_reason({}), "");
  struct Case {
    Args args;
    std::string reason;
  };
  const Case cases[] = {
      {{"-rtc", "base=utc"}, "QEMU argument -rtc is not part of the snapshot key"},
      {{"stray"}, "unexpected QEMU argument 'stray'"},
      {{"-m", "512M,slots=2,maxmem=1G"}, "-m 512M,slots=2,maxmem=1G is not a plain size, which the snapshot's RAM file needs"},
      {{"-m", "lots"}, "-m lots is not a plain size, which the snapshot's RAM file needs"},
      {{"-machine", "q35,memory-backend=m"},
       "-machine q35,memory-backend=m chooses the RAM backend, which the snapshot needs for itself"},
      {{"-device", "virtio-blk-pci,drive=d"},
       "-device virtio-blk-pci,drive=d has a host backend, which the snapshot key cannot cover"},
      {{"-device", "isa-serial,chardev=c"},
       "-device isa-serial,chardev=c has a host backend, which the snapshot key cannot cover"},
      {{"-machine", "q35,confidential-guest-support=sev0"},
       "confidential VM (-machine q35,confidential-guest-support=sev0): its state cannot be saved and restored"},
      {{"-object", "sev-snp-guest,id=sev0"},
       "confidential VM (-object sev-snp-guest,id=sev0): its state cannot be saved and restored"},
      {{"-enable-kvm", "-rtc", "base=utc"}, "QEMU argument -rtc is not part of the snapshot key"},
  };
  for (const Case& c : cases) EXPECT_EQ(snap::args_reason(c.args), c.reason) << c.args[0];
}

struct Shape : ::testing::Test {
  TempDir d;
  snap::ShapeInput in;
  void SetUp() override {
    in.dir = d.path;
    in.qemu_path = d.put("qemu", "#!/bin/sh\necho 'QEMU emulator version 9.9.9'\necho second line\n", 0755);
    in.firmware = "pflash";
    in.firmware_files = {d.put("CODE.fd", "code bytes"), d.put("VARS.fd", "vars bytes")};
    in.loader = d.put("loader.efi", "MZ loader");
    in.machine = {"-nodefaults", "-drive", "if=pflash,unit=0,file=" + in.firmware_files[0], "-m", "256M"};
  }
  std::string shape() {
    std::string s;
    EXPECT_TRUE(snap::shape_text(in, "QEMU emulator version 9.9.9", &s));
    return s;
  }
};

TEST_F(Shape, Text) {
  const std::string s = shape();
  std::istringstream lines(s);
  std::vector<std::string> l;
  for (std::string x; std::getline(lines, x);) l.push_back(x);
  ASSERT_EQ(l.size(), 12u) << s;
  EXPECT_EQ(l[0], "format 3");
  EXPECT_EQ(l[1].rfind("qemu " + in.qemu_path + " size ", 0), 0u);
  EXPECT_EQ(l[2], "qemu-version QEMU emulator version 9.9.9");
  EXPECT_EQ(l[3], "firmware pflash");
  EXPECT_EQ(l[4], "firmware-file sha256 " + run::sha256_hex("code bytes"));
  EXPECT_EQ(l[5], "firmware-file sha256 " + run::sha256_hex("vars bytes"));
  EXPECT_EQ(l[6], "loader sha256 " + run::sha256_hex("MZ loader"));
  EXPECT_EQ(l[7], "arg -nodefaults");
  EXPECT_EQ(l[9], "arg if=pflash,unit=0,file=@FIRMWARE_FILE0") << "firmware by content, not by path";
  EXPECT_EQ(snap::key_of_shape(s), run::sha256_hex(s + "\n").substr(0, 20));
}

TEST_F(Shape, FirmwareByContent) {
  const std::string key = snap::key_of_shape(shape());
  // An unchanged copy elsewhere: the same key.
  in.firmware_files[0] = d.put("copy-of-CODE.fd", "code bytes");
  in.machine[2] = "if=pflash,unit=0,file=" + in.firmware_files[0];
  EXPECT_EQ(snap::key_of_shape(shape()), key);
  // One changed byte: another.
  d.put("copy-of-CODE.fd", "code bytez");
  EXPECT_NE(snap::key_of_shape(shape()), key);
}

TEST_F(Shape, EveryPartCounts) {
  const std::string key = snap::key_of_shape(shape());
  snap::ShapeInput saved = in;
  in.machine.back() = "512M";
  EXPECT_NE(snap::key_of_shape(shape()), key) << "an argument";
  in = saved;
  d.put("loader.efi", "MZ loader 2");
  EXPECT_NE(snap::key_of_shape(shape()), key) << "the loader";
  d.put("loader.efi", "MZ loader");
  in.firmware = "secboot";
  EXPECT_NE(snap::key_of_shape(shape()), key) << "the profile";
  in = saved;
  in.signed_by = d.put("cert.pem", "cert");
  EXPECT_NE(shape().find("signed-by sha256 " + run::sha256_hex("cert")), std::string::npos);
  in = saved;
  in.machine.push_back("-enable-kvm");
  EXPECT_NE(shape().find("\nhost "), std::string::npos) << "under KVM the host CPU is part of the shape";
  in = saved;
  std::string s;
  in.loader = d.path + "/missing.efi";
  EXPECT_FALSE(snap::shape_text(in, "v", &s));
}

int count_files(const std::string& dir, const char* prefix) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) n += std::string(e->d_name).rfind(prefix, 0) == 0;
    closedir(d);
  }
  return n;
}

TEST_F(Shape, KeyIsRemembered) {
  std::string k1, s1, k2, s2;
  ASSERT_TRUE(snap::key(in, &k1, &s1));
  EXPECT_EQ(k1, snap::key_of_shape(s1));
  EXPECT_NE(s1.find("qemu-version QEMU emulator version 9.9.9\n"), std::string::npos) << s1;
  EXPECT_EQ(count_files(d.path, "memo."), 1);
  EXPECT_EQ(count_files(d.path, "qemu-version."), 1);
  ASSERT_TRUE(snap::key(in, &k2, &s2));
  EXPECT_EQ(k2, k1);
  EXPECT_EQ(s2, s1);
  EXPECT_EQ(count_files(d.path, "memo."), 1) << "the same files and arguments: the memo";
  // A chmod changes QEMU's ctime: the memo misses and the shape is made
  // again, but the version comes from its cache (QEMU cannot run now).
  chmod(in.qemu_path.c_str(), 0644);
  ASSERT_TRUE(snap::key(in, &k2, &s2));
  EXPECT_EQ(k2, k1);
  EXPECT_EQ(count_files(d.path, "memo."), 2);
  EXPECT_EQ(count_files(d.path, "qemu-version."), 1);
  // A changed loader is hashed again.
  d.put("loader.efi", "MZ another loader");
  ASSERT_TRUE(snap::key(in, &k2, &s2));
  EXPECT_NE(k2, k1);
  EXPECT_EQ(count_files(d.path, "memo."), 3);
}

TEST(RunSnapshot, CompleteForgetPrune) {
  TempDir d;
  auto make = [&](const std::string& key, time_t age) {
    for (const char* part : {"state", "ram", "loader.efi", "shape"}) {
      const std::string f = d.put(key + "." + part, "x");
      set_age(f, age);
    }
  };
  make("aaaa", 300);
  make("bbbb", 200);
  make("cccc", 100);
  EXPECT_TRUE(snap::complete(d.path, "aaaa"));
  unlink((d.path + "/bbbb.shape").c_str());
  EXPECT_FALSE(snap::complete(d.path, "bbbb")) << "no marker, no snapshot";
  set_age(d.put("bbbb.shape", "x"), 200);
  set_age(d.put("memo.old", "key x"), 9 * 86400);
  set_age(d.put("memo.new", "key y"), 86400);
  snap::prune(d.path, 2);
  EXPECT_FALSE(d.has("aaaa.shape"));
  EXPECT_FALSE(d.has("aaaa.state"));
  EXPECT_FALSE(d.has("aaaa.ram"));
  EXPECT_FALSE(d.has("aaaa.loader.efi"));
  EXPECT_TRUE(snap::complete(d.path, "bbbb"));
  EXPECT_TRUE(snap::complete(d.path, "cccc"));
  EXPECT_FALSE(d.has("memo.old"));
  EXPECT_TRUE(d.has("memo.new"));
  snap::forget(d.path, "cccc");
  EXPECT_FALSE(snap::complete(d.path, "cccc"));
  EXPECT_FALSE(d.has("cccc.state"));
}

}  // namespace
