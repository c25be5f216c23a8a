// The ELF checks of the build (petool check-elf, petool check-pvh): the
// headers of an ELF64 little-endian x86-64 file read from its bytes, and
// the refusals of the two stages that link an ELF file:
//
//   check_stub_elf  x86/<name>.so, the ELF stage of an EFI image (DESIGN.md,
//                   boot phase 2): the stub relocates it by itself, so no
//                   text relocations, no undefined dynamic symbols, and no
//                   relocation other than R_X86_64_RELATIVE (or the no-op
//                   R_X86_64_NONE).
//   check_pvh_elf   x86/<name>.elf, the PVH image (docs/pvh.md): an ELF
//                   executable (ET_EXEC; the entry runs with paging off at
//                   its link address), a PT_NOTE segment holding the
//                   XEN_ELFNOTE_PHYS32_ENTRY note (name "Xen", type 18, a
//                   4-byte entry address inside an executable PT_LOAD
//                   segment), no text relocations and no relocations at
//                   all.
//
// Layouts from the System V ABI (gABI, "Object Files": ELF header, program
// header, section header, symbol table, relocation, dynamic section, note
// section) and its AMD64 supplement (relocation types). Each check returns
// the refusals, one message each (a message may carry indented lines after
// its first); none means the file passes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace elfcheck {

constexpr uint16_t kEtExec = 2;
constexpr uint16_t kEtDyn = 3;
constexpr uint16_t kEmX86_64 = 62;
constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPtDynamic = 2;
constexpr uint32_t kPtNote = 4;
constexpr uint32_t kPfX = 1;
constexpr uint32_t kShtRela = 4;
constexpr uint32_t kShtDynamic = 6;
constexpr uint32_t kShtRel = 9;
constexpr uint32_t kShtDynsym = 11;
constexpr int64_t kDtNull = 0;
constexpr int64_t kDtTextrel = 22;
constexpr int64_t kDtFlags = 30;
constexpr uint64_t kDfTextrel = 0x4;
constexpr uint32_t kRX86_64None = 0;
constexpr uint32_t kRX86_64Relative = 8;
constexpr uint8_t kStbWeak = 2;
constexpr uint32_t kXenElfnotePhys32Entry = 18;

struct Segment {
  uint32_t type, flags;
  uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct Section {
  uint32_t name, type;
  uint64_t offset, size;
  uint32_t link;
  uint64_t entsize;
};

struct Note {
  std::string name;
  uint32_t type;
  std::vector<uint8_t> desc;
};

struct File {
  std::vector<uint8_t> bytes;
  uint16_t type = 0;
  std::vector<Segment> segments;
  std::vector<Section> sections;
};

// Parses the ELF header, program headers and section headers; false with
// *error set when the bytes are not an ELF64 LSB x86-64 file whose tables
// lie inside it.
bool parse(std::vector<uint8_t> bytes, File* f, std::string* error);

// The dynamic entries (tag, value) up to DT_NULL: from PT_DYNAMIC, or the
// SHT_DYNAMIC section when there is no such segment.
std::vector<std::pair<int64_t, uint64_t>> dynamic(const File& f);
// The notes of every PT_NOTE segment, in file order.
std::vector<Note> notes(const File& f);
// A relocation type's name in the AMD64 psABI ("R_X86_64_64"), or
// "R_X86_64_<number>" for one it does not name.
std::string reloc_name(uint32_t type);

std::vector<std::string> check_stub_elf(const File& f);
std::vector<std::string> check_pvh_elf(const File& f);

}  // namespace elfcheck
