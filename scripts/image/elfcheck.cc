#include "elfcheck.h"

#include <cstdio>
#include <map>
#include <utility>

namespace elfcheck {

namespace {

// Little-endian reads; the caller has checked the range.
uint64_t get(const std::vector<uint8_t>& b, uint64_t off, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = n; i-- > 0;) v = v << 8 | b[off + i];
  return v;
}
uint16_t u16(const std::vector<uint8_t>& b, uint64_t off) { return static_cast<uint16_t>(get(b, off, 2)); }
uint32_t u32(const std::vector<uint8_t>& b, uint64_t off) { return static_cast<uint32_t>(get(b, off, 4)); }
uint64_t u64(const std::vector<uint8_t>& b, uint64_t off) { return get(b, off, 8); }

bool inside(const std::vector<uint8_t>& b, uint64_t off, uint64_t size) {
  return off <= b.size() && size <= b.size() - off;
}

// A NUL-terminated name at off in the string table section strtab.
std::string name_at(const File& f, const Section& strtab, uint64_t off) {
  std::string s;
  for (uint64_t i = strtab.offset + off; off < strtab.size && i < f.bytes.size() && f.bytes[i]; ++i, ++off)
    s += static_cast<char>(f.bytes[i]);
  return s;
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

bool has_textrel(const File& f) {
  for (auto [tag, val] : dynamic(f))
    if (tag == kDtTextrel || (tag == kDtFlags && (val & kDfTextrel))) return true;
  return false;
}

// The relocation entries of every SHT_RELA and SHT_REL section, counted by
// type.
std::map<uint32_t, uint64_t> relocation_types(const File& f) {
  std::map<uint32_t, uint64_t> n;
  for (const Section& s : f.sections) {
    if (s.type != kShtRela && s.type != kShtRel) continue;
    const uint64_t entsize = s.type == kShtRela ? 24 : 16;
    for (uint64_t off = s.offset; off + entsize <= s.offset + s.size; off += entsize)
      ++n[static_cast<uint32_t>(u64(f.bytes, off + 8))];  // ELF64_R_TYPE: the low 32 bits of r_info
  }
  return n;
}

}  // namespace

bool parse(std::vector<uint8_t> bytes, File* f, std::string* error) {
  const auto& b = bytes;
  if (b.size() < 64 || b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F') {
    *error = "not an ELF file";
    return false;
  }
  if (b[4] != 2 || b[5] != 1) {
    *error = "not a 64-bit little-endian ELF file";
    return false;
  }
  if (u16(b, 18) != kEmX86_64) {
    *error = "not an x86-64 ELF file (e_machine " + std::to_string(u16(b, 18)) + ")";
    return false;
  }
  f->type = u16(b, 16);
  const uint64_t phoff = u64(b, 32), shoff = u64(b, 40);
  const uint16_t phentsize = u16(b, 54), phnum = u16(b, 56), shentsize = u16(b, 58), shnum = u16(b, 60);
  if (phnum && (phentsize < 56 || !inside(b, phoff, uint64_t(phnum) * phentsize))) {
    *error = "the program headers lie outside the file";
    return false;
  }
  if (shnum && (shentsize < 64 || !inside(b, shoff, uint64_t(shnum) * shentsize))) {
    *error = "the section headers lie outside the file";
    return false;
  }
  f->segments.clear();
  f->sections.clear();
  for (uint16_t i = 0; i < phnum; ++i) {
    const uint64_t p = phoff + uint64_t(i) * phentsize;
    Segment s{u32(b, p), u32(b, p + 4), u64(b, p + 8), u64(b, p + 16), u64(b, p + 24),
              u64(b, p + 32), u64(b, p + 40), u64(b, p + 48)};
    if (s.filesz && !inside(b, s.offset, s.filesz)) {
      *error = "program header " + std::to_string(i) + " lies outside the file";
      return false;
    }
    f->segments.push_back(s);
  }
  for (uint16_t i = 0; i < shnum; ++i) {
    const uint64_t p = shoff + uint64_t(i) * shentsize;
    Section s{u32(b, p), u32(b, p + 4), u64(b, p + 24), u64(b, p + 32), u32(b, p + 40), u64(b, p + 56)};
    // SHT_NOBITS (8) and SHT_NULL (0) take no file space.
    if (s.type != 8 && s.type != 0 && !inside(b, s.offset, s.size)) {
      *error = "section " + std::to_string(i) + " lies outside the file";
      return false;
    }
    f->sections.push_back(s);
  }
  f->bytes = std::move(bytes);
  return true;
}

std::vector<std::pair<int64_t, uint64_t>> dynamic(const File& f) {
  uint64_t off = 0, size = 0;
  bool found = false;
  for (const Segment& s : f.segments)
    if (s.type == kPtDynamic) {
      off = s.offset, size = s.filesz, found = true;
      break;
    }
  if (!found)
    for (const Section& s : f.sections)
      if (s.type == kShtDynamic) {
        off = s.offset, size = s.size;
        break;
      }
  std::vector<std::pair<int64_t, uint64_t>> out;
  for (uint64_t p = off; p + 16 <= off + size; p += 16) {
    const auto tag = static_cast<int64_t>(u64(f.bytes, p));
    if (tag == kDtNull) break;
    out.emplace_back(tag, u64(f.bytes, p + 8));
  }
  return out;
}

std::vector<Note> notes(const File& f) {
  std::vector<Note> out;
  for (const Segment& s : f.segments) {
    if (s.type != kPtNote) continue;
    // The descriptor and the next note start on 4-byte boundaries from
    // the note's start, or on 8-byte ones in a segment aligned so (the
    // ELF64 form that GNU property notes use).
    const uint64_t a = s.align == 8 ? 8 : 4;
    uint64_t p = s.offset;
    const uint64_t end = s.offset + s.filesz;
    while (p + 12 <= end) {
      const uint32_t namesz = u32(f.bytes, p), descsz = u32(f.bytes, p + 4);
      Note n;
      n.type = u32(f.bytes, p + 8);
      const uint64_t name = p + 12, desc = p + align_up(12 + uint64_t(namesz), a);
      if (desc > end || descsz > end - desc) break;  // a truncated note ends the list
      for (uint32_t i = 0; i < namesz && f.bytes[name + i]; ++i) n.name += static_cast<char>(f.bytes[name + i]);
      n.desc.assign(f.bytes.begin() + static_cast<std::ptrdiff_t>(desc),
                    f.bytes.begin() + static_cast<std::ptrdiff_t>(desc + descsz));
      out.push_back(std::move(n));
      p += align_up(desc - p + descsz, a);
    }
  }
  return out;
}

std::string reloc_name(uint32_t type) {
  static const char* const kNames[] = {
      "NONE",      "64",        "PC32",          "GOT32",       "PLT32",         "COPY",
      "GLOB_DAT",  "JUMP_SLOT", "RELATIVE",      "GOTPCREL",    "32",            "32S",
      "16",        "PC16",      "8",             "PC8",         "DTPMOD64",      "DTPOFF64",
      "TPOFF64",   "TLSGD",     "TLSLD",         "DTPOFF32",    "GOTTPOFF",      "TPOFF32",
      "PC64",      "GOTOFF64",  "GOTPC32",       "GOT64",       "GOTPCREL64",    "GOTPC64",
      "GOTPLT64",  "PLTOFF64",  "SIZE32",        "SIZE64",      "GOTPC32_TLSDESC", "TLSDESC_CALL",
      "TLSDESC",   "IRELATIVE", "RELATIVE64",    nullptr,       nullptr,         "GOTPCRELX",
      "REX_GOTPCRELX"};
  if (type < sizeof(kNames) / sizeof(kNames[0]) && kNames[type]) return std::string("R_X86_64_") + kNames[type];
  return "R_X86_64_" + std::to_string(type);
}

std::vector<std::string> check_stub_elf(const File& f) {
  std::vector<std::string> bad;
  if (f.sections.empty()) {
    bad.push_back("no section headers: its symbols and relocations cannot be checked");
    return bad;
  }
  if (has_textrel(f)) bad.push_back("has text relocations (TEXTREL)");
  std::map<std::string, char> undef;  // sorted by name, as nm lists them
  for (const Section& s : f.sections) {
    if (s.type != kShtDynsym || s.link >= f.sections.size()) continue;
    const Section& strtab = f.sections[s.link];
    // Entry 0 is the null symbol.
    for (uint64_t p = s.offset + 24; p + 24 <= s.offset + s.size; p += 24) {
      if (u16(f.bytes, p + 6) != 0) continue;  // st_shndx: SHN_UNDEF is 0
      const uint8_t bind = f.bytes[p + 4] >> 4;
      undef[name_at(f, strtab, u32(f.bytes, p))] = bind == kStbWeak ? 'w' : 'U';
    }
  }
  if (!undef.empty()) {
    std::string m = "undefined symbols:";
    for (const auto& [name, kind] : undef) m += std::string("\n    ") + kind + " " + name;
    bad.push_back(m);
  }
  std::map<std::string, uint64_t> others;
  for (auto [type, n] : relocation_types(f))
    if (type != kRX86_64Relative && type != kRX86_64None) others[reloc_name(type)] += n;
  if (!others.empty()) {
    std::string m = "dynamic relocations the stub cannot apply:";
    for (const auto& [name, n] : others) m += "\n    " + std::to_string(n) + " " + name;
    bad.push_back(m);
  }
  return bad;
}

std::vector<std::string> check_pvh_elf(const File& f) {
  std::vector<std::string> bad;
  if (f.type != kEtExec) bad.push_back("not an ELF executable (ET_EXEC)");
  bool have_note_segment = false;
  for (const Segment& s : f.segments) have_note_segment |= s.type == kPtNote;
  if (!have_note_segment) bad.push_back("no PT_NOTE segment");
  const Note* entry_note = nullptr;
  const std::vector<Note> all = notes(f);
  for (const Note& n : all)
    if (n.name == "Xen" && n.type == kXenElfnotePhys32Entry && n.desc.size() == 4) entry_note = &n;
  if (!entry_note) {
    bad.push_back("no XEN_ELFNOTE_PHYS32_ENTRY note (name \"Xen\", type 18, 4-byte entry)");
  } else {
    const auto& d = entry_note->desc;
    const uint32_t entry = d[0] | d[1] << 8 | d[2] << 16 | uint32_t(d[3]) << 24;
    bool in_code = false;
    for (const Segment& s : f.segments)
      in_code |= s.type == kPtLoad && (s.flags & kPfX) && entry >= s.paddr && entry - s.paddr < s.memsz;
    if (!in_code) {
      char hex[16];
      snprintf(hex, sizeof(hex), "%#x", entry);
      bad.push_back(std::string("the PHYS32 entry ") + hex + " is not inside an executable PT_LOAD segment");
    }
  }
  if (has_textrel(f)) bad.push_back("has text relocations (TEXTREL)");
  if (!relocation_types(f).empty()) bad.push_back("has relocations; the PVH entry cannot apply any");
  return bad;
}

}  // namespace elfcheck
