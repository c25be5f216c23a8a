// Which tests of unittests.cfg run, and in which order: the one selection
// that run_tests.sh and `make esp` share.
//
//  - With neither names nor groups, every test outside the group nodefault.
//  - Otherwise the tests whose name matches a name (a shell pattern, as in
//    'vmx*') or that are in a group.
//  - A name that matches nothing is an error, with the close matches; a
//    group without tests is only a warning.
//  - --shard I/N keeps the I-th of N disjoint parts that together are the
//    whole selection; the split is balanced by durations when it is given
//    some, and depends only on the selection and those durations, so that
//    N runners that see the same cfg and durations split it the same way.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cfg/cfgparse.h"

namespace selection {

struct Request {
  std::vector<std::string> names;   // shell patterns
  std::vector<std::string> groups;
};

struct Result {
  std::vector<size_t> picked;              // indexes into the tests, cfg order
  std::vector<std::string> unknown_names;  // patterns that matched nothing
  std::vector<std::string> empty_groups;   // groups with no test
};

Result select(const std::vector<cfg::Test>& tests, const Request& req);

// Names that contain `want`, that it contains, or within edit distance 2
// of it (typos such as "plian" for "plain"), compared without any
// directory part; at most 10, in the order given.
std::vector<std::string> close_matches(const std::string& want, const std::vector<std::string>& names);

struct Shard {
  unsigned index = 1, count = 1;  // 1-based: shard 1/1 is everything
};
// "I/N" with 1 <= I <= N.
bool parse_shard(const std::string& s, Shard* out);

using Durations = std::map<std::string, double>;  // test name -> seconds

// "name seconds" lines; malformed lines are skipped.
Durations read_durations(const std::string& path);

// The picked tests of one shard, in cfg order. Each test weighs its
// duration, or the mean of the known ones (1 when none is known); the
// heaviest go first, each to the lightest shard so far (ties: the lower
// shard, then the earlier test).
std::vector<size_t> shard(const std::vector<cfg::Test>& tests, const std::vector<size_t>& picked,
                          const Shard& s, const Durations& durations);

// Longest first by earlier durations; tests never timed before come first
// of all, in the given order.
std::vector<size_t> longest_first(const std::vector<cfg::Test>& tests, std::vector<size_t> picked,
                                  const Durations& durations);

}  // namespace selection
