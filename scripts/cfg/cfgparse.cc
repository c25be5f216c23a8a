#include "cfgparse.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

namespace cfg {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '+';
}
bool is_group_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool parse_uint(std::string_view s, unsigned long& v) {
  if (!all_of(s, is_digit)) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool valid_memory(std::string_view s) {
  if (!s.empty() && std::string_view("KMGTkmgt").find(s.back()) != std::string_view::npos) {
    s.remove_suffix(1);
  }
  unsigned long v = 0;
  return parse_uint(s, v) && v > 0;
}

bool valid_file(std::string_view s, std::string& why) {
  if (s.find_first_of(" \t") != std::string_view::npos) {
    why = "contains blanks";
  } else if (s.front() == '/') {
    why = "must be relative to x86/";
  } else if (s == ".." || s.starts_with("../") || s.find("/../") != std::string_view::npos ||
             s.ends_with("/..")) {
    why = "must stay inside x86/";
  } else if (!s.ends_with(".efi") || s.size() == 4 || s.ends_with("/.efi")) {
    why = "must name an .efi image";
  } else {
    return true;
  }
  return false;
}

enum class Key {
  file, smp, memory, extra_params, test_args, groups, arch, accel, boot, timeout, check, skip_reason
};

const std::map<std::string_view, Key>& keys() {
  static const std::map<std::string_view, Key> k = {
      {"file", Key::file},           {"smp", Key::smp},
      {"memory", Key::memory},       {"extra_params", Key::extra_params},
      {"qemu_params", Key::extra_params},  // newer kvm-unit-tests spelling
      {"test_args", Key::test_args}, {"groups", Key::groups},
      {"arch", Key::arch},           {"accel", Key::accel},
      {"boot", Key::boot},
      {"timeout", Key::timeout},     {"check", Key::check},
      {"skip_reason", Key::skip_reason},
  };
  return k;
}

class Parser {
 public:
  ParseResult run(std::string_view text) {
    int lineno = 0;
    while (!text.empty()) {
      ++lineno;
      size_t nl = text.find('\n');
      std::string_view raw = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      line(lineno, raw);
    }
    close_section();
    if (!result_.errors.empty()) result_.tests.clear();
    return std::move(result_);
  }

 private:
  void error(int line, std::string msg) { result_.errors.push_back({line, std::move(msg)}); }

  void line(int n, std::string_view raw) {
    if (raw.find('\0') != std::string_view::npos) {
      error(n, "NUL byte");
      return;
    }
    std::string_view s = trim(raw);
    if (s.empty() || s.front() == '#') return;
    if (s.front() == '[') {
      header(n, s);
      return;
    }
    size_t eq = s.find('=');
    if (eq == std::string_view::npos) {
      error(n, "expected '[name]' or 'key = value', got '" + std::string(s) + "'");
      return;
    }
    std::string_view key = trim(s.substr(0, eq));
    std::string_view value = trim(s.substr(eq + 1));
    if (!in_section_) {
      error(n, "'" + std::string(key) + "' outside of a [section]");
      return;
    }
    if (cur_ == nullptr) return;  // header was bad; already reported
    assign(n, key, value);
  }

  void header(int n, std::string_view s) {
    close_section();
    in_section_ = true;
    cur_ = nullptr;
    if (s.back() != ']') {
      error(n, "section header must be '[name]' alone on its line");
      return;
    }
    std::string_view name = trim(s.substr(1, s.size() - 2));
    if (!all_of(name, is_name_char)) {
      error(n, "bad test name '" + std::string(name) + "' (letters, digits, _ - . + only)");
      return;
    }
    if (auto it = seen_.find(std::string(name)); it != seen_.end()) {
      error(n, "duplicate section [" + std::string(name) + "] (first at line " +
                   std::to_string(it->second) + ")");
      return;
    }
    seen_.emplace(std::string(name), n);
    cur_test_ = Test{};
    cur_test_.name = std::string(name);
    cur_test_.line = n;
    cur_ = &cur_test_;
    keys_seen_.clear();
  }

  void close_section() {
    if (cur_ == nullptr) return;
    Test& t = *cur_;
    // A bad 'file' value is already reported; don't report it as missing.
    if (!keys_seen_.contains(Key::file)) error(t.line, "[" + t.name + "] has no 'file' key");
    bool append_in_params =
        std::find(t.extra_params.begin(), t.extra_params.end(), "-append") != t.extra_params.end();
    if (append_in_params && !t.test_args.empty()) {
      error(t.line, "[" + t.name + "] gives guest arguments twice: test_args and -append in extra_params");
    }
    result_.tests.push_back(std::move(t));
    cur_ = nullptr;
  }

  void assign(int n, std::string_view key, std::string_view value) {
    auto it = keys().find(key);
    if (it == keys().end()) {
      error(n, "unknown key '" + std::string(key) + "'");
      return;
    }
    Key k = it->second;
    if (auto seen = keys_seen_.find(k); seen != keys_seen_.end()) {
      error(n, "duplicate key '" + std::string(key) + "' (first at line " +
                   std::to_string(seen->second) + ")");
      return;
    }
    keys_seen_.emplace(k, n);
    if (value.empty() && k != Key::extra_params && k != Key::test_args) {
      error(n, "empty value for '" + std::string(key) + "'");
      return;
    }
    auto bad = [&](std::string why) {
      error(n, "bad value for '" + std::string(key) + "': '" + std::string(value) + "' (" + why + ")");
    };
    Test& t = *cur_;
    std::string why;
    switch (k) {
      case Key::file:
        if (!valid_file(value, why)) return bad(why);
        t.file = value;
        t.file_line = n;
        break;
      case Key::smp: {
        unsigned long v = 0;
        if (value != "$MAX_SMP" && !(parse_uint(value, v) && v >= 1 && v <= 4096)) {
          return bad("a CPU count from 1 to 4096, or $MAX_SMP");
        }
        t.smp = value;
        break;
      }
      case Key::memory:
        if (!valid_memory(value)) return bad("a size such as 128M or 6G");
        t.memory = value;
        break;
      case Key::extra_params: {
        std::vector<std::string> words;
        if (!split_words(value, words, why)) return bad(why);
        for (size_t i = 0; i < words.size(); ++i) {
          if (words[i] == "-append" && i + 1 == words.size()) return bad("-append needs an argument");
          if (words[i] == "-kernel") return bad("-kernel is set by the runner; use 'file'");
        }
        t.extra_params = std::move(words);
        break;
      }
      case Key::test_args:
        t.test_args = value;
        break;
      case Key::groups: {
        std::vector<std::string> words;
        if (!split_words(value, words, why)) return bad(why);
        for (const auto& g : words) {
          if (!all_of(g, is_group_char)) return bad("group names use letters, digits, _ and - only");
          if (std::find(t.groups.begin(), t.groups.end(), g) == t.groups.end()) t.groups.push_back(g);
        }
        break;
      }
      case Key::arch:
        if (value != "x86_64" && value != "i386") return bad("x86_64 or i386");
        t.arch = value;
        break;
      case Key::accel:
        if (value != "kvm" && value != "tcg") return bad("kvm or tcg");
        t.accel = value;
        break;
      case Key::boot:
        if (value != "efi" && value != "pvh") return bad("efi or pvh");
        t.boot = value;
        break;
      case Key::timeout:
        if (!valid_duration(value)) return bad("a duration such as 90, 90s, 2m or 1h, above 0");
        t.timeout = value;
        break;
      case Key::check: {
        std::vector<std::string> words;
        if (!split_words(value, words, why)) return bad(why);
        for (const auto& w : words) {
          size_t e = w.find('=');
          if (e == std::string::npos || e == 0 || w.front() != '/') {
            return bad("space-separated /path=value conditions");
          }
        }
        t.checks = std::move(words);
        break;
      }
      case Key::skip_reason:
        t.skip_reason = value;
        break;
    }
  }

  ParseResult result_;
  std::map<std::string, int> seen_;
  std::map<Key, int> keys_seen_;
  Test cur_test_;
  Test* cur_ = nullptr;
  bool in_section_ = false;
};

void add_field(std::string& out, std::string_view key, std::string_view value) {
  out.append(key);
  out.push_back('=');
  out.append(value);
  out.push_back('\0');
}

}  // namespace

bool split_words(std::string_view s, std::vector<std::string>& words, std::string& error) {
  words.clear();
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) {
        error = "unterminated single quote";
        return false;
      }
      cur.append(s.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < s.size() && s[j] != '"'; ++j) {
        if (s[j] == '\\' && j + 1 < s.size() && std::string_view("\"\\$`").find(s[j + 1]) != std::string_view::npos) {
          ++j;
        } else if (s[j] == '$' || s[j] == '`') {
          error = "'$' and '`' inside double quotes are not expanded; use single quotes";
          return false;
        }
        cur.push_back(s[j]);
      }
      if (j >= s.size()) {
        error = "unterminated double quote";
        return false;
      }
      i = j;
    } else if (c == '\\') {
      if (i + 1 >= s.size()) {
        error = "backslash at end of value";
        return false;
      }
      cur.push_back(s[++i]);
    } else if (std::string_view("$`;|&<>()").find(c) != std::string_view::npos) {
      error = std::string("unquoted '") + c + "' (values are not evaluated by a shell; quote it)";
      return false;
    } else {
      cur.push_back(c);
    }
  }
  if (in_word) words.push_back(std::move(cur));
  return true;
}

bool valid_duration(std::string_view s) {
  if (!s.empty() && std::string_view("smhd").find(s.back()) != std::string_view::npos) {
    s.remove_suffix(1);
  }
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (!all_of(whole, is_digit)) return false;
  if (dot != std::string_view::npos && !all_of(frac, is_digit)) return false;
  bool nonzero = std::any_of(whole.begin(), whole.end(), [](char c) { return c != '0'; }) ||
                 std::any_of(frac.begin(), frac.end(), [](char c) { return c != '0'; });
  return nonzero;
}

ParseResult parse(std::string_view text) { return Parser().run(text); }

std::string emit_records(const std::vector<Test>& tests) {
  std::string out;
  for (const Test& t : tests) {
    out.append("test");
    out.push_back('\0');
    add_field(out, "name", t.name);
    add_field(out, "line", std::to_string(t.line));
    add_field(out, "file", t.file);
    add_field(out, "smp", t.smp);
    add_field(out, "memory", t.memory);
    add_field(out, "test_args", t.test_args);
    add_field(out, "arch", t.arch);
    add_field(out, "accel", t.accel);
    add_field(out, "boot", t.boot);
    add_field(out, "timeout", t.timeout);
    add_field(out, "skip_reason", t.skip_reason);
    for (const auto& g : t.groups) add_field(out, "group", g);
    for (const auto& a : t.extra_params) add_field(out, "arg", a);
    for (const auto& c : t.checks) add_field(out, "check", c);
    out.append("end");
    out.push_back('\0');
  }
  return out;
}

std::string format_error(std::string_view filename, const Error& e) {
  return std::string(filename) + ":" + std::to_string(e.line) + ": " + e.message;
}

}  // namespace cfg
