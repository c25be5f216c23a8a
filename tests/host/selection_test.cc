// The suite's selection (host/selection.h): names, patterns, groups and
// nodefault, close matches, and --shard, which must split any selection
// into disjoint parts that together are the whole of it.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "../../host/selection.h"

namespace {

std::vector<cfg::Test> tests_named(const std::vector<std::pair<std::string, std::vector<std::string>>>& spec) {
  std::vector<cfg::Test> out;
  for (const auto& [name, groups] : spec) {
    cfg::Test t;
    t.name = name;
    t.file = name + ".efi";
    t.groups = groups;
    out.push_back(t);
  }
  return out;
}

std::vector<std::string> names_of(const std::vector<cfg::Test>& tests, const std::vector<size_t>& idx) {
  std::vector<std::string> out;
  for (size_t i : idx) out.push_back(tests[i].name);
  return out;
}

using Names = std::vector<std::string>;

const std::vector<cfg::Test> kTests = tests_named({{"selftest", {"selftest"}},
                                                   {"selftest_smp", {"selftest"}},
                                                   {"msr", {"cpu"}},
                                                   {"vmx_basic", {"vmx", "nodefault"}},
                                                   {"vmx_ept", {"vmx"}},
                                                   {"negative_fail", {"nodefault", "negative"}}});

TEST(Selection, PlainRunsLeaveNodefaultOut) {
  selection::Result r = selection::select(kTests, {});
  EXPECT_EQ(names_of(kTests, r.picked), (Names{"selftest", "selftest_smp", "msr", "vmx_ept"}));
  EXPECT_TRUE(r.unknown_names.empty());
}

TEST(Selection, NamesArePatternsAndGroupsAddUp) {
  selection::Result r = selection::select(kTests, {{"vmx*"}, {}});
  EXPECT_EQ(names_of(kTests, r.picked), (Names{"vmx_basic", "vmx_ept"}));
  r = selection::select(kTests, {{"msr"}, {"negative", "nosuchgroup"}});
  EXPECT_EQ(names_of(kTests, r.picked), (Names{"msr", "negative_fail"}));
  EXPECT_EQ(r.empty_groups, Names{"nosuchgroup"});
  r = selection::select(kTests, {{"msr", "mrs"}, {}});
  EXPECT_EQ(r.unknown_names, Names{"mrs"});
}

TEST(Selection, CloseMatches) {
  Names names = {"selftest", "selftest_smp", "msr", "negative/fail", "pcid"};
  EXPECT_EQ(selection::close_matches("selftset", names), (Names{"selftest"}));
  EXPECT_EQ(selection::close_matches("self", names), (Names{"selftest", "selftest_smp"}));
  EXPECT_EQ(selection::close_matches("fial", names), (Names{"negative/fail"}));
  EXPECT_EQ(selection::close_matches("zzzzzzz", names), Names{});
  Names many(20, "same");
  EXPECT_EQ(selection::close_matches("same", many).size(), 10u);
}

TEST(Shard, ParsesOnlyValidShards) {
  selection::Shard s;
  EXPECT_TRUE(selection::parse_shard("2/3", &s));
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 3u);
  for (const char* bad : {"0/3", "4/3", "1/0", "1/", "/2", "a/b", "1-2", "", "1/2/3", "-1/2"})
    EXPECT_FALSE(selection::parse_shard(bad, &s)) << bad;
}

// Every shard count from 1 to 9 over selections of 0 to 40 tests, with and
// without durations: the shards are disjoint, together complete, in cfg
// order, and the same on every call.
TEST(Shard, DisjointAndCompleteForEveryCount) {
  for (size_t n = 0; n <= 40; ++n) {
    std::vector<cfg::Test> tests;
    std::vector<size_t> picked;
    selection::Durations d;
    for (size_t i = 0; i < n; ++i) {
      cfg::Test t;
      t.name = "t" + std::to_string(i);
      tests.push_back(t);
      picked.push_back(i);
      if (i % 3) d[t.name] = static_cast<double>((i * 7919) % 23) + 0.5;
    }
    for (const selection::Durations& dur : {selection::Durations{}, d}) {
      for (unsigned count = 1; count <= 9; ++count) {
        std::multiset<size_t> seen;
        for (unsigned k = 1; k <= count; ++k) {
          std::vector<size_t> part = selection::shard(tests, picked, {k, count}, dur);
          EXPECT_TRUE(std::is_sorted(part.begin(), part.end()));
          EXPECT_EQ(part, selection::shard(tests, picked, {k, count}, dur));
          seen.insert(part.begin(), part.end());
        }
        EXPECT_EQ(seen.size(), n) << n << " tests, " << count << " shards";
        EXPECT_EQ(std::set<size_t>(seen.begin(), seen.end()).size(), n);
      }
    }
  }
}

TEST(Shard, BalancedByDurations) {
  std::vector<cfg::Test> tests = tests_named({{"long", {}}, {"a", {}}, {"b", {}}, {"c", {}}});
  selection::Durations d = {{"long", 30}, {"a", 10}, {"b", 10}, {"c", 10}};
  EXPECT_EQ(names_of(tests, selection::shard(tests, {0, 1, 2, 3}, {1, 2}, d)), Names{"long"});
  EXPECT_EQ(names_of(tests, selection::shard(tests, {0, 1, 2, 3}, {2, 2}, d)), (Names{"a", "b", "c"}));
  // Without durations every test weighs the same: two each.
  EXPECT_EQ(selection::shard(tests, {0, 1, 2, 3}, {1, 2}, {}).size(), 2u);
}

TEST(Order, LongestFirstNeverTimedFirstOfAll) {
  std::vector<cfg::Test> tests = tests_named({{"a", {}}, {"b", {}}, {"new", {}}, {"c", {}}});
  selection::Durations d = {{"a", 1}, {"b", 5}, {"c", 3}};
  EXPECT_EQ(names_of(tests, selection::longest_first(tests, {0, 1, 2, 3}, d)), (Names{"new", "b", "c", "a"}));
}

}  // namespace
