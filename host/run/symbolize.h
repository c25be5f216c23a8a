// Backtrace frames in guest output: the guest prints code addresses as
// image+0x<offset> (offsets from the image's load address, which is where
// x86/<name>.debug is linked), and each such frame is annotated with its
// function and file:line by addr2line, which runs only on those lines:
//
//   #0 0x000000003e9f1234 image+0x1234  <= check_msr at x86/msr.cc:57
#pragma once

#include <string>
#include <vector>

namespace run {

// The offsets of the frames on a line, as "0x1234", in order.
std::vector<std::string> frame_offsets(const std::string& line);

// The line with what addr2line said about its frames (one entry per
// output line), or unchanged when it said nothing.
std::string with_notes(const std::string& line, const std::vector<std::string>& notes);

// The line without CSI sequences (ESC [ params letter), which would
// clear or move the user's terminal.
std::string strip_terminal_escapes(const std::string& line);

class Symbolizer {
 public:
  // debug_file: "" for none.
  explicit Symbolizer(std::string debug_file) : debug_(std::move(debug_file)) {}
  bool enabled() const { return !debug_.empty(); }
  std::string annotate(const std::string& line) const;

 private:
  std::string debug_;
};

}  // namespace run
