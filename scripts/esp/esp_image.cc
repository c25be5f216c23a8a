// efitest esp-image: the efitest ESP, as a directory tree and as a GPT disk
// image whose one partition, an EFI System Partition, holds it. mkfs.fat
// and mtools build the FAT file system in a file of its own and sgdisk the
// partition table, so no root and no loop device are needed. `make esp`
// and `make sign` call it (scripts/esp/esp.mk); docs/esp.md describes the
// variables that feed these options.
//
//   efitest esp-image --top DIR --dir OUT_DIR --image OUT_IMG
//            [--cfg FILE] [--tests LIST] [--groups LIST] [--end ACTION]
//            [--timeout DUR] [--timeout-scale X] [--size MIB]
//            [--key KEY --cert CERT]
//
// Layout of the ESP:
//   EFI/BOOT/BOOTX64.EFI      the batch runner (efi/runner.efi)
//   efitest/manifest.txt      the selection (`efitest manifest`)
//   efitest/x86/...           every test image (x86/**/*.efi)
//   efitest/efi/...           the other EFI applications (efi/*.efi)
// The runner adds efitest/journal.txt while it runs and results.tap,
// junit.xml and summary.txt at the root when it is done.
//
// Layout of the disk image (512-byte sectors, what a USB stick has):
//   LBA 0                 protective MBR (one partition of type 0xEE)
//   LBA 1-33              GPT header and partition entries
//   1 MiB                 the ESP: type C12A7328-F81F-11D2-BA4B-00A0C93EC93B,
//                         --size MiB of FAT32, ending on a MiB boundary
//   the last 1 MiB        free, but for the backup GPT in its last 33 sectors
// So the image is --size + 2 MiB.
//
// Two runs on the same files give the same image, byte for byte: the files
// go in in sorted order, their FAT time stamps are SOURCE_DATE_EPOCH
// (1980-01-01 00:00 UTC, the FAT epoch, when unset), and the FAT volume ID
// and the GUIDs of the disk and the partition are derived from a hash of
// the tree (espid.h), so that two different ESPs do not share them. Signed
// trees differ from run to run all the same: sbsign puts the signing time
// into each signature.
//
// With --key and --cert every .efi in the tree is signed with sbsign (the
// build's own images stay unsigned); the key must not need a passphrase
// prompt, or sbsign asks on the terminal.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../../host/commands.h"
#include "../../host/proc.h"
#include "espid.h"

namespace fs = std::filesystem;

namespace {

constexpr const char* kEspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
constexpr unsigned kSector = 512;
constexpr unsigned kPartStartMiB = 1;
constexpr uint64_t kMiB = 1024 * 1024;
// FAT time stamps cannot go below 1980 (mtools wraps earlier ones to 2107).
constexpr unsigned long long kFatEpoch = 315532800;
// No tool the image needs may run longer than this.
constexpr double kToolBound = 600;

volatile sig_atomic_t g_stop = 0;
void on_stop(int sig) { g_stop = sig; }

// What is left behind on any way out: the tree and the files under their
// temporary names.
struct Scratch {
  std::vector<std::string> paths;
  ~Scratch() {
    std::error_code ec;
    for (const std::string& p : paths) fs::remove_all(p, ec);
  }
};

struct Failure {
  std::string msg;
};

[[noreturn]] void die(const std::string& msg) { throw Failure{msg}; }

void check_stop() {
  if (g_stop) die("interrupted");
}

struct Tool {
  bool ok = false;
  std::string output;  // stdout and stderr
};

// Runs argv with stdin on /dev/null, stdout into `out` and stderr into
// `err` (both into one file when they are the same path; "" is /dev/null),
// with env ("NAME=VALUE") added, under kToolBound. Tool::output is what
// went to `err`.
Tool run_tool(const std::vector<std::string>& argv, const std::string& out, const std::string& err,
              const std::vector<std::string>& env = {}) {
  Tool t;
  const pid_t pid = fork();
  if (pid < 0) return t;
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    const int null = open("/dev/null", O_RDWR);
    auto file = [&](const std::string& p) { return p.empty() ? null : open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644); };
    const int efd = file(err), ofd = out == err ? efd : file(out);
    dup2(null, 0);
    dup2(ofd < 0 ? null : ofd, 1);
    dup2(efd < 0 ? null : efd, 2);
    for (const std::string& e : env) {
      const size_t eq = e.find('=');
      setenv(e.substr(0, eq).c_str(), e.c_str() + eq + 1, 1);
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  const double end = proc::now() + kToolBound;
  int st = 0;
  bool killed = false;
  for (;;) {
    const pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (!killed && (g_stop || proc::now() >= end)) {
      kill(pid, SIGKILL);
      killed = true;
    }
    const struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  std::ifstream in(err, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  t.output = ss.str();
  if (killed && !g_stop) t.output += "(ended after " + std::to_string(static_cast<int>(kToolBound)) + "s)\n";
  t.ok = !killed && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  check_stop();
  return t;
}

// Every directory and regular file under root, relative to it, each list
// in byte order.
void walk(const std::string& root, std::vector<std::string>* dirs, std::vector<std::string>* files) {
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const fs::file_status st = it->symlink_status();
    const std::string rel = fs::relative(it->path(), root).string();
    if (fs::is_directory(st) && dirs) dirs->push_back(rel);
    else if (fs::is_regular_file(st) && files) files->push_back(rel);
  }
  if (dirs) std::sort(dirs->begin(), dirs->end());
  if (files) std::sort(files->begin(), files->end());
}

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  espid::Sha256 h;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) h.update(buf, static_cast<size_t>(in.gcount()));
  return h.hex();
}

// du -sk --apparent-size: the sizes of every entry, directories included,
// in KiB rounded up.
uint64_t apparent_kib(const std::string& root) {
  uint64_t bytes = 0;
  struct stat st;
  if (lstat(root.c_str(), &st) == 0) bytes += static_cast<uint64_t>(st.st_size);
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it)
    if (lstat(it->path().c_str(), &st) == 0) bytes += static_cast<uint64_t>(st.st_size);
  return (bytes + 1023) / 1024;
}

bool whole_number(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 12;
}

void need_tool(const char* tool, const char* package) {
  if (proc::find_program(tool).empty())
    die(std::string("'") + tool + "' not found (install the Debian package" + package + ")");
}

// The FAT file system, copied into the image at `offset`; blocks of zeros
// are skipped, so the image stays sparse (the region is zeros already).
void copy_sparse(const std::string& from, const std::string& to, uint64_t offset) {
  const int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  const int out = open(to.c_str(), O_WRONLY | O_CLOEXEC);
  if (in < 0 || out < 0) {
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    die("cannot open " + from + " or " + to);
  }
  std::vector<char> buf(kMiB);
  const std::vector<char> zero(kMiB, 0);
  bool ok = true;
  for (uint64_t at = 0; ok;) {
    ssize_t n = 0;
    size_t got = 0;
    while (got < buf.size() && (n = read(in, buf.data() + got, buf.size() - got)) > 0) got += static_cast<size_t>(n);
    if (n < 0) ok = false;
    if (got == 0) break;
    if (std::memcmp(buf.data(), zero.data(), got) != 0 &&
        pwrite(out, buf.data(), got, static_cast<off_t>(offset + at)) != static_cast<ssize_t>(got))
      ok = false;
    at += got;
  }
  close(in);
  if (close(out) != 0) ok = false;
  if (!ok) die("cannot copy the file system into " + to);
}

void truncate_to(const std::string& path, uint64_t size) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) {
    if (fd >= 0) close(fd);
    die("cannot make " + path);
  }
  close(fd);
}

int esp_image(int argc, char** argv) {
  std::string top, dir, img, size, key, cert;
  std::vector<std::string> manifest_args;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) die("'" + a + "' needs a value");
    const std::string v = argv[++i];
    if (a == "--top") top = v;
    else if (a == "--dir") dir = v;
    else if (a == "--image") img = v;
    else if (a == "--size") size = v;
    else if (a == "--key") key = v;
    else if (a == "--cert") cert = v;
    else if (a == "--cfg" || a == "--tests" || a == "--groups" || a == "--end" || a == "--timeout" ||
             a == "--timeout-scale")
      manifest_args.insert(manifest_args.end(), {a, v});
    else die("unknown argument '" + a + "'");
  }
  if (top.empty() || dir.empty() || img.empty()) die("missing --top, --dir or --image");
  // mkfs.fat and sgdisk live in /usr/sbin, which is not on a Debian user's
  // PATH; they need no root on a plain file.
  const char* path = std::getenv("PATH");
  setenv("PATH", (std::string(path ? path : "/usr/bin:/bin") + ":/usr/sbin:/sbin").c_str(), 1);
  for (const char* tool : {"mcopy", "mmd", "mkfs.fat", "sgdisk"})
    if (proc::find_program(tool).empty())
      die(std::string("'") + tool + "' not found (install the Debian packages mtools, dosfstools and gdisk)");
  const char* sde = std::getenv("SOURCE_DATE_EPOCH");
  const std::string stamp = sde ? sde : std::to_string(kFatEpoch);
  if (!whole_number(stamp) || std::strtoull(stamp.c_str(), nullptr, 10) < kFatEpoch)
    die("SOURCE_DATE_EPOCH must be a time in seconds from 1980 on (" + std::to_string(kFatEpoch) +
        " or more), not '" + stamp + "'");
  if (!key.empty() || !cert.empty()) {
    if (access(key.c_str(), R_OK) != 0 || access(cert.c_str(), R_OK) != 0)
      die("signing needs a readable KEY and CERT (got '" + key + "', '" + cert + "')");
    need_tool("sbsign", " sbsigntool");
  }
  if (access((top + "/efi/runner.efi").c_str(), R_OK) != 0) die("efi/runner.efi is not built (run make)");

  // Built next to the target and swapped in, so that a failed build never
  // leaves half an ESP behind.
  const std::string pid = std::to_string(getpid());
  const std::string tmp = dir + ".tmp." + pid, fat = img + ".fat.tmp." + pid, img_tmp = img + ".tmp." + pid,
                    log = img + ".log.tmp." + pid;
  Scratch scratch{{tmp, fat, img_tmp, log}};
  std::error_code ec;
  fs::remove_all(tmp, ec);
  for (const char* d : {"/EFI/BOOT", "/efitest/x86", "/efitest/efi"})
    if (!proc::make_dirs(tmp + d)) die("cannot make " + tmp + d);

  // The selection, by the host program's own `manifest`.
  std::vector<std::string> margs = {"/proc/self/exe", "manifest"};
  margs.insert(margs.end(), manifest_args.begin(), manifest_args.end());
  const Tool m = run_tool(margs, tmp + "/efitest/manifest.txt", log);
  if (!m.ok) {
    std::fputs(m.output.c_str(), stderr);
    die("efitest manifest failed");
  }

  auto copy = [&](const std::string& from, const std::string& to) {
    if (!fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec)) die("cannot copy " + from);
  };
  copy(top + "/efi/runner.efi", tmp + "/EFI/BOOT/BOOTX64.EFI");
  std::vector<std::string> images;
  walk(top + "/x86", nullptr, &images);
  for (const std::string& f : images) {
    if (f.size() < 4 || f.compare(f.size() - 4, 4, ".efi") != 0) continue;
    const std::string to = tmp + "/efitest/x86/" + f;
    proc::make_dirs(fs::path(to).parent_path().string());
    copy(top + "/x86/" + f, to);
  }
  for (const std::string& f : proc::list_dir(top + "/efi"))
    if (f.size() > 4 && f.compare(f.size() - 4, 4, ".efi") == 0 && f != "runner.efi")
      copy(top + "/efi/" + f, tmp + "/efitest/efi/" + f);

  if (!key.empty()) {
    std::vector<std::string> all;
    walk(tmp, nullptr, &all);
    for (const std::string& f : all) {
      const std::string ext = f.size() >= 4 ? f.substr(f.size() - 4) : "";
      if (ext != ".efi" && ext != ".EFI") continue;
      const std::string p = tmp + "/" + f;
      const Tool s = run_tool({"sbsign", "--key", key, "--cert", cert, "--output", p + ".signed", p}, "", log);
      if (!s.ok) {
        std::fputs(s.output.c_str(), stderr);
        die("sbsign failed on " + f);
      }
      fs::rename(p + ".signed", p, ec);
      if (ec) die("cannot rename " + p + ".signed");
    }
  }

  // FAT32 as UEFI 2.10 §13.3.1.1 expects on fixed media; it needs at least
  // 65525 clusters, so the partition is never below 64 MiB (sparse on disk).
  const uint64_t used = apparent_kib(tmp);
  if (size.empty()) size = std::to_string(std::max<uint64_t>(used * 2 / 1024 + 8, 64));
  if (!whole_number(size)) die("ESP_SIZE must be a whole number of MiB, not '" + size + "'");
  const uint64_t mib = std::strtoull(size.c_str(), nullptr, 10);
  if (mib * 1024 <= used) die("ESP_SIZE=" + size + " MiB is too small for " + std::to_string(used) + " KiB of files");

  // One hash over every path and content of the tree names this ESP.
  std::vector<std::string> dirs, files;
  walk(tmp, &dirs, &files);
  std::vector<std::pair<std::string, std::string>> sums;
  for (const std::string& f : files) sums.emplace_back(f, file_sha256(tmp + "/" + f));
  const std::string tree = espid::tree_hash(sums);
  const uint64_t part_lba = kPartStartMiB * kMiB / kSector;

  // The FAT file system, on its own file the size of the partition. Its
  // boot sector counts the sectors in front of the partition as hidden, as
  // a partition's should (-h); --invariant fixes its creation time stamp.
  truncate_to(fat, mib * kMiB);
  Tool t = run_tool({"mkfs.fat", "--invariant", "-i", espid::volume_id(tree), "-F", "32", "-S",
                     std::to_string(kSector), "-s", "1", "-h", std::to_string(part_lba), "-n", "EFITEST", fat},
                    "", log);
  if (!t.ok) {
    std::fputs(t.output.c_str(), stderr);
    die("mkfs.fat failed");
  }
  const std::vector<std::string> mtools_env = {"MTOOLS_SKIP_CHECK=1", "SOURCE_DATE_EPOCH=" + stamp, "TZ=UTC"};
  // Directories first, then the files, all in byte order (mcopy -s would
  // take them in the host directory's order), one call each: mtools
  // allocates clusters differently within one call, and one call per item
  // keeps the image the same as it has always been.
  for (const std::string& d : dirs) {
    t = run_tool({"mmd", "-i", fat, "::/" + d}, log, log, mtools_env);
    if (!t.ok) {
      std::fputs(t.output.c_str(), stderr);
      die("mmd failed on " + d);
    }
  }
  for (const std::string& f : files) {
    t = run_tool({"mcopy", "-Q", "-i", fat, tmp + "/" + f, "::/" + f}, log, log, mtools_env);
    if (!t.ok) {
      std::fputs(t.output.c_str(), stderr);
      die("mcopy failed on " + f);
    }
  }

  // The disk: the partition table on an empty file of the full size, then
  // the file system copied into the partition.
  truncate_to(img_tmp, (mib + 2 * kPartStartMiB) * kMiB);
  t = run_tool({"sgdisk", "--disk-guid=" + espid::guid_of(tree, "disk"),
                "--new=1:" + std::to_string(part_lba) + ":+" + size + "M", std::string("--typecode=1:") + kEspType,
                "--partition-guid=1:" + espid::guid_of(tree, "partition"), "--change-name=1:EFI System Partition",
                img_tmp},
               log, log);
  if (!t.ok) {
    std::fputs(t.output.c_str(), stderr);
    die("sgdisk could not write the partition table");
  }
  copy_sparse(fat, img_tmp, kPartStartMiB * kMiB);
  check_stop();

  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) die("cannot rename " + tmp + " to " + dir);
  fs::rename(img_tmp, img, ec);
  if (ec) die("cannot rename " + img_tmp + " to " + img);
  unsigned count = 0;
  std::ifstream man(dir + "/efitest/manifest.txt");
  for (std::string l; std::getline(man, l);) count += l.rfind("test", 0) == 0 || l.rfind("skip", 0) == 0;
  std::printf("ESP: %s (GPT disk of %llu MiB, %s MiB ESP at %u MiB, %u tests selected%s)\n", img.c_str(),
              static_cast<unsigned long long>(mib + 2 * kPartStartMiB), size.c_str(), kPartStartMiB, count,
              key.empty() ? "" : ", signed");
  return 0;
}

}  // namespace

int cmd_esp_image(int argc, char** argv) {
  struct sigaction sa = {};
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  try {
    return esp_image(argc, argv);
  } catch (const Failure& f) {
    std::fprintf(stderr, "efitest esp-image: %s\n", f.msg.c_str());
    return g_stop ? 130 : 1;
  } catch (const fs::filesystem_error& e) {
    std::fprintf(stderr, "efitest esp-image: %s\n", e.what());
    return 1;
  }
}
