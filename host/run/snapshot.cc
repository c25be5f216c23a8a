#include "snapshot.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "../proc.h"
#include "qemu_cmdline.h"
#include "sha256.h"
#include "supervisor.h"

namespace run::snapshot {

namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}

// Written under a private name and renamed, so that readers never see a
// half-written file.
bool write_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!(out << text) || !out.flush()) {
      unlink(tmp.c_str());
      return false;
    }
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string identity(const std::string& path, bool* ok) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    *ok = false;
    return "";
  }
  char buf[256];
  std::snprintf(buf, sizeof(buf), " %lld %lld.%09ld %lld.%09ld %llu", static_cast<long long>(st.st_size),
                static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec,
                static_cast<long long>(st.st_ctim.tv_sec), st.st_ctim.tv_nsec,
                static_cast<unsigned long long>(st.st_ino));
  return path + buf;
}

}  // namespace

uint64_t mem_mib(const std::string& value) {
  std::string v = value.rfind("size=", 0) == 0 ? value.substr(5) : value;
  size_t i = 0;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
  if (i == 0 || i > 15) return 0;
  uint64_t n = std::stoull(v.substr(0, i));
  std::string rest = v.substr(i);
  if (!rest.empty() && (rest.back() == 'B' || rest.back() == 'b')) rest.pop_back();
  if (rest.size() > 1) return 0;
  if (rest.empty() || rest == "M" || rest == "m") {
  } else if (rest == "G" || rest == "g") {
    n *= 1024;
  } else if (rest == "T" || rest == "t") {
    n *= 1024 * 1024;
  } else {
    return 0;
  }
  return n;
}

bool ram_args(const std::string& path, bool share, const std::vector<std::string>& machine,
              std::vector<std::string>* out) {
  std::string mem;
  for (size_t i = 0; i + 1 < machine.size(); ++i)
    if (machine[i] == "-m") mem = machine[++i];
  const uint64_t mib = mem_mib(mem);
  if (!mib) return false;
  *out = {"-machine", std::string("memory-backend=") + kRamId, "-object",
          std::string("memory-backend-file,id=") + kRamId + ",size=" + std::to_string(mib) +
              "M,mem-path=" + qemu_escape(path) + ",share=" + (share ? "on" : "off")};
  return true;
}

std::string args_reason(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size();) {
    const std::string a = args[i++];
    std::string v;
    if (!a.empty() && a[0] == '-' && a != "-enable-kvm" && i < args.size()) v = args[i++];
    const std::string both = a + " " + v;
    for (const char* c : {"sev-guest", "sev-snp-guest", "tdx-guest", "confidential-guest-support", "memory-encryption"})
      if (contains(both, c)) return "confidential VM (" + both + "): its state cannot be saved and restored";
    if (a == "-m") {
      // The RAM file is sized from -m, so only a plain size will do (not
      // slots= or maxmem=, which add hotplug regions).
      const std::string plain = v.rfind("size=", 0) == 0 ? v.substr(5) : v;
      if (plain.empty() || contains(plain, ",") || !mem_mib(v))
        return "-m " + v + " is not a plain size, which the snapshot's RAM file needs";
    } else if (a == "-machine" || a == "-M") {
      if (contains(v, "memory-backend"))
        return "-machine " + v + " chooses the RAM backend, which the snapshot needs for itself";
    } else if (a == "-smp" || a == "-cpu" || a == "-accel" || a == "-global" || a == "-vga" || a == "-enable-kvm") {
    } else if (a == "-device") {
      for (const char* c : {"drive=", "chardev=", "netdev=", "memdev=", "fsdev=", "file=", "path="})
        if (contains(v, c)) return "-device " + v + " has a host backend, which the snapshot key cannot cover";
    } else if (!a.empty() && a[0] == '-') {
      return "QEMU argument " + a + " is not part of the snapshot key";
    } else {
      return "unexpected QEMU argument '" + a + "'";
    }
  }
  return "";
}

bool qemu_version(const std::string& bin, const std::string& dir, std::string* out) {
  struct stat st;
  if (stat(bin.c_str(), &st) != 0) return false;
  const std::string id = bin + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + " " +
                         std::to_string(st.st_ino);
  const std::string f = dir + "/qemu-version." + sha256_hex(id + "\n").substr(0, 16);
  std::string cached;
  if (proc::read_file(f, &cached) && !first_line(cached).empty()) {
    *out = first_line(cached);
    return true;
  }
  Captured c = capture({bin, "--version"}, false, 30);
  const std::string v = first_line(c.out);
  if (c.status != 0 || v.empty()) return false;
  write_atomic(f, v + "\n");
  *out = v;
  return true;
}

bool shape_text(const ShapeInput& in, const std::string& version, std::string* out) {
  struct stat st;
  if (stat(in.qemu_path.c_str(), &st) != 0) return false;
  std::string s = "format " + std::to_string(kFormat) + "\n";
  s += "qemu " + in.qemu_path + " size " + std::to_string(st.st_size) + " mtime " + std::to_string(st.st_mtim.tv_sec) +
       "\n";
  s += "qemu-version " + version + "\n";
  s += "firmware " + in.firmware + "\n";
  std::vector<std::string> esc;
  std::string h;
  for (const std::string& f : in.firmware_files) {
    if (!sha256_file(f, &h)) return false;
    s += "firmware-file sha256 " + h + "\n";
    esc.push_back(qemu_escape(f));
  }
  if (!in.signed_by.empty()) {
    // The loader is signed: another certificate makes another loader.
    if (!sha256_file(in.signed_by, &h)) return false;
    s += "signed-by sha256 " + h + "\n";
  }
  if (!sha256_file(in.loader, &h)) return false;
  s += "loader sha256 " + h + "\n";
  bool kvm = false;
  for (const std::string& a : in.machine) kvm = kvm || contains(a, "kvm");
  if (kvm) {
    // Under KVM, -cpu max/host follows the host CPU and the kernel.
    struct utsname u;
    std::string release = uname(&u) == 0 ? u.release : "";
    std::ifstream cpu("/proc/cpuinfo");
    std::string line, picked;
    int n = 0;
    while (n < 2 && std::getline(cpu, line)) {
      if (line.rfind("model name", 0) == 0 || line.rfind("flags", 0) == 0) {
        picked += line + "\n";
        ++n;
      }
    }
    s += "host " + release + " " + sha256_hex(picked).substr(0, 16) + "\n";
  }
  for (const std::string& a0 : in.machine) {
    std::string a = a0;
    for (size_t i = 0; i < esc.size(); ++i) a = replace_all(a, esc[i], "@FIRMWARE_FILE" + std::to_string(i));
    s += "arg " + a + "\n";
  }
  s.pop_back();
  *out = s;
  return true;
}

std::string key_of_shape(const std::string& shape) { return sha256_hex(shape + "\n").substr(0, 20); }

bool key(const ShapeInput& in, std::string* key_out, std::string* shape_out) {
  bool ok = true;
  std::string ids = "format " + std::to_string(kFormat) + "\nfirmware " + in.firmware + "\n";
  ids += identity(in.qemu_path, &ok) + "\n";
  for (const std::string& f : in.firmware_files) ids += identity(f, &ok) + "\n";
  ids += identity(in.loader, &ok) + "\n";
  if (!in.signed_by.empty()) ids += identity(in.signed_by, &ok) + "\n";
  if (!ok) return false;
  for (const std::string& a : in.machine) ids += a + "\n";
  const std::string memo = in.dir + "/memo." + sha256_hex(ids).substr(0, 20);
  // The memo is "key <KEY>" and then the shape.
  std::string text;
  if (proc::read_file(memo, &text) && text.rfind("key ", 0) == 0) {
    const size_t nl = text.find('\n');
    const std::string k = text.substr(4, nl == std::string::npos ? std::string::npos : nl - 4);
    if (nl != std::string::npos && k.size() == 20 && k.find_first_not_of("0123456789abcdef") == std::string::npos) {
      std::string shape = text.substr(nl + 1);
      while (!shape.empty() && shape.back() == '\n') shape.pop_back();
      *key_out = k;
      *shape_out = shape;
      return true;
    }
  }
  std::string version, shape;
  if (!qemu_version(in.qemu_path, in.dir, &version) || !shape_text(in, version, &shape)) return false;
  *key_out = key_of_shape(shape);
  *shape_out = shape;
  write_atomic(memo, "key " + *key_out + "\n" + shape + "\n");
  return true;
}

std::string file(const std::string& dir, const std::string& key, const char* part) {
  return dir + "/" + key + "." + part;
}

bool complete(const std::string& dir, const std::string& key) {
  for (const char* part : {"shape", "state", "ram", "loader.efi"}) {
    struct stat st;
    if (stat(file(dir, key, part).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  }
  return true;
}

void forget(const std::string& dir, const std::string& key) {
  for (const char* part : {"shape", "state", "ram", "loader.efi"}) unlink(file(dir, key, part).c_str());
}

void prune(const std::string& dir, unsigned keep) {
  struct Entry {
    struct timespec mtime;
    std::string key;
  };
  std::vector<Entry> shapes;
  const time_t now = time(nullptr);
  for (const std::string& n : proc::list_dir(dir)) {
    struct stat st;
    const std::string path = dir + "/" + n;
    if (stat(path.c_str(), &st) != 0) continue;
    const bool is_shape = n.size() > 6 && n.compare(n.size() - 6, 6, ".shape") == 0;
    if (is_shape) shapes.push_back({st.st_mtim, n.substr(0, n.size() - 6)});
    if ((n.rfind("memo.", 0) == 0 || n.rfind("qemu-version.", 0) == 0) && now - st.st_mtime >= 8 * 86400)
      unlink(path.c_str());
  }
  std::sort(shapes.begin(), shapes.end(), [](const Entry& a, const Entry& b) {
    if (a.mtime.tv_sec != b.mtime.tv_sec) return a.mtime.tv_sec > b.mtime.tv_sec;
    return a.mtime.tv_nsec > b.mtime.tv_nsec;
  });
  for (size_t i = keep; i < shapes.size(); ++i) {
    for (const char* part : {"state", "ram", "loader.efi"}) unlink(file(dir, shapes[i].key, part).c_str());
    unlink(file(dir, shapes[i].key, "shape").c_str());
  }
}

}  // namespace run::snapshot
