#include "qemu_cmdline.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "cfg/cfgparse.h"
#include "../proc.h"
#include "supervisor.h"

namespace run {

namespace {

constexpr const char* kSnakeoilKey = "/usr/share/ovmf/PkKek-1-snakeoil.key";
constexpr const char* kSnakeoilCert = "/usr/share/ovmf/PkKek-1-snakeoil.pem";

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool readable(const std::string& f) { return access(f.c_str(), R_OK) == 0; }

std::string last_line(const std::string& text) {
  size_t end = text.size();
  while (end && text[end - 1] == '\n') --end;
  size_t start = text.rfind('\n', end ? end - 1 : 0);
  start = start == std::string::npos || end == 0 ? 0 : start + 1;
  return text.substr(start, end - start);
}

}  // namespace

const char* const kToolVars[9] = {"QEMU",         "FIRMWARE",     "OVMF_CODE",   "OVMF_VARS",   "BIOS",
                                  "SECBOOT_CODE", "SECBOOT_VARS", "SECBOOT_KEY", "SECBOOT_CERT"};

std::optional<std::string> config_get(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::string line;
  while (std::getline(in, line)) {
    size_t i = 0;
    while (i < line.size() && is_blank(line[i])) ++i;
    size_t k = i;
    if (k >= line.size() || !(std::isalpha(static_cast<unsigned char>(line[k])) || line[k] == '_')) continue;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_')) ++i;
    const std::string name = line.substr(k, i - k);
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i < line.size() && (line[i] == ':' || line[i] == '?')) ++i;
    if (i >= line.size() || line[i] != '=') continue;
    ++i;
    if (name != key) continue;
    while (i < line.size() && is_blank(line[i])) ++i;
    std::string v = line.substr(i);
    while (!v.empty() && is_blank(v.back())) v.pop_back();
    return v;
  }
  return std::nullopt;
}

std::string Settings::get(const std::string& key, const std::string& fallback) const {
  if (auto it = overrides_.find(key); it != overrides_.end()) return it->second;
  if (const char* e = std::getenv(key.c_str()); e && *e) return e;
  if (auto v = config_get(config_, key); v && !v->empty()) return *v;
  return fallback;
}

bool Settings::given(const std::string& key) const {
  if (overrides_.count(key)) return true;
  if (const char* e = std::getenv(key.c_str()); e && *e) return true;
  auto v = config_get(config_, key);
  return v && !v->empty();
}

std::string qemu_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    out.push_back(c);
    if (c == ',') out.push_back(',');
  }
  return out;
}

bool find_tools(const std::string& top, const Settings& s, Tools* out, std::string* error) {
  Tools t;
  t.qemu = s.get("QEMU", "qemu-system-x86_64");
  t.vars["QEMU"] = t.qemu;
  t.qemu_path = proc::find_program(t.qemu);
  if (t.qemu_path.empty()) {
    *error = "error: QEMU '" + t.qemu + "' not found (install the Debian package qemu-system-x86, or set QEMU=)";
    return false;
  }
  t.firmware = s.get("FIRMWARE", "pflash");
  t.vars["FIRMWARE"] = t.firmware;
  auto setting = [&](const char* key, const char* fallback) {
    std::string v = s.get(key, fallback);
    t.vars[key] = v;
    return v;
  };
  std::string code, vars, hint;
  if (t.firmware == "pflash") {
    code = setting("OVMF_CODE", "/usr/share/OVMF/OVMF_CODE_4M.fd");
    vars = setting("OVMF_VARS", "/usr/share/OVMF/OVMF_VARS_4M.fd");
    t.firmware_files = {code, vars};
    hint = "OVMF_CODE= and OVMF_VARS=";
  } else if (t.firmware == "bios") {
    t.firmware_files = {setting("BIOS", "/usr/share/ovmf/OVMF.fd")};
    hint = "BIOS=";
  } else if (t.firmware == "secboot") {
    code = setting("SECBOOT_CODE", "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd");
    vars = setting("SECBOOT_VARS", "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd");
    t.firmware_files = {code, vars};
    hint = "SECBOOT_CODE= and SECBOOT_VARS=";
  } else {
    *error = std::string("error: FIRMWARE must be one of: ") + kFirmwareProfiles + " (not '" + t.firmware + "')";
    return false;
  }
  for (const std::string& f : t.firmware_files) {
    if (!readable(f)) {
      *error = "error: firmware '" + f + "' not found (install the Debian package ovmf, or set " + hint + ")";
      return false;
    }
  }
  // -nodefaults leaves no NIC, VGA, monitor, floppy or CD-ROM: OVMF boots
  // the -kernel image without any of them. The variable store is opened
  // with snapshot=on, so the shared file is never written.
  if (t.firmware == "bios") {
    t.firmware_args = {"-bios", t.firmware_files[0]};
  } else {
    t.firmware_args = {"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + qemu_escape(code), "-drive",
                       "if=pflash,format=raw,unit=1,snapshot=on,file=" + qemu_escape(vars)};
  }
  if (t.firmware == "secboot") {
    t.firmware_args.insert(t.firmware_args.end(),
                           {"-machine", "smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on"});
    // Debian's snakeoil key by default, whose variable store has it
    // enrolled; sbsign cannot take a passphrase, so a copy without it is
    // made once in build/.
    t.secboot_cert = setting("SECBOOT_CERT", kSnakeoilCert);
    if (s.given("SECBOOT_KEY")) {
      t.secboot_key = s.get("SECBOOT_KEY", "");
    } else {
      t.secboot_key = top + "/build/secboot/snakeoil.key";
      struct stat st;
      if (stat(t.secboot_key.c_str(), &st) != 0 || st.st_size == 0) {
        proc::make_dirs(top + "/build/secboot");
        const std::string tmp = t.secboot_key + ".tmp." + std::to_string(getpid());
        const mode_t old = umask(077);
        Captured c = capture({"openssl", "rsa", "-in", kSnakeoilKey, "-passin", "pass:snakeoil", "-out", tmp},
                             true, 60);
        umask(old);
        if (c.status != 0 || rename(tmp.c_str(), t.secboot_key.c_str()) != 0) {
          unlink(tmp.c_str());
          *error = std::string("error: cannot take the passphrase off ") + kSnakeoilKey +
                   " (install the Debian packages ovmf and openssl, or set SECBOOT_KEY=)";
          return false;
        }
      }
    }
    t.vars["SECBOOT_KEY"] = t.secboot_key;
    if (proc::find_program("sbsign").empty()) {
      *error = "error: the secboot profile signs images with sbsign (install the Debian package sbsigntool)";
      return false;
    }
    for (const std::string& f : {t.secboot_key, t.secboot_cert}) {
      if (!readable(f)) {
        *error = "error: Secure Boot key or certificate '" + f + "' not readable";
        return false;
      }
    }
  }
  *out = std::move(t);
  return true;
}

bool firmware_image(const Tools& t, const std::string& src, const std::string& dst, std::string* image,
                    std::string* error) {
  if (t.firmware != "secboot") {
    *image = src;
    return true;
  }
  const std::string tmp = dst + ".tmp." + std::to_string(getpid());
  Captured c = capture({"sbsign", "--key", t.secboot_key, "--cert", t.secboot_cert, "--output", tmp, src}, true, 60);
  if (c.status != 0 || rename(tmp.c_str(), dst.c_str()) != 0) {
    unlink(tmp.c_str());
    *error = "error: sbsign failed on " + src + ": " + last_line(c.out);
    return false;
  }
  *image = dst;
  return true;
}

std::vector<std::string> base_args(const std::vector<std::string>& firmware_args) {
  // -no-reboot turns a triple fault or a guest reset into QEMU exit 0.
  std::vector<std::string> a = {"-nodefaults", "-machine", "q35"};
  a.insert(a.end(), firmware_args.begin(), firmware_args.end());
  a.insert(a.end(), {"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-serial", "stdio", "-display", "none",
                     "-no-reboot"});
  return a;
}

bool parse_user_args(const std::vector<std::string>& in, UserArgs* out, std::string* error) {
  UserArgs u;
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string& a = in[i];
    const bool has_value = i + 1 < in.size();
    if (a == "-append") {
      if (!has_value) return *error = "-append needs an argument", false;
      if (u.have_append) return *error = "-append given twice", false;
      u.have_append = true;
      u.test_args = in[++i];
      continue;
    }
    if (a == "-bios") {
      if (!has_value) return *error = "-bios needs a file", false;
      u.bios = in[++i];
      continue;
    }
    if (a == "-kernel" || a == "-pflash") {
      *error = a + " is set by scripts/run; use another TEST, or FIRMWARE= with OVMF_CODE/OVMF_VARS or BIOS";
      return false;
    }
    if (a == "-cpu") {
      u.have_cpu = true;
    } else if (a == "-m") {
      u.have_mem = true;
    } else if (a == "-smp") {
      u.have_smp = true;
    } else if (a == "-enable-kvm") {
      u.have_accel = true;
      u.user_accel = "kvm";
    } else if (a == "-accel") {
      u.have_accel = true;
      u.user_accel = has_value ? in[i + 1].substr(0, in[i + 1].find(',')) : "";
    } else if ((a == "-machine" || a == "-M") && has_value) {
      // (^|,)accel=([^,:]*)
      const std::string& v = in[i + 1];
      for (size_t at = 0; at < v.size();) {
        size_t end = v.find(',', at);
        if (end == std::string::npos) end = v.size();
        if (v.compare(at, 6, "accel=") == 0) {
          std::string val = v.substr(at + 6, end - at - 6);
          u.have_accel = true;
          u.user_accel = val.substr(0, val.find(':'));
          break;
        }
        at = end + 1;
      }
    }
    u.args.push_back(a);
  }
  *out = std::move(u);
  return true;
}

std::vector<std::string> machine_args(const std::vector<std::string>& base, const UserArgs& user,
                                      const std::vector<std::string>& extra) {
  std::vector<std::string> m = base;
  if (!user.have_cpu) m.insert(m.end(), {"-cpu", kDefaultCpu});
  if (!user.have_mem) m.insert(m.end(), {"-m", kDefaultMem});
  if (!user.have_smp) m.insert(m.end(), {"-smp", kDefaultSmp});
  m.insert(m.end(), extra.begin(), extra.end());
  m.insert(m.end(), user.args.begin(), user.args.end());
  return m;
}

std::vector<std::string> split_blanks(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (is_blank(c)) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string shell_quote(const std::vector<std::string>& words) {
  static constexpr char kPlain[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=,:+@%^-";
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out.push_back(' ');
    if (!w.empty() && w.find_first_not_of(kPlain) == std::string::npos) {
      out += w;
      continue;
    }
    out.push_back('\'');
    for (char c : w) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out.push_back(c);
      }
    }
    out.push_back('\'');
  }
  return out;
}

bool parse_duration(const std::string& s, double* seconds) {
  if (!cfg::valid_duration(s)) return false;
  double mul = 1;
  std::string n = s;
  switch (s.back()) {
    case 's': n.pop_back(); break;
    case 'm': n.pop_back(); mul = 60; break;
    case 'h': n.pop_back(); mul = 3600; break;
    case 'd': n.pop_back(); mul = 86400; break;
    default: break;
  }
  *seconds = std::strtod(n.c_str(), nullptr) * mul;
  return true;
}

bool parse_run_duration(const std::string& s, double* seconds) {
  std::string n = s;
  double mul = 1;
  if (!n.empty()) {
    switch (n.back()) {
      case 's': n.pop_back(); break;
      case 'm': n.pop_back(); mul = 60; break;
      case 'h': n.pop_back(); mul = 3600; break;
      case 'd': n.pop_back(); mul = 86400; break;
      default: break;
    }
  }
  const size_t dot = n.find('.');
  const std::string whole = n.substr(0, dot), frac = dot == std::string::npos ? "" : n.substr(dot + 1);
  auto digits = [](const std::string& d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(whole) || (dot != std::string::npos && !digits(frac))) return false;
  *seconds = std::strtod(n.c_str(), nullptr) * mul;
  return true;
}

std::string seconds_text(double s) {
  char buf[64];
  if (s == std::floor(s) && s < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", s);
  } else {
    std::snprintf(buf, sizeof(buf), "%g", s);
  }
  return buf;
}

}  // namespace run
