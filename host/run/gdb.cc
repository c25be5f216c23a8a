#include "gdb.h"

#include <cstdio>

#include "qemu_cmdline.h"

namespace run::gdb {

std::vector<std::string> qemu_args(const std::string& socket) {
  return {"-gdb", "unix:" + qemu_escape(socket) + ",server=on,wait=off", "-fw_cfg",
          std::string("name=") + kFwCfgFile + ",string=1"};
}

bool parse_wait_line(const std::string& line, uint64_t* base) {
  const std::string mark = kWaitLine;
  const size_t at = line.find(mark);
  if (at == std::string::npos) return false;
  uint64_t v = 0;
  size_t i = at + mark.size(), digits = 0;
  for (; i < line.size() && digits < 16; ++i, ++digits) {
    const char c = line[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else break;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  if (digits == 0) return false;
  // Only trailing blanks (a CR from the serial line) may follow.
  for (; i < line.size(); ++i)
    if (line[i] != '\r' && line[i] != ' ') return false;
  *base = v;
  return true;
}

std::string command(const std::string& socket, const std::string& symbols, uint64_t offset) {
  char off[32];
  std::snprintf(off, sizeof(off), "0x%llx", static_cast<unsigned long long>(offset));
  return shell_quote({"gdb", "-q", "-ex", "target remote " + socket, "-ex",
                      "symbol-file -o " + std::string(off) + " " + symbols, "-ex",
                      "set var efitest_gdb_wait = 0", "-ex", "break main"});
}

}  // namespace run::gdb
