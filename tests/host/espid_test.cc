// The names of an ESP image (scripts/esp/espid.h): SHA-256 against the
// examples of FIPS 180-2 (appendix B), and the tree hash, GUIDs and volume
// ID against what sha256sum and the shell arithmetic of earlier builds
// gave for a small tree, so that an image stays the same byte for byte.
#include <gtest/gtest.h>

#include <string>

#include "esp/espid.h"

namespace {

// The one SHA-256 of the host program (host/run/sha256.h), which the
// snapshot keys use too.
TEST(EspId, Sha256KnownAnswers) {
  EXPECT_EQ(espid::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(espid::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(espid::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a', fed in uneven pieces across block boundaries.
  espid::Sha256 h;
  const std::string piece(777, 'a');
  size_t left = 1000000;
  while (left) {
    const size_t n = left < piece.size() ? left : piece.size();
    h.update(piece.data(), n);
    left -= n;
  }
  EXPECT_EQ(h.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // 55, 56 and 64 bytes: the padding's edge cases.
  EXPECT_EQ(espid::sha256_hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(espid::sha256_hex(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(espid::sha256_hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(EspId, TreeHashGuidsAndVolumeId) {
  // a/b.txt = "hello\n", c = "", Z = "x": given out of order.
  const std::string tree = espid::tree_hash({
      {"c", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"a/b.txt", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"},
      {"Z", "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"},
  });
  EXPECT_EQ(tree, "5ded678b28aaf046bfb2fd627509bb4821ad747a82491639cab5ba9f18e87223");
  EXPECT_EQ(espid::hex_of(tree, "disk"), "f73ff5f326c8a6c61555f83c1861e579a98ac0fa103d9eafd114035a56e6b2e3");
  // Version 8 in place of digit 12; the variant 10 in the top bits of
  // digit 16 (6 -> 9).
  EXPECT_EQ(espid::guid_of(tree, "disk"), "f73ff5f3-26c8-86c6-9555-f83c1861e579");
  EXPECT_EQ(espid::guid_of(tree, "partition"), "3798cc1a-2848-84b6-996f-044448bdb302");
  EXPECT_EQ(espid::volume_id(tree), "8abeb265");
  // Another tree, other names.
  EXPECT_NE(espid::tree_hash({{"c", "00"}}), tree);
}

}  // namespace
