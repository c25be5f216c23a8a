// petool: post-link step and checks for our PE/COFF EFI images.
//
//   petool nx-compat IMAGE   set IMAGE_DLLCHARACTERISTICS_NX_COMPAT and fix
//                            the header checksum (objcopy has no option for
//                            DllCharacteristics)
//   petool check IMAGE       fail unless the image is one the firmware can
//                            protect: 4 KiB section alignment, no section
//                            both writable and executable, NX_COMPAT set,
//                            zero-initialised data taking no file space, a
//                            base-relocation directory, EFI application
//                            subsystem
//   petool info IMAGE        print the headers and sections
//   petool sbat IMAGE        print the .sbat section; fail if it is missing
//                            or malformed (check verifies it when present)
//   petool check-elf SO      fail unless the ELF stage of an EFI image is one
//                            the stub can relocate by itself (elfcheck.h)
//   petool check-pvh ELF     fail unless the PVH image is one a PVH loader
//                            can start as the entry expects (elfcheck.h)
//
// Layouts from the Microsoft PE/COFF specification (§3 COFF file header,
// §3.4 optional header, §4 section table). The .sbat format is shim's
// SBAT.md: CSV lines of component_name, component_generation, vendor_name,
// vendor_package_name, vendor_version, vendor_url; the first line must be
// the "sbat" self-description.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "elfcheck.h"
#include "pe.h"

namespace {

using namespace pe;

int nx_compat(const char* path) {
  Image img;
  if (!parse(path, img)) {
    fprintf(stderr, "petool: %s: %s\n", path, img.error.c_str());
    return 1;
  }
  size_t off = img.opt + kOptDllCharacteristics;
  img.put16(off, img.u16(off) | kDllNxCompat);
  img.put32(img.opt + kOptCheckSum, checksum(img));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(img.bytes.data()), img.bytes.size());
  return out ? 0 : 1;
}

// The .sbat text (up to the first NUL), or an error.
bool sbat_text(const Image& img, const Section& s, std::string& text, std::string& error) {
  if (s.characteristics & (kScnMemWrite | kScnMemExecute)) {
    error = ".sbat must be read-only data";
    return false;
  }
  size_t n = std::min<size_t>(s.raw_size, s.virtual_size);
  if (n == 0 || uint64_t(s.raw_offset) + n > img.bytes.size()) {
    error = ".sbat is empty or extends past the end of the file";
    return false;
  }
  const char* p = reinterpret_cast<const char*>(&img.bytes[s.raw_offset]);
  text.assign(p, strnlen(p, n));
  if (text.rfind("sbat,1,", 0) != 0) {
    error = ".sbat does not start with the 'sbat,1,' line";
    return false;
  }
  size_t line = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      error = ".sbat line " + std::to_string(line + 1) + " is not terminated by a newline";
      return false;
    }
    std::string l = text.substr(pos, end - pos);
    ++line;
    if (std::count(l.begin(), l.end(), ',') != 5) {
      error = ".sbat line " + std::to_string(line) + " does not have 6 fields: " + l;
      return false;
    }
    size_t c1 = l.find(','), c2 = l.find(',', c1 + 1);
    std::string gen = l.substr(c1 + 1, c2 - c1 - 1);
    if (c1 == 0 || gen.empty() || gen.find_first_not_of("0123456789") != std::string::npos) {
      error = ".sbat line " + std::to_string(line) + " needs a name and a numeric generation";
      return false;
    }
    pos = end + 1;
  }
  if (line < 2) {
    error = ".sbat has no component line after the sbat header";
    return false;
  }
  return true;
}

const Section* find_section(const Image& img, const char* name) {
  for (const auto& s : img.sections)
    if (s.name == name) return &s;
  return nullptr;
}

int sbat(const char* path) {
  Image img;
  if (!parse(path, img)) {
    fprintf(stderr, "petool: %s: %s\n", path, img.error.c_str());
    return 1;
  }
  const Section* s = find_section(img, ".sbat");
  std::string text, error;
  if (!s) error = "no .sbat section (Secure Boot with shim and SBAT needs one)";
  if (s && !sbat_text(img, *s, text, error)) s = nullptr;
  if (!s) {
    fprintf(stderr, "petool: %s: %s\n", path, error.c_str());
    return 1;
  }
  fputs(text.c_str(), stdout);
  return 0;
}

int check(const char* path) {
  Image img;
  if (!parse(path, img)) {
    fprintf(stderr, "petool: %s: %s\n", path, img.error.c_str());
    return 1;
  }
  int bad = 0;
  auto fail = [&](const std::string& what) {
    fprintf(stderr, "petool: %s: %s\n", path, what.c_str());
    ++bad;
  };
  if (img.u32(img.opt + kOptSectionAlignment) != 4096) fail("section alignment is not 4 KiB");
  if (img.u16(img.opt + kOptSubsystem) != kSubsystemEfiApplication)
    fail("subsystem is not EFI application");
  if (!(img.u16(img.opt + kOptDllCharacteristics) & kDllNxCompat)) fail("NX_COMPAT not set");
  if (img.u32(img.opt + kOptNumberOfRvaAndSizes) <= kBaseRelocDirectory ||
      img.u32(img.opt + kOptDataDirectories + 8 * kBaseRelocDirectory + 4) == 0)
    fail("no base-relocation directory: the loader could not relocate the image");
  uint32_t end = 0;
  for (const auto& s : img.sections) {
    if (s.virtual_address % 4096) fail("section " + s.name + " is not 4 KiB aligned");
    if ((s.characteristics & kScnMemWrite) && (s.characteristics & kScnMemExecute))
      fail("section " + s.name + " is both writable and executable");
    if ((s.name == ".bss" || (s.characteristics & kScnUninitializedData)) && s.raw_size != 0)
      fail("section " + s.name + " is zero-initialised but takes " + std::to_string(s.raw_size) +
           " bytes in the file");
    if (s.virtual_address < end) fail("section " + s.name + " overlaps the previous one");
    end = s.virtual_address + s.virtual_size;
    if (uint64_t(s.raw_offset) + s.raw_size > img.bytes.size())
      fail("section " + s.name + " extends past the end of the file");
  }
  if (end > img.u32(img.opt + kOptSizeOfImage)) fail("SizeOfImage does not cover all sections");
  if (const Section* s = find_section(img, ".sbat")) {
    std::string text, error;
    if (!sbat_text(img, *s, text, error)) fail(error);
  }
  return bad ? 1 : 0;
}

int info(const char* path) {
  Image img;
  if (!parse(path, img)) {
    fprintf(stderr, "petool: %s: %s\n", path, img.error.c_str());
    return 1;
  }
  printf("file size %zu, section alignment %u, file alignment %u, image size %u\n",
         img.bytes.size(), img.u32(img.opt + kOptSectionAlignment),
         img.u32(img.opt + kOptFileAlignment), img.u32(img.opt + kOptSizeOfImage));
  printf("subsystem %u, DllCharacteristics 0x%04x\n", img.u16(img.opt + kOptSubsystem),
         img.u16(img.opt + kOptDllCharacteristics));
  for (const auto& s : img.sections)
    printf("  %-8s rva 0x%06x vsize 0x%06x raw 0x%06x %c%c%c\n", s.name.c_str(), s.virtual_address,
           s.virtual_size, s.raw_size, 'r', (s.characteristics & kScnMemWrite) ? 'w' : '-',
           (s.characteristics & kScnMemExecute) ? 'x' : '-');
  return 0;
}

// check-elf and check-pvh: each refusal as "WHAT: PATH: message".
int check_elf_file(const char* what, const char* path,
                   std::vector<std::string> (*check)(const elfcheck::File&)) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes(std::istreambuf_iterator<char>(in), {});
  elfcheck::File f;
  std::string error;
  std::vector<std::string> bad;
  if (!in.is_open()) bad.push_back("cannot open");
  else if (!elfcheck::parse(std::move(bytes), &f, &error)) bad.push_back(error);
  else bad = check(f);
  for (const std::string& m : bad) fprintf(stderr, "%s: %s: %s\n", what, path, m.c_str());
  return bad.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "nx-compat") == 0) return nx_compat(argv[2]);
  if (argc == 3 && std::strcmp(argv[1], "check") == 0) return check(argv[2]);
  if (argc == 3 && std::strcmp(argv[1], "info") == 0) return info(argv[2]);
  if (argc == 3 && std::strcmp(argv[1], "sbat") == 0) return sbat(argv[2]);
  if (argc == 3 && std::strcmp(argv[1], "check-elf") == 0)
    return check_elf_file("check-elf", argv[2], elfcheck::check_stub_elf);
  if (argc == 3 && std::strcmp(argv[1], "check-pvh") == 0)
    return check_elf_file("check-pvh", argv[2], elfcheck::check_pvh_elf);
  fprintf(stderr, "usage: petool {nx-compat|check|info|sbat|check-elf|check-pvh} IMAGE\n");
  return 2;
}
