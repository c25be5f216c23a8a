// Framebuffer text console.
//
// The portable part (namespace fbcon) renders text into a caller-provided
// linear framebuffer: a built-in 5x9 bitmap font drawn in 6x10 cells, scaled
// by an integer factor; scrolling; one colour per line chosen from its
// verdict prefix ("PASS:", "FAIL:", ...); pixel packing for the GOP formats.
// It touches nothing but the two buffers it is given, so host unit tests run
// it over plain memory.
//
// Contract:
//  - The console keeps a shadow grid of cells (character and line kind) in
//    caller-provided storage and only ever writes the framebuffer, never
//    reads it: a framebuffer mapped uncached is slow to read. A scroll
//    shifts the grid and redraws only the cells whose content changed.
//  - A line's colour is decided by its first characters. They are drawn at
//    once in the plain colour and recoloured when the prefix is recognised,
//    so no output is ever held back.
//  - Bytes outside printable ASCII draw a box; '\n' starts a new line, '\r'
//    returns to column 0, '\t' advances to the next multiple of 8 and '\b'
//    steps back one column. Lines longer than the screen wrap and keep
//    their colour.
//
// The guest part at the bottom attaches one console to the GOP framebuffer
// from BootInfo and registers it as a console output.
#pragma once

#include <cstddef>
#include <cstdint>

namespace boot {
struct Framebuffer;
}

namespace fbcon {

struct Rgb {
  uint8_t r, g, b;
  constexpr bool operator==(const Rgb&) const = default;
};

// Where the colour components sit in one pixel (UEFI 2.10 §12.9.2,
// EFI_GRAPHICS_PIXEL_FORMAT and EFI_PIXEL_BITMASK).
class PixelFormat {
 public:
  // PixelRedGreenBlueReserved8BitPerColor: byte 0 red, 1 green, 2 blue.
  static constexpr PixelFormat rgbx() { return PixelFormat({0, 8}, {8, 8}, {16, 8}, 4); }
  // PixelBlueGreenRedReserved8BitPerColor: byte 0 blue, 1 green, 2 red.
  static constexpr PixelFormat bgrx() { return PixelFormat({16, 8}, {8, 8}, {0, 8}, 4); }
  // PixelBitMask. The pixel is as many bytes as the highest mask bit needs.
  // False when a colour mask is empty or not one contiguous run of bits,
  // when masks overlap, or when the result would not be 2, 3 or 4 bytes.
  static bool from_masks(uint32_t red, uint32_t green, uint32_t blue, uint32_t reserved,
                         PixelFormat* out);

  constexpr PixelFormat() = default;
  uint32_t pack(Rgb c) const;
  Rgb unpack(uint32_t pixel) const;
  unsigned bytes_per_pixel() const { return bytes_; }

 private:
  struct Channel {
    uint8_t shift, bits;
  };
  constexpr PixelFormat(Channel r, Channel g, Channel b, uint8_t bytes)
      : r_(r), g_(g), b_(b), bytes_(bytes) {}
  Channel r_{}, g_{}, b_{};
  uint8_t bytes_ = 0;
};

// A linear framebuffer: `height` scan lines of `stride` bytes, each holding
// `width` pixels of format.bytes_per_pixel() bytes, little-endian.
struct Surface {
  uint8_t* base;
  uint32_t width, height;
  uint32_t stride;
  PixelFormat format;

  void put(uint32_t x, uint32_t y, uint32_t pixel) const;
  uint32_t get(uint32_t x, uint32_t y) const;  // for tests; the console never reads
};

// What a line is, from its prefix.
enum class LineKind : uint8_t { plain, pass, fail, skip, xfail, xpass, error, summary, info, warning };
constexpr unsigned kLineKinds = 10;
const char* line_kind_str(LineKind k);

// Classifies the first `n` characters of a line. Sets *decided once the
// prefix can no longer change the outcome: a whole keyword with its colon
// ("PASS:", "SKIP:", ...), or text that no keyword starts with.
LineKind classify_line(const char* text, size_t n, bool* decided);

constexpr Rgb kBackground = {0x00, 0x00, 0x00};
Rgb line_colour(LineKind k);

// The font: glyph rows top to bottom, bit 4 the leftmost column. Rows 0-6
// hold capitals and ascenders, rows 7-8 descenders.
constexpr unsigned kGlyphWidth = 5;
constexpr unsigned kGlyphHeight = 9;
// A cell adds one blank column and one blank row of spacing.
constexpr unsigned kCellWidth = kGlyphWidth + 1;
constexpr unsigned kCellHeight = kGlyphHeight + 1;
// Rows of the glyph for `c`; a box for anything but printable ASCII.
const uint8_t* glyph(char c);

// One cell of the shadow grid: the character, and the line kind above it.
using Cell = uint16_t;

class Console {
 public:
  // `cells` holds the shadow grid. `scale` 0 picks the largest factor that
  // keeps at least 100 columns (at least 1), then raises it until the grid
  // fits `capacity` cells. False when not even one row of 10 cells fits,
  // or the surface is malformed.
  bool init(const Surface& surface, Cell* cells, size_t capacity, unsigned scale = 0);
  bool ready() const { return cells_ != nullptr; }

  void write(const char* s, size_t n);
  // Blanks the screen and moves to the top-left corner.
  void clear();

  unsigned cols() const { return cols_; }
  unsigned rows() const { return rows_; }
  unsigned scale() const { return scale_; }
  unsigned cell_width() const { return kCellWidth * scale_; }
  unsigned cell_height() const { return kCellHeight * scale_; }
  unsigned cursor_col() const { return col_; }
  unsigned cursor_row() const { return row_; }
  uint64_t scrolls() const { return scrolls_; }
  char char_at(unsigned col, unsigned row) const;
  LineKind kind_at(unsigned col, unsigned row) const;
  const Surface& surface() const { return surface_; }

 private:
  Cell& cell(unsigned col, unsigned row) const { return cells_[size_t(row) * cols_ + col]; }
  void put_char(char c);
  void draw(unsigned col, unsigned row, Cell c) const;
  void store(unsigned col, unsigned row, char ch, LineKind k);
  void new_line(bool continuation);
  void scroll();
  void fill(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t pixel) const;

  Surface surface_{};
  Cell* cells_ = nullptr;
  unsigned cols_ = 0, rows_ = 0, scale_ = 1;
  unsigned col_ = 0, row_ = 0;
  uint64_t scrolls_ = 0;
  uint32_t palette_[kLineKinds] = {};
  uint32_t background_ = 0;
  LineKind kind_ = LineKind::plain;
  // Prefix of the current line while its kind is undecided.
  static constexpr size_t kMaxPrefix = 8;
  char prefix_[kMaxPrefix] = {};
  size_t prefix_len_ = 0;
  bool deciding_ = true;
};

}  // namespace fbcon

// ---- Guest ----

// Attaches the console to the GOP framebuffer and registers it with
// console_add_output. False (and nothing registered) without a framebuffer
// or with a pixel format the console cannot draw.
bool console_init_framebuffer(const boot::Framebuffer& fb);
// The live framebuffer console, or nullptr when none is attached.
const fbcon::Console* framebuffer_console();
