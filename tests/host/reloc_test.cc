#include "elf/reloc.h"

#include <gtest/gtest.h>

#include <cstring>

namespace {

using elf::Dyn;
using elf::Rela;
using elf::RelocStatus;

constexpr uint64_t rela_info(uint32_t sym, uint32_t type) {
  return (static_cast<uint64_t>(sym) << 32) | type;
}

// A fake loaded image: relocation targets at the start, the RELA table at
// kRelaOff, all addressed relative to the image base like a real link at 0.
struct FakeImage {
  static constexpr size_t kRelaOff = 256;
  alignas(16) unsigned char bytes[1024] = {};

  uintptr_t base() const { return reinterpret_cast<uintptr_t>(bytes); }
  uint64_t word(size_t off) const {
    uint64_t v;
    std::memcpy(&v, bytes + off, sizeof v);
    return v;
  }
  void set_word(size_t off, uint64_t v) { std::memcpy(bytes + off, &v, sizeof v); }
  void set_rela(size_t i, uint64_t offset, uint64_t info, int64_t addend) {
    Rela r{offset, info, addend};
    std::memcpy(bytes + kRelaOff + i * sizeof(Rela), &r, sizeof r);
  }
};

TEST(Reloc, AppliesRelativeAndSkipsNone) {
  FakeImage img;
  img.set_word(0, 0x1111);
  img.set_word(8, 0x2222);
  img.set_word(16, 0x3333);
  img.set_rela(0, 0, rela_info(0, elf::R_X86_64_RELATIVE), 0x40);
  img.set_rela(1, 8, rela_info(0, elf::R_X86_64_NONE), 0x99);
  img.set_rela(2, 16, rela_info(0, elf::R_X86_64_RELATIVE), 0x1000);
  const Dyn dyn[] = {{elf::DT_RELA, FakeImage::kRelaOff},
                     {elf::DT_RELASZ, 3 * sizeof(Rela)},
                     {elf::DT_RELAENT, sizeof(Rela)},
                     {elf::DT_RELACOUNT, 2},
                     {elf::DT_NULL, 0}};

  const auto r = elf::apply_relocations(img.base(), dyn);

  EXPECT_EQ(r.status, RelocStatus::ok);
  EXPECT_EQ(r.applied, 2u);
  EXPECT_EQ(img.word(0), img.base() + 0x40);
  EXPECT_EQ(img.word(8), 0x2222u) << "R_X86_64_NONE must not write";
  EXPECT_EQ(img.word(16), img.base() + 0x1000);
}

TEST(Reloc, NegativeAddendWrapsLikeTheLinker) {
  FakeImage img;
  img.set_rela(0, 0, rela_info(0, elf::R_X86_64_RELATIVE), -8);
  const Dyn dyn[] = {{elf::DT_RELA, FakeImage::kRelaOff},
                     {elf::DT_RELASZ, sizeof(Rela)},
                     {elf::DT_RELAENT, sizeof(Rela)},
                     {elf::DT_NULL, 0}};
  const auto r = elf::apply_relocations(img.base(), dyn);
  EXPECT_EQ(r.status, RelocStatus::ok);
  EXPECT_EQ(r.applied, 1u);
  EXPECT_EQ(img.word(0), img.base() - 8);
}

TEST(Reloc, RefusedTypeAppliesNothing) {
  FakeImage img;
  img.set_word(0, 0xaaaa);
  img.set_word(8, 0xbbbb);
  // The valid entry comes first: it must not be applied either.
  img.set_rela(0, 0, rela_info(0, elf::R_X86_64_RELATIVE), 0x40);
  img.set_rela(1, 8, rela_info(5, 1 /* R_X86_64_64 */), 0);
  const Dyn dyn[] = {{elf::DT_RELAENT, sizeof(Rela)},
                     {elf::DT_RELASZ, 2 * sizeof(Rela)},
                     {elf::DT_RELA, FakeImage::kRelaOff},
                     {elf::DT_NULL, 0}};

  const auto r = elf::apply_relocations(img.base(), dyn);

  EXPECT_EQ(r.status, RelocStatus::unsupported_type);
  EXPECT_EQ(r.bad_type, 1u);
  EXPECT_EQ(r.bad_offset, 8u);
  EXPECT_EQ(r.applied, 0u);
  EXPECT_EQ(img.word(0), 0xaaaau);
  EXPECT_EQ(img.word(8), 0xbbbbu);
}

TEST(Reloc, TypeIsLowHalfOfInfo) {
  // Symbol index 8 with type GLOB_DAT (6): a sloppy check on the whole
  // r_info, or on the wrong half, would take it for RELATIVE.
  FakeImage img;
  img.set_rela(0, 0, rela_info(elf::R_X86_64_RELATIVE, 6), 0);
  const Dyn dyn[] = {{elf::DT_RELA, FakeImage::kRelaOff},
                     {elf::DT_RELASZ, sizeof(Rela)},
                     {elf::DT_RELAENT, sizeof(Rela)},
                     {elf::DT_NULL, 0}};
  const auto r = elf::apply_relocations(img.base(), dyn);
  EXPECT_EQ(r.status, RelocStatus::unsupported_type);
  EXPECT_EQ(r.bad_type, 6u);
  EXPECT_EQ(img.word(0), 0u);
}

TEST(Reloc, BadRelaEntRefused) {
  FakeImage img;
  img.set_rela(0, 0, rela_info(0, elf::R_X86_64_RELATIVE), 0x40);
  const Dyn dyn[] = {{elf::DT_RELA, FakeImage::kRelaOff},
                     {elf::DT_RELASZ, sizeof(Rela)},
                     {elf::DT_RELAENT, 16},
                     {elf::DT_NULL, 0}};
  const auto r = elf::apply_relocations(img.base(), dyn);
  EXPECT_EQ(r.status, RelocStatus::bad_entry_size);
  EXPECT_EQ(r.applied, 0u);
  EXPECT_EQ(img.word(0), 0u);
}

TEST(Reloc, MissingRelaEntRefused) {
  FakeImage img;
  img.set_rela(0, 0, rela_info(0, elf::R_X86_64_RELATIVE), 0x40);
  const Dyn dyn[] = {{elf::DT_RELA, FakeImage::kRelaOff},
                     {elf::DT_RELASZ, sizeof(Rela)},
                     {elf::DT_NULL, 0}};
  EXPECT_EQ(elf::apply_relocations(img.base(), dyn).status, RelocStatus::bad_entry_size);
  EXPECT_EQ(img.word(0), 0u);
}

TEST(Reloc, PartialEntryRefused) {
  FakeImage img;
  img.set_rela(0, 0, rela_info(0, elf::R_X86_64_RELATIVE), 0x40);
  const Dyn dyn[] = {{elf::DT_RELA, FakeImage::kRelaOff},
                     {elf::DT_RELASZ, sizeof(Rela) + 8},
                     {elf::DT_RELAENT, sizeof(Rela)},
                     {elf::DT_NULL, 0}};
  EXPECT_EQ(elf::apply_relocations(img.base(), dyn).status, RelocStatus::bad_entry_size);
  EXPECT_EQ(img.word(0), 0u);
}

TEST(Reloc, MissingSizeRefused) {
  FakeImage img;
  const Dyn dyn[] = {{elf::DT_RELA, FakeImage::kRelaOff},
                     {elf::DT_RELAENT, sizeof(Rela)},
                     {elf::DT_NULL, 0}};
  const auto r = elf::apply_relocations(img.base(), dyn);
  EXPECT_EQ(r.status, RelocStatus::missing_size);
  EXPECT_EQ(r.applied, 0u);
}

TEST(Reloc, NoRelaIsNothingToDo) {
  FakeImage img;
  const Dyn dyn[] = {{21 /* DT_DEBUG */, 0x1234}, {elf::DT_NULL, 0}};
  const auto r = elf::apply_relocations(img.base(), dyn);
  EXPECT_EQ(r.status, RelocStatus::ok);
  EXPECT_EQ(r.applied, 0u);
}

TEST(Reloc, EmptyTable) {
  FakeImage img;
  const Dyn dyn[] = {{elf::DT_RELA, FakeImage::kRelaOff},
                     {elf::DT_RELASZ, 0},
                     {elf::DT_RELAENT, sizeof(Rela)},
                     {elf::DT_NULL, 0}};
  const auto r = elf::apply_relocations(img.base(), dyn);
  EXPECT_EQ(r.status, RelocStatus::ok);
  EXPECT_EQ(r.applied, 0u);
}

TEST(Reloc, StopsAtDtNull) {
  // Tags after DT_NULL are not part of the array.
  FakeImage img;
  img.set_rela(0, 0, rela_info(0, elf::R_X86_64_RELATIVE), 0x40);
  const Dyn dyn[] = {{elf::DT_NULL, 0},
                     {elf::DT_RELA, FakeImage::kRelaOff},
                     {elf::DT_RELASZ, sizeof(Rela)},
                     {elf::DT_RELAENT, sizeof(Rela)}};
  const auto r = elf::apply_relocations(img.base(), dyn);
  EXPECT_EQ(r.status, RelocStatus::ok);
  EXPECT_EQ(r.applied, 0u);
  EXPECT_EQ(img.word(0), 0u);
}

}  // namespace
