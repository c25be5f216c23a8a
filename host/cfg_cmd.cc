// efitest cfg: checks unittests.cfg and prints its record stream.
//
//   efitest cfg [--image-dir DIR] FILE
//
// With --image-dir, every entry that could run (no skip_reason, arch
// x86_64 or unset) must name an image that exists under DIR. Errors go to
// stderr as FILE:LINE: message, and then nothing is printed on stdout and
// the exit status is 1; 2 is a usage error.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "cfg/cfgparse.h"
#include "commands.h"

namespace {

bool is_file(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

int cmd_cfg(int argc, char** argv) {
  std::string image_dir, filename;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--image-dir" && i + 1 < argc) {
      image_dir = argv[++i];
    } else if (filename.empty() && !a.empty() && a[0] != '-') {
      filename = a;
    } else {
      std::cerr << "usage: efitest cfg [--image-dir DIR] FILE\n";
      return 2;
    }
  }
  if (filename.empty()) {
    std::cerr << "usage: efitest cfg [--image-dir DIR] FILE\n";
    return 2;
  }
  std::ifstream in(filename, std::ios::binary);
  if (!in) {
    std::cerr << filename << ": cannot read\n";
    return 1;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  cfg::ParseResult r = cfg::parse(buf.str());
  if (r.ok() && !image_dir.empty()) {
    for (const cfg::Test& t : r.tests) {
      if (!t.skip_reason.empty() || (!t.arch.empty() && t.arch != "x86_64")) continue;
      if (!is_file(image_dir + "/" + t.file)) {
        r.errors.push_back({t.file_line, "[" + t.name + "]: image '" + t.file + "' not found in " +
                                             image_dir + " (not built? run make)"});
      }
    }
  }
  if (!r.ok()) {
    for (const cfg::Error& e : r.errors) std::cerr << cfg::format_error(filename, e) << "\n";
    return 1;
  }
  std::string out = cfg::emit_records(r.tests);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
