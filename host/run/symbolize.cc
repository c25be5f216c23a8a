#include "symbolize.h"

#include <cctype>

#include "supervisor.h"

namespace run {

namespace {

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::vector<std::string> frame_offsets(const std::string& line) {
  static constexpr char kMark[] = "image+0x";
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = line.find(kMark, at)) != std::string::npos) {
    size_t digits = at + sizeof(kMark) - 1, end = digits;
    while (end < line.size() && is_hex(line[end])) ++end;
    if (end > digits) out.push_back(line.substr(at + 6, end - at - 6));
    at = end > digits ? end : digits;
  }
  return out;
}

std::string with_notes(const std::string& line, const std::vector<std::string>& notes) {
  if (notes.empty()) return line;
  std::string out = line + "  <=";
  for (const std::string& n : notes) out += " " + n;
  return out;
}

std::string strip_terminal_escapes(const std::string& line) {
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      size_t j = i + 2;
      while (j < line.size() && (std::isdigit(static_cast<unsigned char>(line[j])) || line[j] == ';' ||
                                 line[j] == '?' || line[j] == '='))
        ++j;
      if (j < line.size() && std::isalpha(static_cast<unsigned char>(line[j]))) {
        i = j;
        continue;
      }
    }
    out.push_back(line[i]);
  }
  return out;
}

std::string Symbolizer::annotate(const std::string& line) const {
  if (debug_.empty()) return line;
  std::vector<std::string> offsets = frame_offsets(line);
  if (offsets.empty()) return line;
  std::vector<std::string> notes;
  for (const std::string& off : offsets) {
    Captured c = capture({"addr2line", "-p", "-f", "-C", "-i", "-e", debug_, off}, false, 10);
    size_t start = 0;
    while (start < c.out.size()) {
      size_t end = c.out.find('\n', start);
      if (end == std::string::npos) end = c.out.size();
      notes.push_back(c.out.substr(start, end - start));
      start = end + 1;
    }
  }
  return with_notes(line, notes);
}

}  // namespace run
