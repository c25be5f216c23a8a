// Reading backtrace frames (host/run/symbolize.h) and cleaning lines for
// the terminal.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../host/run/symbolize.h"

namespace {

using Offsets = std::vector<std::string>;

TEST(RunSymbolize, FrameOffsets) {
  EXPECT_EQ(run::frame_offsets("  #0 0x000000003e9f1234 image+0x1234"), (Offsets{"0x1234"}));
  EXPECT_EQ(run::frame_offsets("#1 image+0xABCdef0 <- image+0x10"), (Offsets{"0xABCdef0", "0x10"}));
  EXPECT_EQ(run::frame_offsets("image+0xg image+0x image+12"), Offsets{});
  EXPECT_EQ(run::frame_offsets("FAIL: no frames here"), Offsets{});
  EXPECT_EQ(run::frame_offsets("image+0x1image+0x2"), (Offsets{"0x1", "0x2"}));
}

TEST(RunSymbolize, Notes) {
  EXPECT_EQ(run::with_notes("  #0 image+0x10", {}), "  #0 image+0x10");
  EXPECT_EQ(run::with_notes("  #0 image+0x10", {"f at a.cc:3", " (inlined by) g at b.cc:9"}),
            "  #0 image+0x10  <= f at a.cc:3  (inlined by) g at b.cc:9");
}

TEST(RunSymbolize, WithoutDebugFileLinesStay) {
  run::Symbolizer s("");
  EXPECT_FALSE(s.enabled());
  EXPECT_EQ(s.annotate("  #0 0x1 image+0x10"), "  #0 0x1 image+0x10");
}

TEST(RunSymbolize, TerminalEscapes) {
  EXPECT_EQ(run::strip_terminal_escapes("\x1b[2J\x1b[01;01HPASS: a\r"), "PASS: a\r");
  EXPECT_EQ(run::strip_terminal_escapes("\x1b[?25lx\x1b[0m"), "x");
  EXPECT_EQ(run::strip_terminal_escapes("a\x1b[=3hb"), "ab");
  EXPECT_EQ(run::strip_terminal_escapes("lone \x1b and \x1b[12"), "lone \x1b and \x1b[12");
}

}  // namespace
