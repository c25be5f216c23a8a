#include "selection.h"

#include <fnmatch.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace selection {

namespace {

bool in_group(const cfg::Test& t, const std::string& g) {
  return std::find(t.groups.begin(), t.groups.end(), g) != t.groups.end();
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

Result select(const std::vector<cfg::Test>& tests, const Request& req) {
  Result r;
  std::set<std::string> hit_names, hit_groups;
  for (size_t i = 0; i < tests.size(); ++i) {
    const cfg::Test& t = tests[i];
    bool take = false;
    if (req.names.empty() && req.groups.empty()) {
      take = !in_group(t, "nodefault");
    } else {
      for (const std::string& pat : req.names)
        if (fnmatch(pat.c_str(), t.name.c_str(), 0) == 0) {
          take = true;
          hit_names.insert(pat);
        }
      for (const std::string& g : req.groups)
        if (in_group(t, g)) {
          take = true;
          hit_groups.insert(g);
        }
    }
    if (take) r.picked.push_back(i);
  }
  for (const std::string& pat : req.names)
    if (!hit_names.count(pat)) r.unknown_names.push_back(pat);
  for (const std::string& g : req.groups)
    if (!hit_groups.count(g)) r.empty_groups.push_back(g);
  return r;
}

std::vector<std::string> close_matches(const std::string& want, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& n : names) {
    std::string base = n.substr(n.rfind('/') == std::string::npos ? 0 : n.rfind('/') + 1);
    if (base.find(want) != std::string::npos || want.find(base) != std::string::npos ||
        edit_distance(base, want) <= 2) {
      out.push_back(n);
      if (out.size() == 10) break;
    }
  }
  return out;
}

bool parse_shard(const std::string& s, Shard* out) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) return false;
  auto number = [](const std::string& t, unsigned* v) {
    if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos) return false;
    *v = static_cast<unsigned>(std::stoul(t));
    return true;
  };
  Shard sh;
  if (!number(s.substr(0, slash), &sh.index) || !number(s.substr(slash + 1), &sh.count)) return false;
  if (sh.count == 0 || sh.index == 0 || sh.index > sh.count) return false;
  *out = sh;
  return true;
}

Durations read_durations(const std::string& path) {
  Durations d;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, secs, extra;
    if (!(ls >> name >> secs) || (ls >> extra)) continue;
    if (secs.find_first_not_of("0123456789.") != std::string::npos || secs.front() == '.' ||
        std::count(secs.begin(), secs.end(), '.') > 1)
      continue;
    d[name] = std::stod(secs);
  }
  return d;
}

std::vector<size_t> shard(const std::vector<cfg::Test>& tests, const std::vector<size_t>& picked,
                          const Shard& s, const Durations& durations) {
  double known = 0;
  size_t n_known = 0;
  for (size_t i : picked)
    if (auto it = durations.find(tests[i].name); it != durations.end()) {
      known += it->second;
      ++n_known;
    }
  const double fallback = n_known ? known / static_cast<double>(n_known) : 1.0;
  struct Item {
    size_t pos;  // in `picked`
    double weight;
  };
  std::vector<Item> items;
  for (size_t p = 0; p < picked.size(); ++p) {
    auto it = durations.find(tests[picked[p]].name);
    items.push_back({p, it != durations.end() ? it->second : fallback});
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.weight > b.weight; });
  std::vector<double> load(s.count, 0.0);
  std::vector<bool> mine(picked.size(), false);
  for (const Item& item : items) {
    unsigned best = 0;
    for (unsigned k = 1; k < s.count; ++k)
      if (load[k] < load[best]) best = k;
    load[best] += item.weight;
    if (best + 1 == s.index) mine[item.pos] = true;
  }
  std::vector<size_t> out;
  for (size_t p = 0; p < picked.size(); ++p)
    if (mine[p]) out.push_back(picked[p]);
  return out;
}

std::vector<size_t> longest_first(const std::vector<cfg::Test>& tests, std::vector<size_t> picked,
                                  const Durations& durations) {
  constexpr double kNeverTimed = 1e300;
  auto secs = [&](size_t i) {
    auto it = durations.find(tests[i].name);
    return it == durations.end() ? kNeverTimed : it->second;
  };
  std::stable_sort(picked.begin(), picked.end(), [&](size_t a, size_t b) { return secs(a) > secs(b); });
  return picked;
}

}  // namespace selection
