// fbcon: the framebuffer console really draws what the guest prints.
//
// Users boot these images on real machines where the screen may be the only
// output, so the GOP framebuffer console is checked through the pixels
// themselves: a line printed through the normal console appears in the
// framebuffer in the colour its verdict prefix selects (glyph by glyph, at
// the console's scale), and a line feed on the last row moves every text
// row up by exactly one cell. FAIL and ERROR colours are not printed here:
// such lines would count as failures; the host tests cover them.
//
// Without a framebuffer (QEMU without -vga std, or any PVH start: no
// firmware sets one up) the test SKIPs.
#include <cstdint>

#include "boot/bootinfo.h"
#include "rt/console.h"
#include "rt/fbcon.h"
#include "rt/report.h"

namespace {

// Whether cell (col,row) shows `c` in the colour of `kind`, pixel for pixel.
bool cell_shows(const fbcon::Console& con, unsigned col, unsigned row, char c,
                fbcon::LineKind kind) {
  const fbcon::Surface& s = con.surface();
  const uint32_t fg = s.format.pack(fbcon::line_colour(kind));
  const uint32_t bg = s.format.pack(fbcon::kBackground);
  const uint8_t* g = fbcon::glyph(c);
  const unsigned scale = con.scale();
  for (unsigned y = 0; y < con.cell_height(); ++y) {
    for (unsigned x = 0; x < con.cell_width(); ++x) {
      const unsigned gx = x / scale, gy = y / scale;
      const bool lit = gx < fbcon::kGlyphWidth && gy < fbcon::kGlyphHeight &&
                       ((g[gy] >> (fbcon::kGlyphWidth - 1 - gx)) & 1);
      if (s.get(col * con.cell_width() + x, row * con.cell_height() + y) != (lit ? fg : bg))
        return false;
    }
  }
  return true;
}

// The text the console holds at the start of `row` matches `text` and the
// framebuffer shows it in `kind`'s colour.
bool row_shows(const fbcon::Console& con, unsigned row, const char* text, fbcon::LineKind kind) {
  for (unsigned i = 0; text[i] && i < con.cols(); ++i) {
    if (con.char_at(i, row) != text[i]) return false;
    const fbcon::LineKind k = text[i] == ' ' ? fbcon::LineKind::plain : kind;
    if (!cell_shows(con, i, row, text[i], k)) return false;
  }
  return true;
}

// FNV-1a over the pixels of one text row across the full width.
uint64_t row_hash(const fbcon::Console& con, unsigned row) {
  const fbcon::Surface& s = con.surface();
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned y = row * con.cell_height(); y < (row + 1) * con.cell_height(); ++y)
    for (unsigned x = 0; x < s.width; ++x) h = (h ^ s.get(x, y)) * 0x100000001b3ull;
  return h;
}

void check_line_colours(const fbcon::Console& con) {
  ReportPrefix p("colour");
  // Each check reads the row just above the cursor: the line printed last.
  report_info("sample info line");
  const unsigned info_row = con.cursor_row() - 1;
  report(row_shows(con, info_row, "INFO: colour: sample info line", fbcon::LineKind::info),
         "an INFO line is drawn in the INFO colour");
  report(row_shows(con, con.cursor_row() - 1, "PASS: colour: an INFO line",
                   fbcon::LineKind::pass),
         "the PASS line above is drawn in the PASS colour");
  report_xfail(true, false, "sample expected failure");
  report(row_shows(con, con.cursor_row() - 1, "XFAIL: colour: sample expected failure",
                   fbcon::LineKind::xfail),
         "an XFAIL line is drawn in the XFAIL colour");
  printf("plain text, not a verdict\n");
  report(row_shows(con, con.cursor_row() - 1, "plain text, not a verdict", fbcon::LineKind::plain),
         "a line without a verdict prefix is drawn in the plain colour");
}

void check_scroll(const fbcon::Console& con) {
  ReportPrefix p("scroll");
  constexpr unsigned kMaxRows = 256;
  static uint64_t before[kMaxRows], after[kMaxRows];
  const unsigned rows = con.rows();
  if (rows < 2 || rows > kMaxRows) {
    report_skip("%u text rows: too few to scroll, or more than this test tracks", rows);
    return;
  }
  for (unsigned i = 0; con.cursor_row() + 1 < rows; ++i) printf("filler line %u\n", i);
  printf("scroll probe");
  const uint64_t scrolls = con.scrolls();
  for (unsigned r = 0; r < rows; ++r) before[r] = row_hash(con, r);
  printf("\n");
  // Everything is measured before the first report: its line scrolls too.
  for (unsigned r = 0; r < rows; ++r) after[r] = row_hash(con, r);
  const bool probe_moved = row_shows(con, rows - 2, "scroll probe", fbcon::LineKind::plain);
  const bool last_blank = con.char_at(0, rows - 1) == ' ' && con.cursor_col() == 0;
  const uint64_t now = con.scrolls();

  report(now == scrolls + 1, "a line feed on the last row scrolls once (%lu scrolls so far)", now);
  unsigned moved = 0;
  for (unsigned r = 0; r + 1 < rows; ++r) moved += after[r] == before[r + 1];
  report(moved == rows - 1, "every row moved up by one cell (%u of %u)", moved, rows - 1);
  report(probe_moved, "the probe line is drawn one row higher");
  report(last_blank && after[rows - 1] != before[rows - 1], "the new last row is blank");
}

}  // namespace

int main() {
  const BootInfo& bi = boot_info();
  if (!bi.fb.present) {
    if (bi.entry == boot::Entry::pvh)
      report_skip("no framebuffer: a PVH start has no firmware to set one up (docs/pvh.md)");
    else
      report_skip("no GOP framebuffer (under QEMU, add -vga std)");
    return report_summary();
  }
  const fbcon::Console* con = framebuffer_console();
  report(con != nullptr, "console attached to the %ux%u framebuffer at 0x%lx (format %u)",
         bi.fb.width, bi.fb.height, bi.fb.base.value, static_cast<unsigned>(bi.fb.layout));
  if (!con) return report_summary();
  report_info("%ux%u cells of %ux%u pixels (scale %u)", con->cols(), con->rows(),
              con->cell_width(), con->cell_height(), con->scale());
  check_line_colours(*con);
  check_scroll(*con);
  return report_summary();
}
