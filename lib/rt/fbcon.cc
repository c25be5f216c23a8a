// Framebuffer text console, portable part; the contract is in fbcon.h.
#include "rt/fbcon.h"

namespace fbcon {

// Never defined: reaching it during constant evaluation stops the build.
void font_art_is_malformed();

namespace {

// ---- Font ----
//
// Our own 5x9 design, drawn as pictures: each block shows eight glyphs side
// by side, one string per glyph row, '#' a lit pixel. The table is built from
// these pictures at compile time; a malformed picture fails the build.
struct FontArt {
  uint8_t first;    // the character of the leftmost glyph
  const char* art;  // kGlyphHeight rows of kArtRowChars characters
};
constexpr unsigned kArtGlyphs = 8;
constexpr unsigned kArtRowChars = kArtGlyphs * (kGlyphWidth + 1) - 1;
constexpr unsigned kFirstGlyph = 0x20;
constexpr unsigned kGlyphCount = 0x60;  // 0x20-0x7e, and 0x7f drawn as a box
constexpr uint8_t kBoxGlyph = 0x7f;

constexpr FontArt kFontArt[] = {
    // chars 0x20-0x27: SP ! " # $ % & '
    {0x20,
     "..... ..#.. .#.#. .#.#. ..#.. ##... .##.. ..#.."
     "..... ..#.. .#.#. .#.#. .#### ##..# #..#. ..#.."
     "..... ..#.. .#.#. ##### #.#.. ...#. #.#.. .#..."
     "..... ..#.. ..... .#.#. .###. ..#.. .#... ....."
     "..... ..#.. ..... ##### ..#.# .#... #.#.# ....."
     "..... ..... ..... .#.#. ####. #..## #..#. ....."
     "..... ..#.. ..... .#.#. ..#.. ...## .##.# ....."
     "..... ..... ..... ..... ..... ..... ..... ....."
     "..... ..... ..... ..... ..... ..... ..... ....."},
    // chars 0x28-0x2f: ( ) * + , - . /
    {0x28,
     "...#. .#... ..... ..... ..... ..... ..... ....."
     "..#.. ..#.. ..#.. ..#.. ..... ..... ..... ....#"
     ".#... ...#. #.#.# ..#.. ..... ..... ..... ...#."
     ".#... ...#. .###. ##### ..... ##### ..... ..#.."
     ".#... ...#. #.#.# ..#.. ..... ..... ..... .#..."
     "..#.. ..#.. ..#.. ..#.. .##.. ..... .##.. #...."
     "...#. .#... ..... ..... .##.. ..... .##.. ....."
     "..... ..... ..... ..... ..#.. ..... ..... ....."
     "..... ..... ..... ..... .#... ..... ..... ....."},
    // chars 0x30-0x37: 0 1 2 3 4 5 6 7
    {0x30,
     ".###. ..#.. .###. ##### ...#. ##### ..##. #####"
     "#...# .##.. #...# ...#. ..##. #.... .#... ....#"
     "#..## ..#.. ....# ..#.. .#.#. ####. #.... ...#."
     "#.#.# ..#.. ...#. ...#. #..#. ....# ####. ..#.."
     "##..# ..#.. ..#.. ....# ##### ....# #...# .#..."
     "#...# ..#.. .#... #...# ...#. #...# #...# .#..."
     ".###. .###. ##### .###. ...#. .###. .###. .#..."
     "..... ..... ..... ..... ..... ..... ..... ....."
     "..... ..... ..... ..... ..... ..... ..... ....."},
    // chars 0x38-0x3f: 8 9 : ; < = > ?
    {0x38,
     ".###. .###. ..... ..... ...#. ..... .#... .###."
     "#...# #...# .##.. .##.. ..#.. ..... ..#.. #...#"
     "#...# #...# .##.. .##.. .#... ##### ...#. ....#"
     ".###. .#### ..... ..... #.... ..... ....# ...#."
     "#...# ....# .##.. .##.. .#... ##### ...#. ..#.."
     "#...# ...#. .##.. .##.. ..#.. ..... ..#.. ....."
     ".###. .##.. ..... ..#.. ...#. ..... .#... ..#.."
     "..... ..... ..... .#... ..... ..... ..... ....."
     "..... ..... ..... ..... ..... ..... ..... ....."},
    // chars 0x40-0x47: @ A B C D E F G
    {0x40,
     ".###. .###. ####. .###. ###.. ##### ##### .###."
     "#...# #...# #...# #...# #..#. #.... #.... #...#"
     "#.### #...# #...# #.... #...# #.... #.... #...."
     "#.#.# ##### ####. #.... #...# ####. ####. #.###"
     "#.### #...# #...# #.... #...# #.... #.... #...#"
     "#.... #...# #...# #...# #..#. #.... #.... #...#"
     ".###. #...# ####. .###. ###.. ##### #.... .####"
     "..... ..... ..... ..... ..... ..... ..... ....."
     "..... ..... ..... ..... ..... ..... ..... ....."},
    // chars 0x48-0x4f: H I J K L M N O
    {0x48,
     "#...# .###. ..### #...# #.... #...# #...# .###."
     "#...# ..#.. ...#. #..#. #.... ##.## #...# #...#"
     "#...# ..#.. ...#. #.#.. #.... #.#.# ##..# #...#"
     "##### ..#.. ...#. ##... #.... #.#.# #.#.# #...#"
     "#...# ..#.. ...#. #.#.. #.... #...# #..## #...#"
     "#...# ..#.. #..#. #..#. #.... #...# #...# #...#"
     "#...# .###. .##.. #...# ##### #...# #...# .###."
     "..... ..... ..... ..... ..... ..... ..... ....."
     "..... ..... ..... ..... ..... ..... ..... ....."},
    // chars 0x50-0x57: P Q R S T U V W
    {0x50,
     "####. .###. ####. .#### ##### #...# #...# #...#"
     "#...# #...# #...# #.... ..#.. #...# #...# #...#"
     "#...# #...# #...# #.... ..#.. #...# #...# #...#"
     "####. #...# ####. .###. ..#.. #...# #...# #.#.#"
     "#.... #.#.# #.#.. ....# ..#.. #...# #...# #.#.#"
     "#.... #..#. #..#. ....# ..#.. #...# .#.#. #.#.#"
     "#.... .##.# #...# ####. ..#.. .###. ..#.. .#.#."
     "..... ..... ..... ..... ..... ..... ..... ....."
     "..... ..... ..... ..... ..... ..... ..... ....."},
    // chars 0x58-0x5f: X Y Z [ \ ] ^ _
    {0x58,
     "#...# #...# ##### .###. ..... .###. ..#.. ....."
     "#...# #...# ....# .#... #.... ...#. .#.#. ....."
     ".#.#. .#.#. ...#. .#... .#... ...#. #...# ....."
     "..#.. ..#.. ..#.. .#... ..#.. ...#. ..... ....."
     ".#.#. ..#.. .#... .#... ...#. ...#. ..... ....."
     "#...# ..#.. #.... .#... ....# ...#. ..... ....."
     "#...# ..#.. ##### .###. ..... .###. ..... ....."
     "..... ..... ..... ..... ..... ..... ..... #####"
     "..... ..... ..... ..... ..... ..... ..... ....."},
    // chars 0x60-0x67: ` a b c d e f g
    {0x60,
     ".#... ..... #.... ..... ....# ..... ..##. ....."
     "..#.. ..... #.... ..... ....# ..... .#..# ....."
     "...#. .###. #.##. .###. .##.# .###. .#... .####"
     "..... ....# ##..# #.... #..## #...# ###.. #...#"
     "..... .#### #...# #.... #...# ##### .#... #...#"
     "..... #...# #...# #...# #...# #.... .#... #...#"
     "..... .#### ####. .###. .#### .###. .#... .####"
     "..... ..... ..... ..... ..... ..... ..... ....#"
     "..... ..... ..... ..... ..... ..... ..... .###."},
    // chars 0x68-0x6f: h i j k l m n o
    {0x68,
     "#.... ..#.. ...#. #.... .##.. ..... ..... ....."
     "#.... ..... ..... #.... ..#.. ..... ..... ....."
     "#.##. .##.. ..##. #..#. ..#.. ##.#. #.##. .###."
     "##..# ..#.. ...#. #.#.. ..#.. #.#.# ##..# #...#"
     "#...# ..#.. ...#. ##... ..#.. #.#.# #...# #...#"
     "#...# ..#.. ...#. #.#.. ..#.. #.#.# #...# #...#"
     "#...# .###. ...#. #..#. .###. #.#.# #...# .###."
     "..... ..... #..#. ..... ..... ..... ..... ....."
     "..... ..... .##.. ..... ..... ..... ..... ....."},
    // chars 0x70-0x77: p q r s t u v w
    {0x70,
     "..... ..... ..... ..... .#... ..... ..... ....."
     "..... ..... ..... ..... .#... ..... ..... ....."
     "####. .#### #.##. .#### ###.. #...# #...# #...#"
     "#...# #...# ##..# #.... .#... #...# #...# #...#"
     "#...# #...# #.... .###. .#... #...# #...# #.#.#"
     "#...# #...# #.... ....# .#..# #..## .#.#. #.#.#"
     "####. .#### #.... ####. ..##. .##.# ..#.. .#.#."
     "#.... ....# ..... ..... ..... ..... ..... ....."
     "#.... ....# ..... ..... ..... ..... ..... ....."},
    // chars 0x78-0x7f: x y z { | } ~ (none)
    {0x78,
     "..... ..... ..... ...## ..#.. ##... ..... #####"
     "..... ..... ..... ..#.. ..#.. ..#.. ..... #...#"
     "#...# #...# ##### ..#.. ..#.. ..#.. .#... #...#"
     ".#.#. #...# ...#. .#... ..#.. ...#. #.#.# #...#"
     "..#.. #...# ..#.. ..#.. ..#.. ..#.. ...#. #...#"
     ".#.#. #...# .#... ..#.. ..#.. ..#.. ..... #...#"
     "#...# .#### ##### ...## ..#.. ##... ..... #####"
     "..... ....# ..... ..... ..#.. ..... ..... ....."
     "..... .###. ..... ..... ..... ..... ..... ....."},
};
static_assert(sizeof(kFontArt) / sizeof(kFontArt[0]) * kArtGlyphs == kGlyphCount);

struct FontTable {
  uint8_t rows[kGlyphCount][kGlyphHeight];
};

consteval FontTable build_font() {
  FontTable t{};
  unsigned block = 0;
  for (const FontArt& a : kFontArt) {
    if (a.first != kFirstGlyph + block * kArtGlyphs) font_art_is_malformed();
    unsigned len = 0;
    while (a.art[len]) ++len;
    if (len != kArtRowChars * kGlyphHeight) font_art_is_malformed();
    for (unsigned y = 0; y < kGlyphHeight; ++y) {
      const char* row = a.art + y * kArtRowChars;
      for (unsigned i = 0; i < kArtRowChars; ++i) {
        const unsigned g = i / (kGlyphWidth + 1), x = i % (kGlyphWidth + 1);
        const char ch = row[i];
        if (x == kGlyphWidth) {
          if (ch != ' ') font_art_is_malformed();
          continue;
        }
        if (ch != '#' && ch != '.') font_art_is_malformed();
        if (ch == '#')
          t.rows[block * kArtGlyphs + g][y] |= static_cast<uint8_t>(1u << (kGlyphWidth - 1 - x));
      }
    }
    ++block;
  }
  return t;
}

constexpr FontTable kFont = build_font();

// ---- Line kinds ----

struct Keyword {
  const char* text;
  LineKind kind;
};
// The verdict prefixes of rt/report.h plus the runtime's own INFO and
// WARNING lines. None is a prefix of another.
constexpr Keyword kKeywords[] = {
    {"PASS:", LineKind::pass},       {"FAIL:", LineKind::fail},
    {"SKIP:", LineKind::skip},       {"XFAIL:", LineKind::xfail},
    {"XPASS:", LineKind::xpass},     {"ERROR:", LineKind::error},
    {"SUMMARY:", LineKind::summary}, {"INFO:", LineKind::info},
    {"WARNING:", LineKind::warning},
};

constexpr Cell kBlank = ' ';

constexpr Cell make_cell(char ch, LineKind k) {
  return ch == ' ' ? kBlank
                   : static_cast<Cell>(static_cast<uint8_t>(ch) | static_cast<unsigned>(k) << 8);
}

// Channel value 0-255 scaled to `bits` bits, rounded to nearest.
uint32_t scale_to(uint8_t v, unsigned bits) {
  const uint64_t max = (uint64_t{1} << bits) - 1;
  return static_cast<uint32_t>((v * max + 127) / 255);
}

uint8_t scale_from(uint32_t v, unsigned bits) {
  const uint64_t max = (uint64_t{1} << bits) - 1;
  return static_cast<uint8_t>((v * 255 + max / 2) / max);
}

bool contiguous(uint32_t mask) {
  if (!mask) return false;
  const uint32_t run = mask >> __builtin_ctz(mask);
  return (run & (run + 1)) == 0;
}

}  // namespace

// ---- Pixels ----

bool PixelFormat::from_masks(uint32_t red, uint32_t green, uint32_t blue, uint32_t reserved,
                             PixelFormat* out) {
  if (!contiguous(red) || !contiguous(green) || !contiguous(blue)) return false;
  if ((red & green) || (red & blue) || (green & blue) || ((red | green | blue) & reserved))
    return false;
  const uint32_t all = red | green | blue | reserved;
  const unsigned top_bit = 31 - __builtin_clz(all);
  const unsigned bytes = top_bit / 8 + 1;
  if (bytes < 2) return false;
  // The masks are contiguous: the width is the length of the run.
  auto channel = [](uint32_t m) {
    const unsigned shift = __builtin_ctz(m);
    return Channel{static_cast<uint8_t>(shift), static_cast<uint8_t>(32 - __builtin_clz(m >> shift))};
  };
  *out = PixelFormat(channel(red), channel(green), channel(blue), static_cast<uint8_t>(bytes));
  return true;
}

uint32_t PixelFormat::pack(Rgb c) const {
  return scale_to(c.r, r_.bits) << r_.shift | scale_to(c.g, g_.bits) << g_.shift |
         scale_to(c.b, b_.bits) << b_.shift;
}

Rgb PixelFormat::unpack(uint32_t v) const {
  auto field = [v](Channel ch) {
    const uint32_t mask = ch.bits == 32 ? ~0u : (1u << ch.bits) - 1;
    return scale_from((v >> ch.shift) & mask, ch.bits);
  };
  return Rgb{field(r_), field(g_), field(b_)};
}

void Surface::put(uint32_t x, uint32_t y, uint32_t pixel) const {
  uint8_t* p = base + size_t(y) * stride + size_t(x) * format.bytes_per_pixel();
  switch (format.bytes_per_pixel()) {
    case 4: __builtin_memcpy(p, &pixel, 4); break;
    case 3:
      p[0] = static_cast<uint8_t>(pixel);
      p[1] = static_cast<uint8_t>(pixel >> 8);
      p[2] = static_cast<uint8_t>(pixel >> 16);
      break;
    case 2: {
      const uint16_t v = static_cast<uint16_t>(pixel);
      __builtin_memcpy(p, &v, 2);
      break;
    }
  }
}

uint32_t Surface::get(uint32_t x, uint32_t y) const {
  const uint8_t* p = base + size_t(y) * stride + size_t(x) * format.bytes_per_pixel();
  uint32_t v = 0;
  for (unsigned i = 0; i < format.bytes_per_pixel(); ++i) v |= uint32_t{p[i]} << (8 * i);
  return v;
}

// ---- Lines and glyphs ----

const char* line_kind_str(LineKind k) {
  switch (k) {
    case LineKind::plain: return "plain";
    case LineKind::pass: return "PASS";
    case LineKind::fail: return "FAIL";
    case LineKind::skip: return "SKIP";
    case LineKind::xfail: return "XFAIL";
    case LineKind::xpass: return "XPASS";
    case LineKind::error: return "ERROR";
    case LineKind::summary: return "SUMMARY";
    case LineKind::info: return "INFO";
    case LineKind::warning: return "WARNING";
  }
  return "?";
}

LineKind classify_line(const char* text, size_t n, bool* decided) {
  bool possible = false;
  for (const Keyword& k : kKeywords) {
    size_t i = 0;
    while (i < n && k.text[i] && k.text[i] == text[i]) ++i;
    if (i < n) continue;  // text differs, or is longer than the keyword
    if (!k.text[i]) {
      *decided = true;
      return k.kind;
    }
    possible = true;
  }
  *decided = !possible;
  return LineKind::plain;
}

Rgb line_colour(LineKind k) {
  switch (k) {
    case LineKind::plain: return {0xc0, 0xc0, 0xc0};
    case LineKind::pass: return {0x40, 0xe0, 0x40};
    case LineKind::fail: return {0xff, 0x40, 0x40};
    case LineKind::skip: return {0xe0, 0xe0, 0x40};
    case LineKind::xfail: return {0xff, 0xa0, 0x20};
    case LineKind::xpass: return {0xff, 0x40, 0xa0};
    case LineKind::error: return {0xff, 0x40, 0xff};
    case LineKind::summary: return {0xff, 0xff, 0xff};
    case LineKind::info: return {0x70, 0xb0, 0xff};
    case LineKind::warning: return {0xff, 0xa0, 0x20};
  }
  return {0xc0, 0xc0, 0xc0};
}

const uint8_t* glyph(char c) {
  const auto u = static_cast<uint8_t>(c);
  const unsigned index = (u >= kFirstGlyph && u < kBoxGlyph ? u : kBoxGlyph) - kFirstGlyph;
  return kFont.rows[index];
}

// ---- Console ----

bool Console::init(const Surface& s, Cell* cells, size_t capacity, unsigned scale) {
  cells_ = nullptr;
  const unsigned bpp = s.format.bytes_per_pixel();
  if (!s.base || !cells || bpp < 2 || bpp > 4 || s.width == 0 || s.height == 0 ||
      uint64_t{s.width} * bpp > s.stride)
    return false;
  constexpr unsigned kMinCols = kMaxPrefix + 2;
  constexpr unsigned kAutoCols = 100;
  const bool automatic = scale == 0;
  if (automatic) {
    scale = s.width / (kCellWidth * kAutoCols);
    if (scale == 0) scale = 1;
  }
  for (;;) {
    cols_ = s.width / (kCellWidth * scale);
    rows_ = s.height / (kCellHeight * scale);
    if (cols_ < kMinCols || rows_ < 1) return false;
    if (size_t(cols_) * rows_ <= capacity) break;
    if (!automatic) return false;
    ++scale;
  }
  surface_ = s;
  scale_ = scale;
  cells_ = cells;
  for (unsigned k = 0; k < kLineKinds; ++k)
    palette_[k] = s.format.pack(line_colour(static_cast<LineKind>(k)));
  background_ = s.format.pack(kBackground);
  scrolls_ = 0;
  clear();
  return true;
}

void Console::clear() {
  if (!cells_) return;
  fill(0, 0, surface_.width, surface_.height, background_);
  for (size_t i = 0; i < size_t(cols_) * rows_; ++i) cells_[i] = kBlank;
  col_ = row_ = 0;
  kind_ = LineKind::plain;
  prefix_len_ = 0;
  deciding_ = true;
}

char Console::char_at(unsigned col, unsigned row) const {
  return col < cols_ && row < rows_ ? static_cast<char>(cell(col, row) & 0xff) : ' ';
}

LineKind Console::kind_at(unsigned col, unsigned row) const {
  return col < cols_ && row < rows_ ? static_cast<LineKind>(cell(col, row) >> 8) : LineKind::plain;
}

void Console::fill(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t pixel) const {
  for (uint32_t j = 0; j < h; ++j)
    for (uint32_t i = 0; i < w; ++i) surface_.put(x + i, y + j, pixel);
}

void Console::draw(unsigned col, unsigned row, Cell c) const {
  const uint8_t* g = glyph(static_cast<char>(c & 0xff));
  const uint32_t fg = palette_[(c >> 8) < kLineKinds ? c >> 8 : 0];
  const uint32_t x0 = col * cell_width(), y0 = row * cell_height();
  for (unsigned gy = 0; gy < kCellHeight; ++gy) {
    const uint8_t bits = gy < kGlyphHeight ? g[gy] : 0;
    for (unsigned sy = 0; sy < scale_; ++sy) {
      const uint32_t y = y0 + gy * scale_ + sy;
      for (unsigned gx = 0; gx < kCellWidth; ++gx) {
        const bool lit = gx < kGlyphWidth && (bits & (1u << (kGlyphWidth - 1 - gx)));
        const uint32_t px = lit ? fg : background_;
        for (unsigned sx = 0; sx < scale_; ++sx) surface_.put(x0 + gx * scale_ + sx, y, px);
      }
    }
  }
}

void Console::store(unsigned col, unsigned row, char ch, LineKind k) {
  const Cell v = make_cell(ch, k);
  Cell& c = cell(col, row);
  if (c == v) return;
  c = v;
  draw(col, row, v);
}

// Shifts the grid up one row and redraws only what changed on screen:
// blank tails of lines and repeated text cost nothing.
void Console::scroll() {
  for (unsigned r = 0; r + 1 < rows_; ++r) {
    for (unsigned c = 0; c < cols_; ++c) {
      const Cell below = cell(c, r + 1);
      if (cell(c, r) == below) continue;
      cell(c, r) = below;
      draw(c, r, below);
    }
  }
  for (unsigned c = 0; c < cols_; ++c) store(c, rows_ - 1, ' ', LineKind::plain);
  ++scrolls_;
}

void Console::new_line(bool continuation) {
  col_ = 0;
  if (row_ + 1 < rows_)
    ++row_;
  else
    scroll();
  if (!continuation) {
    kind_ = LineKind::plain;
    prefix_len_ = 0;
    deciding_ = true;
  }
}

void Console::put_char(char c) {
  switch (c) {
    case '\n': new_line(false); return;
    case '\r':
      col_ = 0;
      deciding_ = false;
      return;
    case '\b':
      if (col_) --col_;
      deciding_ = false;
      return;
    case '\t': {
      deciding_ = false;
      if (col_ == cols_) new_line(true);
      const unsigned stop = (col_ / 8 + 1) * 8;
      while (col_ < stop && col_ < cols_) store(col_++, row_, ' ', kind_);
      return;
    }
    default: break;
  }
  // A full line wraps when the next character arrives, so a line of exactly
  // `cols_` characters and its newline take one row, not two.
  if (col_ == cols_) new_line(true);
  store(col_++, row_, c, kind_);
  if (!deciding_) return;
  prefix_[prefix_len_++] = c;
  bool decided = false;
  const LineKind k = classify_line(prefix_, prefix_len_, &decided);
  if (!decided && prefix_len_ < kMaxPrefix) return;
  deciding_ = false;
  if (k == kind_) return;
  // The prefix never wraps (cols_ > kMaxPrefix), so it sits at the start of
  // this row.
  kind_ = k;
  for (unsigned i = 0; i < col_; ++i) store(i, row_, char_at(i, row_), k);
}

void Console::write(const char* s, size_t n) {
  if (!cells_) return;
  for (size_t i = 0; i < n; ++i) put_char(s[i]);
}

}  // namespace fbcon
