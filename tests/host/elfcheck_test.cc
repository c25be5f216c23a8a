// The build's ELF checks (scripts/image/elfcheck.h): each refusal of
// `petool check-elf` and `petool check-pvh`, on small ELF files built here
// byte by byte, and the files that must pass.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "image/elfcheck.h"

namespace {

using Bytes = std::vector<uint8_t>;
using namespace elfcheck;

void put(Bytes& b, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void set(Bytes& b, size_t off, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

// An ELF64 file: the header, the program headers, each section's bytes
// (8-aligned), the section-name table and the section headers.
struct Builder {
  struct Sec {
    std::string name;
    uint32_t type;
    Bytes data;
    uint32_t link = 0;
    uint64_t entsize = 0;
  };
  struct Seg {
    uint32_t type, flags;
    int sec = -1;  // the section whose bytes it covers, if any
    uint64_t vaddr = 0, memsz = 0, align = 4;
  };
  uint16_t type = kEtDyn;
  uint16_t machine = kEmX86_64;
  bool section_headers = true;
  std::vector<Sec> secs;
  std::vector<Seg> segs;

  // Returns the section's index in the file's section table (1-based: 0
  // is the null section).
  uint32_t add(Sec s) {
    secs.push_back(std::move(s));
    return static_cast<uint32_t>(secs.size());
  }

  Bytes build() const {
    Bytes b;
    const uint64_t phoff = 64, data = phoff + 56 * segs.size();
    std::vector<uint64_t> off;
    Bytes body;
    for (const Sec& s : secs) {
      while ((data + body.size()) % 8) body.push_back(0);
      off.push_back(data + body.size());
      body.insert(body.end(), s.data.begin(), s.data.end());
    }
    Bytes shstr{0};
    std::vector<uint32_t> names;
    for (const Sec& s : secs) {
      names.push_back(static_cast<uint32_t>(shstr.size()));
      shstr.insert(shstr.end(), s.name.begin(), s.name.end());
      shstr.push_back(0);
    }
    const uint32_t shstr_name = static_cast<uint32_t>(shstr.size());
    for (char c : std::string(".shstrtab")) shstr.push_back(static_cast<uint8_t>(c));
    shstr.push_back(0);
    const uint64_t shstr_off = data + body.size();
    body.insert(body.end(), shstr.begin(), shstr.end());
    while ((data + body.size()) % 8) body.push_back(0);
    const uint64_t shoff = data + body.size();
    const uint16_t shnum = section_headers ? static_cast<uint16_t>(secs.size() + 2) : 0;

    const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    b.assign(ident, ident + 16);
    put(b, type, 2);
    put(b, machine, 2);
    put(b, 1, 4);           // e_version
    put(b, 0x100000, 8);    // e_entry
    put(b, segs.empty() ? 0 : phoff, 8);
    put(b, section_headers ? shoff : 0, 8);
    put(b, 0, 4);           // e_flags
    put(b, 64, 2);          // e_ehsize
    put(b, 56, 2);
    put(b, segs.size(), 2);
    put(b, 64, 2);
    put(b, shnum, 2);
    put(b, section_headers ? shnum - 1 : 0, 2);
    for (const Seg& g : segs) {
      const uint64_t o = g.sec >= 0 ? off[static_cast<size_t>(g.sec) - 1] : 0;
      const uint64_t n = g.sec >= 0 ? secs[static_cast<size_t>(g.sec) - 1].data.size() : 0;
      put(b, g.type, 4);
      put(b, g.flags, 4);
      put(b, o, 8);
      put(b, g.vaddr, 8);
      put(b, g.vaddr, 8);  // p_paddr
      put(b, n, 8);
      put(b, g.memsz ? g.memsz : n, 8);
      put(b, g.align, 8);
    }
    b.insert(b.end(), body.begin(), body.end());
    if (!section_headers) return b;
    auto shdr = [&](uint32_t name, uint32_t t, uint64_t o, uint64_t size, uint32_t link, uint64_t entsize) {
      put(b, name, 4);
      put(b, t, 4);
      put(b, 0, 8);  // sh_flags
      put(b, 0, 8);  // sh_addr
      put(b, o, 8);
      put(b, size, 8);
      put(b, link, 4);
      put(b, 0, 4);  // sh_info
      put(b, 8, 8);  // sh_addralign
      put(b, entsize, 8);
    };
    shdr(0, 0, 0, 0, 0, 0);
    for (size_t i = 0; i < secs.size(); ++i)
      shdr(names[i], secs[i].type, off[i], secs[i].data.size(), secs[i].link, secs[i].entsize);
    shdr(shstr_name, 3, shstr_off, shstr.size(), 0, 0);
    return b;
  }
};

Bytes dyn(const std::vector<std::pair<int64_t, uint64_t>>& entries) {
  Bytes b;
  for (auto [tag, val] : entries) {
    put(b, static_cast<uint64_t>(tag), 8);
    put(b, val, 8);
  }
  return b;
}

Bytes rela(const std::vector<uint32_t>& types) {
  Bytes b;
  uint64_t at = 0x2000;
  for (uint32_t t : types) {
    put(b, at += 8, 8);
    put(b, t, 8);  // r_info: symbol 0, the type
    put(b, 0, 8);
  }
  return b;
}

Bytes note(const std::string& name, uint32_t type, const Bytes& desc, unsigned align = 4) {
  Bytes b;
  put(b, name.size() + 1, 4);
  put(b, desc.size(), 4);
  put(b, type, 4);
  for (char c : name) b.push_back(static_cast<uint8_t>(c));
  b.push_back(0);
  while (b.size() % align) b.push_back(0);
  b.insert(b.end(), desc.begin(), desc.end());
  while (b.size() % align) b.push_back(0);
  return b;
}

struct Sym {
  std::string name;
  uint16_t shndx;
  uint8_t bind;  // STB_GLOBAL 1, STB_WEAK 2
};

// Adds .dynstr and .dynsym (null symbol first) to b.
void add_dynsym(Builder& bld, const std::vector<Sym>& syms) {
  Bytes str{0}, tab(24, 0);
  for (const Sym& s : syms) {
    put(tab, str.size(), 4);
    str.insert(str.end(), s.name.begin(), s.name.end());
    str.push_back(0);
    tab.push_back(static_cast<uint8_t>(s.bind << 4 | 1));  // STT_OBJECT
    tab.push_back(0);
    put(tab, s.shndx, 2);
    put(tab, 0, 8);
    put(tab, 0, 8);
  }
  const uint32_t strtab = bld.add({".dynstr", 3, str});
  bld.add({".dynsym", kShtDynsym, tab, strtab, 24});
}

// The ELF stage of an EFI image as the stub wants it: a shared object with
// RELATIVE and NONE relocations, its symbols defined.
Builder good_stub() {
  Builder b;
  const uint32_t text = b.add({".text", 1, Bytes(16, 0x90)});
  add_dynsym(b, {{"efi_main", static_cast<uint16_t>(text), 1}});
  b.add({".rela.dyn", kShtRela, rela({kRX86_64Relative, kRX86_64Relative, kRX86_64None}), 0, 24});
  const uint32_t d = b.add({".dynamic", kShtDynamic, dyn({{kDtFlags, 0x8}, {kDtNull, 0}}), 0, 16});
  b.segs.push_back({kPtLoad, 5, static_cast<int>(text), 0, 0x1000});
  b.segs.push_back({kPtDynamic, 6, static_cast<int>(d), 0x3000});
  return b;
}

// A PVH image as a PVH loader wants it: an executable whose note names an
// entry in its code.
Builder good_pvh(Bytes notes = note("Xen", kXenElfnotePhys32Entry, {0x00, 0x00, 0x10, 0x00})) {
  Builder b;
  b.type = kEtExec;
  const uint32_t text = b.add({".text", 1, Bytes(64, 0x90)});
  const uint32_t n = b.add({".note.Xen", 7, std::move(notes)});
  b.segs.push_back({kPtLoad, 5, static_cast<int>(text), 0x100000, 0x1000});
  b.segs.push_back({kPtLoad, 4, static_cast<int>(n), 0x101000, 0});
  b.segs.push_back({kPtNote, 4, static_cast<int>(n), 0x101000, 0});
  return b;
}

std::vector<std::string> stub(const Builder& b) {
  File f;
  std::string error;
  if (!parse(b.build(), &f, &error)) return {"parse: " + error};
  return check_stub_elf(f);
}

std::vector<std::string> pvh(const Builder& b) {
  File f;
  std::string error;
  if (!parse(b.build(), &f, &error)) return {"parse: " + error};
  return check_pvh_elf(f);
}

using Msgs = std::vector<std::string>;

TEST(ElfCheckParse, RefusesWhatIsNotAnElf64X86File) {
  File f;
  std::string error;
  EXPECT_FALSE(parse(Bytes(100, 0), &f, &error));
  EXPECT_EQ(error, "not an ELF file");
  Bytes b = good_stub().build();
  EXPECT_FALSE(parse(Bytes(b.begin(), b.begin() + 40), &f, &error));
  EXPECT_EQ(error, "not an ELF file");
  Bytes c = b;
  c[4] = 1;  // ELFCLASS32
  EXPECT_FALSE(parse(c, &f, &error));
  EXPECT_EQ(error, "not a 64-bit little-endian ELF file");
  c = b;
  c[5] = 2;  // ELFDATA2MSB
  EXPECT_FALSE(parse(c, &f, &error));
  Builder m = good_stub();
  m.machine = 3;  // EM_386
  EXPECT_EQ(stub(m), Msgs{"parse: not an x86-64 ELF file (e_machine 3)"});
  c = b;
  set(c, 40, b.size() - 10, 8);  // e_shoff near the end
  EXPECT_FALSE(parse(c, &f, &error));
  EXPECT_EQ(error, "the section headers lie outside the file");
  c = b;
  set(c, 32, b.size(), 8);  // e_phoff at the end
  EXPECT_FALSE(parse(c, &f, &error));
  EXPECT_EQ(error, "the program headers lie outside the file");
  // A section whose bytes would run past the end.
  c = b;
  const uint64_t shoff = c[40] | uint64_t(c[41]) << 8 | uint64_t(c[42]) << 16;
  set(c, shoff + 64 + 32, 1u << 20, 8);  // section 1's sh_size
  EXPECT_FALSE(parse(c, &f, &error));
  EXPECT_EQ(error, "section 1 lies outside the file");
  EXPECT_TRUE(parse(b, &f, &error)) << error;
}

TEST(ElfCheckStub, AcceptsRelativeAndNoneRelocationsAndDefinedSymbols) {
  EXPECT_EQ(stub(good_stub()), Msgs{});
}

TEST(ElfCheckStub, RefusesTextRelocationsEitherWay) {
  Builder b = good_stub();
  b.secs.back().data = dyn({{kDtTextrel, 0}, {kDtNull, 0}});
  EXPECT_EQ(stub(b), Msgs{"has text relocations (TEXTREL)"});
  b.secs.back().data = dyn({{kDtFlags, kDfTextrel | 0x8}, {kDtNull, 0}});
  EXPECT_EQ(stub(b), Msgs{"has text relocations (TEXTREL)"});
  // After DT_NULL nothing counts.
  b.secs.back().data = dyn({{kDtNull, 0}, {kDtTextrel, 0}});
  EXPECT_EQ(stub(b), Msgs{});
}

TEST(ElfCheckStub, TextrelIsFoundThroughTheSectionWithoutADynamicSegment) {
  Builder b = good_stub();
  b.secs.back().data = dyn({{kDtTextrel, 0}, {kDtNull, 0}});
  b.segs.pop_back();
  EXPECT_EQ(stub(b), Msgs{"has text relocations (TEXTREL)"});
}

TEST(ElfCheckStub, RefusesUndefinedSymbolsListingThemByName) {
  Builder b;
  add_dynsym(b, {{"zeta", 0, 1}, {"defined", 1, 1}, {"alpha", 0, 2}});
  EXPECT_EQ(stub(b), Msgs{"undefined symbols:\n    w alpha\n    U zeta"});
}

TEST(ElfCheckStub, RefusesRelocationsTheStubCannotApplyCountedByType) {
  Builder b = good_stub();
  b.add({".rela.plt", kShtRela, rela({7, 1, 6, 1, kRX86_64Relative, 1}), 0, 24});
  EXPECT_EQ(stub(b), Msgs{"dynamic relocations the stub cannot apply:\n    3 R_X86_64_64\n"
                          "    1 R_X86_64_GLOB_DAT\n    1 R_X86_64_JUMP_SLOT"});
  // SHT_REL entries (16 bytes) count too, and a type without a name shows
  // its number.
  Builder r = good_stub();
  Bytes rel;
  put(rel, 0x2000, 8);
  put(rel, 200, 8);
  r.add({".rel.dyn", kShtRel, rel, 0, 16});
  EXPECT_EQ(stub(r), Msgs{"dynamic relocations the stub cannot apply:\n    1 R_X86_64_200"});
}

TEST(ElfCheckStub, RefusesAFileWithoutSectionHeaders) {
  Builder b = good_stub();
  b.section_headers = false;
  EXPECT_EQ(stub(b), Msgs{"no section headers: its symbols and relocations cannot be checked"});
}

TEST(ElfCheckStub, ReportsEveryRefusalAtOnce) {
  Builder b = good_stub();
  b.secs.back().data = dyn({{kDtTextrel, 0}, {kDtNull, 0}});
  add_dynsym(b, {{"printf", 0, 1}});
  b.add({".rela.x", kShtRela, rela({1}), 0, 24});
  EXPECT_EQ(stub(b).size(), 3u);
}

TEST(ElfCheckPvh, AcceptsAnExecutableWithTheEntryNote) {
  EXPECT_EQ(pvh(good_pvh()), Msgs{});
  // Other notes before it, and the 8-byte padding of a segment aligned so.
  Bytes n = note("GNU", 5, Bytes(12, 1), 8);
  Bytes x = note("Xen", kXenElfnotePhys32Entry, {0x40, 0x00, 0x10, 0x00}, 8);
  n.insert(n.end(), x.begin(), x.end());
  Builder b = good_pvh(n);
  b.segs.back().align = 8;
  EXPECT_EQ(pvh(b), Msgs{});
}

TEST(ElfCheckPvh, RefusesWhatIsNotAnExecutable) {
  Builder b = good_pvh();
  b.type = kEtDyn;
  EXPECT_EQ(pvh(b), Msgs{"not an ELF executable (ET_EXEC)"});
}

TEST(ElfCheckPvh, RefusesANoteOutsideAnyNoteSegment) {
  Builder b = good_pvh();
  b.segs.pop_back();
  EXPECT_EQ(pvh(b), (Msgs{"no PT_NOTE segment",
                          "no XEN_ELFNOTE_PHYS32_ENTRY note (name \"Xen\", type 18, 4-byte entry)"}));
}

TEST(ElfCheckPvh, RefusesANoteOfTheWrongNameTypeOrSize) {
  const std::string msg = "no XEN_ELFNOTE_PHYS32_ENTRY note (name \"Xen\", type 18, 4-byte entry)";
  const Bytes entry{0x00, 0x00, 0x10, 0x00};
  EXPECT_EQ(pvh(good_pvh(note("XEN", kXenElfnotePhys32Entry, entry))), Msgs{msg});
  EXPECT_EQ(pvh(good_pvh(note("Xe", kXenElfnotePhys32Entry, entry))), Msgs{msg});
  EXPECT_EQ(pvh(good_pvh(note("Xen", 17, entry))), Msgs{msg});
  EXPECT_EQ(pvh(good_pvh(note("Xen", kXenElfnotePhys32Entry, {0, 0, 0x10, 0, 0, 0, 0, 0}))), Msgs{msg});
  // A note cut short by the end of its segment is no note.
  Bytes cut = note("Xen", kXenElfnotePhys32Entry, entry);
  cut.resize(cut.size() - 2);
  EXPECT_EQ(pvh(good_pvh(cut)), Msgs{msg});
}

TEST(ElfCheckPvh, RefusesAnEntryOutsideTheCode) {
  // In the read-only segment of the note, not an executable one.
  EXPECT_EQ(pvh(good_pvh(note("Xen", kXenElfnotePhys32Entry, {0x00, 0x10, 0x10, 0x00}))),
            Msgs{"the PHYS32 entry 0x101000 is not inside an executable PT_LOAD segment"});
  // Past the end of the code segment's memory.
  EXPECT_EQ(pvh(good_pvh(note("Xen", kXenElfnotePhys32Entry, {0x00, 0x00, 0x20, 0x00}))),
            Msgs{"the PHYS32 entry 0x200000 is not inside an executable PT_LOAD segment"});
}

TEST(ElfCheckPvh, RefusesTextRelocationsAndAnyRelocation) {
  Builder b = good_pvh();
  b.add({".dynamic", kShtDynamic, dyn({{kDtTextrel, 0}, {kDtNull, 0}}), 0, 16});
  EXPECT_EQ(pvh(b), Msgs{"has text relocations (TEXTREL)"});
  Builder r = good_pvh();
  r.add({".rela.dyn", kShtRela, rela({kRX86_64Relative}), 0, 24});
  EXPECT_EQ(pvh(r), Msgs{"has relocations; the PVH entry cannot apply any"});
  // An empty relocation section holds no relocation.
  Builder e = good_pvh();
  e.add({".rela.dyn", kShtRela, {}, 0, 24});
  EXPECT_EQ(pvh(e), Msgs{});
}

TEST(ElfCheckNames, RelocationTypes) {
  EXPECT_EQ(reloc_name(0), "R_X86_64_NONE");
  EXPECT_EQ(reloc_name(8), "R_X86_64_RELATIVE");
  EXPECT_EQ(reloc_name(37), "R_X86_64_IRELATIVE");
  EXPECT_EQ(reloc_name(42), "R_X86_64_REX_GOTPCRELX");
  EXPECT_EQ(reloc_name(39), "R_X86_64_39");
  EXPECT_EQ(reloc_name(43), "R_X86_64_43");
}

}  // namespace
