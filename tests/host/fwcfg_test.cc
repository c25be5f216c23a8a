#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "fwcfg/format.h"
#include "fwcfg/load_options.h"

namespace {

// A directory as QEMU lays it out: be32 count, then 64-byte entries.
std::vector<uint8_t> make_dir(const std::vector<std::pair<std::string, std::pair<uint32_t, uint16_t>>>& files) {
  std::vector<uint8_t> d(fwcfg::kDirHeaderSize + files.size() * fwcfg::kDirEntrySize, 0);
  uint32_t n = static_cast<uint32_t>(files.size());
  d[0] = n >> 24, d[1] = n >> 16, d[2] = n >> 8, d[3] = n;
  for (size_t i = 0; i < files.size(); ++i) {
    uint8_t* e = d.data() + fwcfg::kDirHeaderSize + i * fwcfg::kDirEntrySize;
    uint32_t size = files[i].second.first;
    uint16_t sel = files[i].second.second;
    e[0] = size >> 24, e[1] = size >> 16, e[2] = size >> 8, e[3] = size;
    e[4] = sel >> 8, e[5] = sel & 0xff;
    std::memcpy(e + 8, files[i].first.data(), std::min<size_t>(files[i].first.size(), 56));
  }
  return d;
}

TEST(FwCfgDir, FindsFileWithBigEndianFields) {
  auto d = make_dir({{"etc/acpi/tables", {0x20000, 0x21}}, {"opt/efitest/test.efi", {0x1c345, 0x2a}}});
  fwcfg::File f{};
  ASSERT_EQ(fwcfg::find_file(d.data(), d.size(), "opt/efitest/test.efi", &f), fwcfg::DirStatus::ok);
  EXPECT_EQ(f.size, 0x1c345u);
  EXPECT_EQ(f.selector, 0x2a);
  EXPECT_EQ(fwcfg::dir_count(d.data()), 2u);
}

TEST(FwCfgDir, NoPrefixOrSuffixMatches) {
  auto d = make_dir({{"opt/efitest/test.efi.old", {1, 0x20}}, {"opt/efitest/test", {1, 0x21}}});
  fwcfg::File f{};
  EXPECT_EQ(fwcfg::find_file(d.data(), d.size(), "opt/efitest/test.efi", &f), fwcfg::DirStatus::not_found);
}

TEST(FwCfgDir, EmptyDirectory) {
  auto d = make_dir({});
  fwcfg::File f{};
  EXPECT_EQ(fwcfg::find_file(d.data(), d.size(), "x", &f), fwcfg::DirStatus::not_found);
}

TEST(FwCfgDir, CountBeyondBufferIsTruncated) {
  auto d = make_dir({{"a", {1, 0x20}}});
  d[3] = 2;  // claims two entries, holds one
  fwcfg::File f{};
  EXPECT_EQ(fwcfg::find_file(d.data(), d.size(), "zzz", &f), fwcfg::DirStatus::truncated);
  EXPECT_EQ(fwcfg::find_file(d.data(), 3, "a", &f), fwcfg::DirStatus::truncated);
}

TEST(FwCfgDir, FullLengthNameWithoutNul) {
  std::string name(56, 'n');
  auto d = make_dir({{name, {7, 0x30}}});
  fwcfg::File f{};
  EXPECT_EQ(fwcfg::find_file(d.data(), d.size(), name.c_str(), &f), fwcfg::DirStatus::ok);
  EXPECT_EQ(f.selector, 0x30);
  std::string longer = name + "x";
  EXPECT_EQ(fwcfg::find_file(d.data(), d.size(), longer.c_str(), &f), fwcfg::DirStatus::not_found);
}

TEST(FwCfgDir, SizeOverflow) {
  EXPECT_EQ(fwcfg::dir_size(0), 4u);
  EXPECT_EQ(fwcfg::dir_size(3), 4u + 3 * 64);
  EXPECT_EQ(fwcfg::dir_size(0xffffffffu), 0u);
}

// The bytes as the device reads them from guest memory.
std::vector<uint8_t> bytes_of(const fwcfg::DmaAccess& d) {
  std::vector<uint8_t> b(sizeof d);
  std::memcpy(b.data(), &d, sizeof d);
  return b;
}

TEST(FwCfgDma, SelectReadIsBigEndian) {
  auto b = bytes_of(fwcfg::dma_select_read(0x0019, 0x11223344556677ull, 0x40));
  // control = selector << 16 | select (0x08) | read (0x02)
  std::vector<uint8_t> want = {0x00, 0x19, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x40,
                               0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
  EXPECT_EQ(b, want);
}

TEST(FwCfgDma, PlainReadHasNoSelector) {
  auto b = bytes_of(fwcfg::dma_read(0x1000, 4));
  std::vector<uint8_t> want = {0, 0, 0, 0x02, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0x10, 0};
  EXPECT_EQ(b, want);
}

TEST(FwCfgDma, StateFromControl) {
  fwcfg::DmaAccess d = fwcfg::dma_read(0, 1);
  EXPECT_EQ(fwcfg::dma_state(d), fwcfg::DmaState::busy);
  d.control_be = 0;
  EXPECT_EQ(fwcfg::dma_state(d), fwcfg::DmaState::done);
  d.control_be = fwcfg::be32(fwcfg::DmaControl::error);
  EXPECT_EQ(fwcfg::dma_state(d), fwcfg::DmaState::error);
  d.control_be = fwcfg::be32(fwcfg::DmaControl::error | fwcfg::DmaControl::read);
  EXPECT_EQ(fwcfg::dma_state(d), fwcfg::DmaState::error);
}

std::u16string options(const std::string& text, size_t capacity = 256, size_t* bytes = nullptr) {
  std::vector<char16_t> out(capacity + 1, u'#');
  size_t n = fwcfg::build_load_options(text.data(), text.size(), out.data(), capacity);
  EXPECT_EQ(out[capacity], u'#') << "wrote past capacity";
  if (bytes) *bytes = n;
  if (n == 0) return u"<none>";
  EXPECT_EQ(n % 2, 0u);
  EXPECT_EQ(out[n / 2 - 1], u'\0');
  return std::u16string(out.data(), n / 2 - 1);
}

TEST(LoadOptions, AsOvmfBuildsThemForAppend) {
  size_t bytes = 0;
  EXPECT_EQ(options("selftest argv-check \"two words\" last", 256, &bytes),
            u"selftest argv-check \"two words\" last");
  EXPECT_EQ(bytes, (36u + 1) * 2);
}

TEST(LoadOptions, EmptyMeansNone) {
  EXPECT_EQ(fwcfg::load_options_units("", 0), 0u);
  EXPECT_EQ(options(""), u"<none>");
  EXPECT_EQ(options(std::string("\0abc", 4)), u"<none>");
}

TEST(LoadOptions, StopsAtNul) {
  EXPECT_EQ(options(std::string("ab\0cd", 5)), u"ab");
}

TEST(LoadOptions, BytesAreWidenedNotDecoded) {
  // OVMF widens each byte of the ASCII command line; so must we.
  EXPECT_EQ(options("\xc3\xa9"), std::u16string({0xc3, 0xa9}));
}

TEST(LoadOptions, TooSmallBuffer) {
  EXPECT_EQ(options("abc", 3), u"<none>");
  EXPECT_EQ(options("abc", 4), u"abc");
}

}  // namespace
