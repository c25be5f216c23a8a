// Host tests of the framebuffer console: pixel packing, line kinds, the
// font table, rendering, wrapping and scrolling into plain memory.
#include "rt/fbcon.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

using namespace fbcon;

namespace {

TEST(FbconPixel, RgbxAndBgrx) {
  EXPECT_EQ(PixelFormat::rgbx().pack({0x11, 0x22, 0x33}), 0x332211u);
  EXPECT_EQ(PixelFormat::bgrx().pack({0x11, 0x22, 0x33}), 0x112233u);
  EXPECT_EQ(PixelFormat::rgbx().bytes_per_pixel(), 4u);
  EXPECT_EQ(PixelFormat::bgrx().unpack(0x112233), (Rgb{0x11, 0x22, 0x33}));
}

TEST(FbconPixel, Rgb565Bitmask) {
  PixelFormat f;
  ASSERT_TRUE(PixelFormat::from_masks(0xf800, 0x07e0, 0x001f, 0, &f));
  EXPECT_EQ(f.bytes_per_pixel(), 2u);
  EXPECT_EQ(f.pack({0xff, 0xff, 0xff}), 0xffffu);
  EXPECT_EQ(f.pack({0xff, 0, 0}), 0xf800u);
  EXPECT_EQ(f.pack({0, 0xff, 0}), 0x07e0u);
  EXPECT_EQ(f.pack({0, 0, 0}), 0u);
  EXPECT_EQ(f.unpack(0x001f), (Rgb{0, 0, 0xff}));
}

TEST(FbconPixel, BitmaskShapes) {
  PixelFormat f;
  // 8:8:8 in 24 bits, blue high: three bytes.
  ASSERT_TRUE(PixelFormat::from_masks(0x0000ff, 0x00ff00, 0xff0000, 0, &f));
  EXPECT_EQ(f.bytes_per_pixel(), 3u);
  EXPECT_EQ(f.pack({1, 2, 3}), 0x030201u);
  // 10:10:10 with 2 reserved bits.
  ASSERT_TRUE(PixelFormat::from_masks(0x3ff00000, 0x000ffc00, 0x000003ff, 0xc0000000, &f));
  EXPECT_EQ(f.bytes_per_pixel(), 4u);
  EXPECT_EQ(f.pack({0xff, 0, 0}), 0x3ff00000u);
  EXPECT_EQ(f.unpack(f.pack({0x80, 0x40, 0x20})), (Rgb{0x80, 0x40, 0x20}));
  EXPECT_FALSE(PixelFormat::from_masks(0, 0xff00, 0xff, 0, &f)) << "empty red";
  EXPECT_FALSE(PixelFormat::from_masks(0xf0f0, 0x0f00, 0x000f, 0, &f)) << "red not contiguous";
  EXPECT_FALSE(PixelFormat::from_masks(0xff00, 0x0ff0, 0x000f, 0, &f)) << "overlap";
  EXPECT_FALSE(PixelFormat::from_masks(0xe0, 0x1c, 0x03, 0, &f)) << "one byte per pixel";
  EXPECT_FALSE(PixelFormat::from_masks(0xff0000, 0xff00, 0xff, 0xff, &f)) << "reserved overlaps";
}

TEST(FbconLine, Classify) {
  auto kind = [](const char* s, bool want_decided) {
    bool decided = !want_decided;
    LineKind k = classify_line(s, std::strlen(s), &decided);
    EXPECT_EQ(decided, want_decided) << s;
    return k;
  };
  EXPECT_EQ(kind("PASS:", true), LineKind::pass);
  EXPECT_EQ(kind("FAIL:", true), LineKind::fail);
  EXPECT_EQ(kind("SKIP:", true), LineKind::skip);
  EXPECT_EQ(kind("XFAIL:", true), LineKind::xfail);
  EXPECT_EQ(kind("XPASS:", true), LineKind::xpass);
  EXPECT_EQ(kind("ERROR:", true), LineKind::error);
  EXPECT_EQ(kind("SUMMARY:", true), LineKind::summary);
  EXPECT_EQ(kind("INFO:", true), LineKind::info);
  EXPECT_EQ(kind("WARNING:", true), LineKind::warning);
  EXPECT_EQ(kind("P", false), LineKind::plain);
  EXPECT_EQ(kind("PASS", false), LineKind::plain);
  EXPECT_EQ(kind("X", false), LineKind::plain);
  EXPECT_EQ(kind("S", false), LineKind::plain);
  EXPECT_EQ(kind("PASSED", true), LineKind::plain);
  EXPECT_EQ(kind("pass:", true), LineKind::plain);
  EXPECT_EQ(kind("selftest:", true), LineKind::plain);
  EXPECT_EQ(kind(" PASS:", true), LineKind::plain);
}

TEST(FbconLine, ColoursAreDistinctWhereItMatters) {
  const LineKind kinds[] = {LineKind::plain, LineKind::pass, LineKind::fail, LineKind::skip,
                            LineKind::xfail, LineKind::error, LineKind::summary};
  for (LineKind a : kinds) {
    EXPECT_NE(line_colour(a), kBackground) << line_kind_str(a);
    for (LineKind b : kinds) {
      if (a != b) {
        EXPECT_NE(line_colour(a), line_colour(b)) << line_kind_str(a) << line_kind_str(b);
      }
    }
  }
}

std::vector<uint8_t> glyph_bytes(char c) {
  const uint8_t* g = glyph(c);
  return std::vector<uint8_t>(g, g + kGlyphHeight);
}

TEST(FbconFont, PrintableGlyphsAreDistinctAndFitTheCell) {
  std::set<std::vector<uint8_t>> seen;
  for (int c = 0x21; c < 0x7f; ++c) {
    const auto g = glyph_bytes(static_cast<char>(c));
    unsigned lit = 0;
    for (uint8_t row : g) {
      EXPECT_EQ(row & ~((1u << kGlyphWidth) - 1), 0u) << "glyph " << char(c);
      lit += __builtin_popcount(row);
    }
    EXPECT_GT(lit, 0u) << "glyph " << char(c) << " is empty";
    EXPECT_TRUE(seen.insert(g).second) << "glyph " << char(c) << " duplicates another";
  }
  EXPECT_EQ(glyph_bytes(' '), std::vector<uint8_t>(kGlyphHeight, 0));
  EXPECT_EQ(seen.count(glyph_bytes('\x01')), 0u) << "the box looks like a printable glyph";
  EXPECT_EQ(glyph_bytes('\x01'), glyph_bytes('\x7f'));
  EXPECT_EQ(glyph_bytes('\xc3'), glyph_bytes('\x7f'));
}

TEST(FbconFont, DescendersOnlyWhereExpected) {
  const std::string with = "gjpqy,;_|";
  for (int c = 0x20; c < 0x7f; ++c) {
    const auto g = glyph_bytes(static_cast<char>(c));
    const bool below = g[7] || g[8];
    EXPECT_EQ(below, with.find(char(c)) != std::string::npos) << "glyph " << char(c);
  }
}

// A framebuffer in host memory with padding past each line, to catch
// writes outside the visible width.
struct Screen {
  static constexpr uint8_t kSentinel = 0xa5;
  Screen(uint32_t w, uint32_t h, PixelFormat f, uint32_t pad_pixels = 3)
      : stride((w + pad_pixels) * f.bytes_per_pixel()),
        pixels(size_t(stride) * h + 64, kSentinel),
        surface{pixels.data(), w, h, stride, f} {}
  uint32_t stride;
  std::vector<uint8_t> pixels;
  Surface surface;
  std::vector<Cell> cells = std::vector<Cell>(200 * 100);

  bool padding_untouched() const {
    const unsigned bpp = surface.format.bytes_per_pixel();
    for (uint32_t y = 0; y < surface.height; ++y)
      for (uint32_t i = surface.width * bpp; i < stride; ++i)
        if (pixels[size_t(y) * stride + i] != kSentinel) return false;
    for (size_t i = size_t(stride) * surface.height; i < pixels.size(); ++i)
      if (pixels[i] != kSentinel) return false;
    return true;
  }
};

// The pixels of one text cell, as packed values.
std::vector<uint32_t> cell_pixels(const Console& con, unsigned col, unsigned row) {
  std::vector<uint32_t> out;
  for (unsigned y = 0; y < con.cell_height(); ++y)
    for (unsigned x = 0; x < con.cell_width(); ++x)
      out.push_back(con.surface().get(col * con.cell_width() + x, row * con.cell_height() + y));
  return out;
}

// Checks that cell (col,row) shows `c` in `fg` on the background.
void expect_glyph(const Console& con, unsigned col, unsigned row, char c, Rgb fg) {
  const PixelFormat& f = con.surface().format;
  const uint8_t* g = glyph(c);
  const unsigned s = con.scale();
  for (unsigned y = 0; y < con.cell_height(); ++y) {
    for (unsigned x = 0; x < con.cell_width(); ++x) {
      const unsigned gx = x / s, gy = y / s;
      const bool lit = gx < kGlyphWidth && gy < kGlyphHeight && (g[gy] >> (kGlyphWidth - 1 - gx)) & 1;
      const uint32_t px = con.surface().get(col * con.cell_width() + x, row * con.cell_height() + y);
      ASSERT_EQ(px, f.pack(lit ? fg : kBackground))
          << "'" << c << "' at cell " << col << "," << row << " pixel " << x << "," << y;
    }
  }
}

TEST(FbconConsole, GeometryAndAutoScale) {
  Screen small(800, 600, PixelFormat::bgrx());
  Console con;
  ASSERT_TRUE(con.init(small.surface, small.cells.data(), small.cells.size()));
  EXPECT_EQ(con.scale(), 1u);
  EXPECT_EQ(con.cols(), 133u);
  EXPECT_EQ(con.rows(), 60u);

  Screen big(1280, 800, PixelFormat::bgrx());
  ASSERT_TRUE(con.init(big.surface, big.cells.data(), big.cells.size()));
  EXPECT_EQ(con.scale(), 2u);
  EXPECT_EQ(con.cols(), 106u);
  EXPECT_EQ(con.rows(), 40u);

  // Too few cells of storage for scale 1 raises the scale.
  ASSERT_TRUE(con.init(small.surface, small.cells.data(), 2000));
  EXPECT_EQ(con.scale(), 2u);
  EXPECT_FALSE(con.init(small.surface, small.cells.data(), 2000, 1)) << "explicit scale must fit";
  Screen tiny(40, 9, PixelFormat::rgbx());
  EXPECT_FALSE(con.init(tiny.surface, tiny.cells.data(), tiny.cells.size()));
  EXPECT_FALSE(con.ready());
}

TEST(FbconConsole, DrawsGlyphsInThePlainColour) {
  for (unsigned scale : {1u, 2u, 3u}) {
    Screen sc(320, 200, PixelFormat::rgbx());
    Console con;
    ASSERT_TRUE(con.init(sc.surface, sc.cells.data(), sc.cells.size(), scale));
    con.write("Az~", 3);
    expect_glyph(con, 0, 0, 'A', line_colour(LineKind::plain));
    expect_glyph(con, 1, 0, 'z', line_colour(LineKind::plain));
    expect_glyph(con, 2, 0, '~', line_colour(LineKind::plain));
    expect_glyph(con, 3, 0, ' ', line_colour(LineKind::plain));
    EXPECT_EQ(con.cursor_col(), 3u);
    EXPECT_TRUE(sc.padding_untouched());
  }
}

TEST(FbconConsole, LinePrefixChoosesTheColour) {
  Screen sc(640, 200, PixelFormat::bgrx());
  Console con;
  ASSERT_TRUE(con.init(sc.surface, sc.cells.data(), sc.cells.size(), 1));
  // Split as printf delivers it: the prefix arrives in pieces.
  for (const char* piece : {"PA", "SS", ": ok\n", "FAIL: bad\n", "XFAIL: known\n", "PASSED\n",
                            "SKIP: no fb\n", "SUMMARY: 3 tests\n", "ERROR: broke\n"})
    con.write(piece, std::strlen(piece));
  const LineKind want[] = {LineKind::pass, LineKind::fail,    LineKind::xfail,
                           LineKind::plain, LineKind::skip,   LineKind::summary,
                           LineKind::error};
  for (unsigned row = 0; row < 7; ++row) {
    EXPECT_EQ(con.kind_at(0, row), want[row]) << "row " << row;
    expect_glyph(con, 0, row, con.char_at(0, row), line_colour(want[row]));
    expect_glyph(con, 3, row, con.char_at(3, row), line_colour(want[row]));
  }
  EXPECT_EQ(con.kind_at(6, 0), LineKind::pass) << "the rest of the line keeps the colour";
}

TEST(FbconConsole, WrapsLongLinesAndKeepsTheirColour) {
  Screen sc(120, 60, PixelFormat::rgbx());  // 20 x 6 cells at scale 1
  Console con;
  ASSERT_TRUE(con.init(sc.surface, sc.cells.data(), sc.cells.size(), 1));
  ASSERT_EQ(con.cols(), 20u);
  std::string line = "FAIL: " + std::string(14, 'x');  // exactly one row
  line += "\n";
  con.write(line.data(), line.size());
  EXPECT_EQ(con.cursor_row(), 1u) << "a full row and its newline take one row";
  std::string longer = "FAIL: " + std::string(20, 'y') + "\n";
  con.write(longer.data(), longer.size());
  EXPECT_EQ(con.cursor_row(), 3u);
  EXPECT_EQ(con.char_at(0, 2), 'y');
  EXPECT_EQ(con.kind_at(0, 2), LineKind::fail);
  con.write("\tT\rR\bQ", 6);
  EXPECT_EQ(con.char_at(8, 3), 'T');
  EXPECT_EQ(con.char_at(0, 3), 'Q');
  EXPECT_TRUE(sc.padding_untouched());
}

TEST(FbconConsole, ScrollMovesRowsUp) {
  Screen sc(120, 50, PixelFormat::bgrx());  // 20 x 5 cells at scale 1
  Console con;
  ASSERT_TRUE(con.init(sc.surface, sc.cells.data(), sc.cells.size(), 1));
  ASSERT_EQ(con.rows(), 5u);
  const char* lines[] = {"PASS: zero\n", "FAIL: one\n", "two\n", "SKIP: three\n", "four"};
  for (const char* l : lines) con.write(l, std::strlen(l));
  EXPECT_EQ(con.scrolls(), 0u);
  std::vector<std::vector<uint32_t>> before;
  for (unsigned r = 0; r < 5; ++r) before.push_back(cell_pixels(con, 1, r));

  con.write("\nfive", 5);
  EXPECT_EQ(con.scrolls(), 1u);
  EXPECT_EQ(con.cursor_row(), 4u);
  for (unsigned r = 0; r + 1 < 5; ++r)
    EXPECT_EQ(cell_pixels(con, 1, r), before[r + 1]) << "row " << r << " shows the next row";
  EXPECT_EQ(con.char_at(0, 0), 'F');
  EXPECT_EQ(con.kind_at(0, 0), LineKind::fail);
  expect_glyph(con, 0, 4, 'f', line_colour(LineKind::plain));
  expect_glyph(con, 4, 4, ' ', line_colour(LineKind::plain));
  expect_glyph(con, 8, 3, ' ', line_colour(LineKind::plain));

  for (int i = 0; i < 12; ++i) con.write("\n", 1);
  EXPECT_EQ(con.scrolls(), 13u);
  for (unsigned r = 0; r < 5; ++r)
    for (unsigned c = 0; c < con.cols(); ++c) ASSERT_EQ(con.char_at(c, r), ' ');
  // Blank screen: nothing but background anywhere, margins included.
  for (uint32_t y = 0; y < 50; ++y)
    for (uint32_t x = 0; x < 120; ++x) ASSERT_EQ(sc.surface.get(x, y), 0u);
  EXPECT_TRUE(sc.padding_untouched());
}

TEST(FbconConsole, SixteenAndTwentyFourBitPixels) {
  PixelFormat f16, f24;
  ASSERT_TRUE(PixelFormat::from_masks(0xf800, 0x07e0, 0x001f, 0, &f16));
  ASSERT_TRUE(PixelFormat::from_masks(0xff0000, 0x00ff00, 0x0000ff, 0, &f24));
  for (const PixelFormat& f : {f16, f24}) {
    Screen sc(200, 100, f, 5);
    Console con;
    ASSERT_TRUE(con.init(sc.surface, sc.cells.data(), sc.cells.size(), 2));
    con.write("PASS: M\n", 8);
    expect_glyph(con, 6, 0, 'M', line_colour(LineKind::pass));
    EXPECT_TRUE(sc.padding_untouched());
  }
}

}  // namespace
