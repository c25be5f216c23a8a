// `scripts/run --gdb` (host/run/gdb.h): the guest's wait line, the QEMU
// arguments and the gdb command printed for the user.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../../host/run/gdb.h"

namespace {

TEST(RunGdb, WaitLine) {
  uint64_t base = 0;
  EXPECT_TRUE(run::gdb::parse_wait_line("efitest: waiting for gdb: image base 0xe46d000", &base));
  EXPECT_EQ(base, 0xe46d000u);
  EXPECT_TRUE(run::gdb::parse_wait_line("efitest: waiting for gdb: image base 0xFFFF800000000000\r", &base));
  EXPECT_EQ(base, 0xffff800000000000u);
  base = 7;
  EXPECT_FALSE(run::gdb::parse_wait_line("efitest: waiting for gdb: image base 0x", &base));
  EXPECT_FALSE(run::gdb::parse_wait_line("efitest: waiting for gdb: image base 0x12 and more", &base));
  EXPECT_FALSE(run::gdb::parse_wait_line("PASS: image base 0x1000", &base));
  EXPECT_EQ(base, 7u);
}

TEST(RunGdb, QemuArgs) {
  EXPECT_EQ(run::gdb::qemu_args("/tmp/a,b/gdb.sock"),
            (std::vector<std::string>{"-gdb", "unix:/tmp/a,,b/gdb.sock,server=on,wait=off", "-fw_cfg",
                                      "name=opt/efitest/gdb,string=1"}));
}

TEST(RunGdb, Command) {
  EXPECT_EQ(run::gdb::command("/tmp/r/gdb.sock", "x86/selftest.debug", 0xe46d000),
            "gdb -q -ex 'target remote /tmp/r/gdb.sock' -ex 'symbol-file -o 0xe46d000 x86/selftest.debug' "
            "-ex 'set var efitest_gdb_wait = 0' -ex 'break main'");
}

}  // namespace
