// runner: the unattended batch runner of an efitest ESP (EFI/BOOT/BOOTX64.EFI,
// built by `make esp`; docs/esp.md is the user's guide).
//
// A test image cannot return to the firmware: it exits boot services and
// ends with a reset. So the runner runs one test per boot and keeps its
// place across resets in the NV variable EfitestProgress (lib/esp/vars.h):
//
//   boot ─► no progress, or progress of another manifest: start a run
//        ─► progress "in flight i": conclude test i
//              EfitestVerdict for this launch present   → its verdict
//              absent, the test's timeout has passed     → TIMEOUT
//              absent, earlier                           → CRASH
//        ─► next entry: skip record → SKIP; otherwise save "in flight",
//           set EfitestLaunch, LoadImage (refused → ERROR, go on), arm
//           the watchdogs, StartImage; the test resets the machine
//        ─► no entry left: write results.tap, junit.xml, summary.txt to
//           the ESP root, show the summary, forget the progress, then
//           power off or wait (the manifest's `end`)
//
// Finished tests are appended to \efitest\journal.txt before the progress
// moves on, so the progress variable stays small whatever the suite size.
#include "efi/conout.h"
#include "efi/efi.h"
#include "esp/manifest.h"
#include "esp/results.h"
#include "esp/tco.h"
#include "esp/textbuf.h"
#include "esp/uefi_fs.h"
#include "esp/vars.h"
#include "esp/volume.h"

using efi::con_printf;

namespace {

constexpr char kManifestPath[] = "\\efitest\\manifest.txt";
constexpr char kJournalPath[] = "\\efitest\\journal.txt";
constexpr char kTapPath[] = "\\results.tap";
constexpr char kJunitPath[] = "\\junit.xml";
constexpr char kSummaryPath[] = "\\summary.txt";

constexpr uint32_t kMaxTests = 1024;
constexpr size_t kReportBytes = 1 << 20;
constexpr size_t kMaxCmdline = 4096;
// UEFI 2.10 §7.5.1: watchdog codes up to 0xffff belong to the firmware.
constexpr uint64_t kWatchdogCode = 0x10000 | 0xe5;

constinit efi::SystemTable* st = nullptr;
constinit efi::BootServices* bs = nullptr;
constinit efi::RuntimeServices* rt = nullptr;
constinit esp::Volume volume;
constinit esp::tco::Info tco_info{};
constinit char16_t load_options[kMaxCmdline];
constinit const esp::ManifestEntry* entries = nullptr;

const char* status_str(efi::Status s) {
  switch (s) {
    case efi::kSuccess: return "Success";
    case efi::kLoadError: return "Load Error";
    case efi::kInvalidParameter: return "Invalid Parameter";
    case efi::kUnsupported: return "Unsupported";
    case efi::kBufferTooSmall: return "Buffer Too Small";
    case efi::kNotReady: return "Not Ready";
    case efi::kDeviceError: return "Device Error";
    case efi::kOutOfResources: return "Out of Resources";
    case efi::kNotFound: return "Not Found";
    case efi::kAccessDenied: return "Access Denied";
    case efi::kSecurityViolation: return "Security Violation";
    case efi::kAborted: return "Aborted";
  }
  return "error";
}

uint64_t now() {
  esp::uefi::Time t{};
  auto get_time = reinterpret_cast<esp::uefi::GetTimeFn>(rt->get_time);
  if (efi::is_error(get_time(&t, nullptr))) return 0;
  return esp::epoch_seconds(t.year, t.month, t.day, t.hour, t.minute, t.second);
}

[[noreturn]] void halt_with(const char* fmt, const char* what, efi::Status s) {
  con_printf("efitest runner: ");
  con_printf(fmt, what, status_str(s));
  con_printf("\nefitest runner: stopped; fix the ESP and reboot\n");
  bs->set_watchdog_timer(0, 0, 0, nullptr);
  for (;;) bs->stall(1000000);
}

// --- variables ---------------------------------------------------------------

bool load_progress(esp::Progress* p) {
  uint8_t buf[esp::kProgressSize];
  uint64_t size = sizeof(buf);
  uint32_t attrs = 0;
  return !efi::is_error(rt->get_variable(esp::kProgressVar, &esp::kVendorGuid, &attrs, &size,
                                         buf)) &&
         esp::decode(buf, size, p);
}

void save_progress(const esp::Progress& p) {
  uint8_t buf[esp::kProgressSize];
  esp::encode(p, buf);
  efi::Status s = rt->set_variable(esp::kProgressVar, &esp::kVendorGuid, esp::kNvAttrs,
                                   sizeof(buf), buf);
  // Without its progress the runner would start the same test on every
  // boot: stop instead of looping.
  if (efi::is_error(s)) halt_with("cannot save %s: %s", "EfitestProgress", s);
}

void forget(const char16_t* name) {
  rt->set_variable(name, &esp::kVendorGuid, 0, 0, nullptr);
}

bool take_verdict(const esp::Progress& p, esp::VerdictRecord* v) {
  uint8_t buf[esp::kVerdictSize];
  uint64_t size = sizeof(buf);
  uint32_t attrs = 0;
  bool ok = !efi::is_error(rt->get_variable(esp::kVerdictVar, &esp::kVendorGuid, &attrs, &size,
                                            buf)) &&
            esp::decode(buf, size, v) && v->index == p.next && v->launch_seq == p.launch_seq;
  forget(esp::kVerdictVar);
  return ok;
}

// --- results ------------------------------------------------------------------

void record(esp::Progress& p, const esp::TestResult& r) {
  char line[512];
  esp::TextBuf tb(line, sizeof(line));
  esp::journal_line(tb, p.next, r);
  if (efi::Status s = volume.append(kJournalPath, esp::Str(tb.data(), tb.size()));
      efi::is_error(s))
    halt_with("cannot append to %s: %s", kJournalPath, s);
  char name[96];
  esp::TextBuf nb(name, sizeof(name));
  nb.put(entries[p.next].name);
  nb.put(" (");
  nb.put(r.detail);
  nb.put(")");
  con_printf("efitest runner: %s %s\n", esp::outcome_str(r.outcome), name);
  p.state = esp::Progress::State::idle;
  ++p.next;
  save_progress(p);
}

void record_guest_verdict(esp::Progress& p, const esp::VerdictRecord& v, uint32_t secs) {
  esp::TestResult r;
  r.outcome = esp::outcome_of(v.verdict);
  r.tests = v.tests;
  r.failures = v.failures;
  r.xfailures = v.xfailures;
  r.skipped = v.skipped;
  r.seconds = secs;
  char detail[160];
  esp::TextBuf tb(detail, sizeof(detail));
  esp::describe_counts(tb, r);
  r.detail = esp::Str(tb.data(), tb.size());
  record(p, r);
}

void record_other(esp::Progress& p, esp::Outcome o, uint32_t secs, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
void record_other(esp::Progress& p, esp::Outcome o, uint32_t secs, const char* fmt, ...) {
  char detail[256];
  esp::TextBuf tb(detail, sizeof(detail));
  va_list ap;
  va_start(ap, fmt);
  tb.vprintf(fmt, ap);
  va_end(ap);
  esp::TestResult r;
  r.outcome = o;
  r.seconds = secs;
  r.detail = esp::Str(tb.data(), tb.size());
  record(p, r);
}

uint32_t seconds_since(uint64_t start) {
  uint64_t t = now();
  return start && t >= start ? static_cast<uint32_t>(t - start) : 0;
}

// The boot after a launch: what became of the test in flight.
void conclude(esp::Progress& p) {
  uint32_t secs = seconds_since(p.started);
  esp::VerdictRecord v;
  if (take_verdict(p, &v)) {
    record_guest_verdict(p, v, secs);
  } else if (secs + 1 >= p.timeout_s) {
    // Only a watchdog resets the machine this late: both are armed for
    // exactly the timeout. The RTC counts whole seconds, hence the +1.
    record_other(p, esp::Outcome::timeout, secs,
                 "no verdict within the %us timeout; the watchdog reset the machine",
                 p.timeout_s);
  } else {
    record_other(p, esp::Outcome::crash, secs,
                 "the machine reset after %us without a verdict (triple fault or reset)", secs);
  }
}

// --- launching ------------------------------------------------------------------

// The image's device path: the runner's own device, then a file-path node
// (UEFI 2.10 §10.3.5.4). Naming the file rather than passing a buffer lets
// the firmware apply its policy for the image's real origin (Secure Boot
// verification, §32.4).
efi::DevicePath* image_path(efi::Handle device, esp::Str file) {
  efi::DevicePath* dev = nullptr;
  if (efi::is_error(bs->handle_protocol(device, &esp::uefi::kDevicePathProtocolGuid,
                                        reinterpret_cast<void**>(&dev))) ||
      !dev)
    return nullptr;
  size_t dev_len = 0;
  for (auto* n = reinterpret_cast<uint8_t*>(dev);;) {
    auto* node = reinterpret_cast<efi::DevicePath*>(n);
    size_t len = node->length[0] | node->length[1] << 8;
    if (node->type == esp::uefi::kEndDevicePath || len < 4) break;
    dev_len += len;
    n += len;
  }
  size_t file_len = 4 + 2 * (file.n + 1);
  uint8_t* out = nullptr;
  if (file_len > 0xffff || efi::is_error(bs->allocate_pool(efi::MemoryType::loader_data,
                                                           dev_len + file_len + 4,
                                                           reinterpret_cast<void**>(&out))))
    return nullptr;
  for (size_t i = 0; i < dev_len; ++i) out[i] = reinterpret_cast<uint8_t*>(dev)[i];
  uint8_t* f = out + dev_len;
  f[0] = esp::uefi::kMediaDevicePath;
  f[1] = esp::uefi::kMediaFilePathDp;
  f[2] = file_len & 0xff;
  f[3] = static_cast<uint8_t>(file_len >> 8);
  esp::to_ucs2(file, reinterpret_cast<char16_t*>(f + 4), file.n + 1);
  uint8_t* end = f + file_len;
  end[0] = esp::uefi::kEndDevicePath;
  end[1] = esp::uefi::kEndEntireDevicePath;
  end[2] = 4;
  end[3] = 0;
  return reinterpret_cast<efi::DevicePath*>(out);
}

const char* refusal_reason(efi::Status s) {
  // UEFI 2.10 §7.4.1 LoadImage(): SECURITY_VIOLATION when the image was
  // loaded but failed authentication, ACCESS_DENIED when platform policy
  // forbids it. Under Secure Boot both mean "not signed by a key in db".
  if (s == efi::kSecurityViolation || s == efi::kAccessDenied)
    return " (refused by Secure Boot: not signed with a key in db, or in dbx)";
  return "";
}

void launch(esp::Progress& p, const esp::ManifestEntry& m, efi::Handle self,
            efi::Handle device) {
  efi::DevicePath* path = image_path(device, m.image);
  if (!path) {
    record_other(p, esp::Outcome::error, 0, "cannot build a device path for the image");
    return;
  }
  if (!esp::to_ucs2(m.cmdline, load_options, kMaxCmdline)) {
    record_other(p, esp::Outcome::error, 0, "command line longer than %zu characters",
                 kMaxCmdline - 1);
    return;
  }
  p.state = esp::Progress::State::in_flight;
  ++p.launch_seq;
  p.timeout_s = m.timeout_s;
  p.started = now();
  save_progress(p);

  efi::Handle child = nullptr;
  efi::Status s = bs->load_image(false, self, path, nullptr, 0, &child);
  if (efi::is_error(s)) {
    if (child) bs->unload_image(child);
    record_other(p, esp::Outcome::error, 0, "LoadImage: %s%s", status_str(s),
                 refusal_reason(s));
    return;
  }
  efi::LoadedImage* li = nullptr;
  if (efi::is_error(bs->handle_protocol(child, &efi::kLoadedImageProtocolGuid,
                                        reinterpret_cast<void**>(&li))) ||
      !li) {
    bs->unload_image(child);
    record_other(p, esp::Outcome::error, 0, "no LoadedImage protocol on the loaded image");
    return;
  }
  li->load_options = load_options;
  li->load_options_size = static_cast<uint32_t>(2 * (m.cmdline.n + 1));

  esp::Launch l{p.next, p.launch_seq};
  uint8_t lbuf[esp::kLaunchSize];
  esp::encode(l, lbuf);
  if (efi::Status vs = rt->set_variable(esp::kLaunchVar, &esp::kVendorGuid, esp::kVolatileAttrs,
                                        sizeof(lbuf), lbuf);
      efi::is_error(vs)) {
    bs->unload_image(child);
    record_other(p, esp::Outcome::error, 0, "cannot set EfitestLaunch: %s", status_str(vs));
    return;
  }

  // The UEFI watchdog covers the test until ExitBootServices disables it
  // (UEFI 2.10 §7.4.6); the TCO timer covers it after that.
  bs->set_watchdog_timer(m.timeout_s, kWatchdogCode, 0, nullptr);
  esp::tco::arm(tco_info, m.timeout_s);
  uint64_t exit_size = 0;
  char16_t* exit_data = nullptr;
  s = bs->start_image(child, &exit_size, &exit_data);
  esp::tco::disarm(tco_info);
  bs->set_watchdog_timer(0, 0, 0, nullptr);
  forget(esp::kLaunchVar);
  if (exit_data) bs->free_pool(exit_data);

  // Back here: the image returned instead of resetting.
  uint32_t secs = seconds_since(p.started);
  esp::VerdictRecord v;
  if (take_verdict(p, &v))
    record_guest_verdict(p, v, secs);
  else
    record_other(p, esp::Outcome::error, secs,
                 "the image returned to the runner (%s) without a verdict", status_str(s));
}

// --- the end of a run -----------------------------------------------------------

void write_report(const char* path, void (*fn)(esp::TextBuf&, const esp::RunInfo&),
                  const esp::RunInfo& run, char* buf, bool show) {
  esp::TextBuf tb(buf, kReportBytes);
  fn(tb, run);
  if (tb.overflowed()) con_printf("efitest runner: %s truncated at %zu bytes\n", path, tb.size());
  if (efi::Status s = volume.write(path, esp::Str(tb.data(), tb.size())); efi::is_error(s))
    con_printf("efitest runner: cannot write %s: %s\n", path, status_str(s));
  if (show) con_printf("%s", tb.data());
}

[[noreturn]] void finish(const esp::Progress& p, const esp::Manifest& man) {
  esp::TestResult* results = nullptr;
  char* journal = nullptr;
  char* buf = nullptr;
  size_t journal_size = 0;
  if (efi::is_error(bs->allocate_pool(efi::MemoryType::loader_data,
                                      sizeof(esp::TestResult) * (man.count + 1),
                                      reinterpret_cast<void**>(&results))) ||
      efi::is_error(bs->allocate_pool(efi::MemoryType::loader_data, kReportBytes,
                                      reinterpret_cast<void**>(&buf))))
    halt_with("%s: %s", "cannot allocate the report buffers", efi::kOutOfResources);
  for (uint32_t i = 0; i < man.count; ++i) results[i] = esp::TestResult{};
  if (efi::Status s = volume.read(kJournalPath, &journal, &journal_size);
      efi::is_error(s) && man.count)
    con_printf("efitest runner: cannot read %s: %s\n", kJournalPath, status_str(s));
  esp::parse_journal(esp::Str(journal, journal_size), results, man.count);

  char vendor[64];
  size_t n = 0;
  for (; st->firmware_vendor && st->firmware_vendor[n] && n + 1 < sizeof(vendor); ++n)
    vendor[n] = st->firmware_vendor[n] < 0x80 ? static_cast<char>(st->firmware_vendor[n]) : '?';
  vendor[n] = 0;
  esp::RunInfo run{&man, entries, results, p.run_started, seconds_since(p.run_started), vendor};
  write_report(kTapPath, esp::write_tap, run, buf, false);
  write_report(kJunitPath, esp::write_junit, run, buf, false);
  // The summary is what someone at the machine came for: give it a clean
  // screen (the serial console keeps the whole history).
  st->con_out->clear_screen(st->con_out);
  con_printf("\nefitest: results of this ESP run (also in summary.txt, results.tap, "
             "junit.xml on the ESP)\n");
  write_report(kSummaryPath, esp::write_summary, run, buf, true);
  forget(esp::kProgressVar);

  bs->set_watchdog_timer(0, 0, 0, nullptr);
  if (man.end == esp::EndAction::poweroff) {
    con_printf("efitest: powering off\n");
    rt->reset_system(efi::ResetType::shutdown, efi::kSuccess, 0, nullptr);
  }
  con_printf("efitest: done; the machine can be switched off\n");
  for (;;) bs->stall(1000000);
}

}  // namespace

extern "C" efi::Status efi_main(efi::Handle self, efi::SystemTable* system_table) {
  st = system_table;
  bs = st->boot_services;
  rt = st->runtime_services;
  efi::conout_init(st);

  efi::LoadedImage* li = nullptr;
  efi::Status s = bs->handle_protocol(self, &efi::kLoadedImageProtocolGuid,
                                      reinterpret_cast<void**>(&li));
  if (efi::is_error(s) || !li) halt_with("%s: %s", "no LoadedImage protocol", s);
  if (efi::Status vs = volume.open(bs, li->device_handle); efi::is_error(vs))
    halt_with("cannot open %s: %s", "the boot volume", vs);

  char* text = nullptr;
  size_t text_size = 0;
  if (efi::Status ms = volume.read(kManifestPath, &text, &text_size); efi::is_error(ms))
    halt_with("cannot read %s: %s", kManifestPath, ms);
  esp::ManifestEntry* parsed = nullptr;
  if (efi::is_error(bs->allocate_pool(efi::MemoryType::loader_data,
                                      sizeof(esp::ManifestEntry) * kMaxTests,
                                      reinterpret_cast<void**>(&parsed))))
    halt_with("%s: %s", "cannot allocate the manifest", efi::kOutOfResources);
  esp::Manifest man;
  esp::ManifestError err;
  if (!esp::parse_manifest(esp::Str(text, text_size), parsed, kMaxTests, &man, &err)) {
    con_printf("efitest runner: %s:%u: %s\n", kManifestPath, err.line, err.message);
    halt_with("%s: %s", "the manifest is broken", efi::kLoadError);
  }
  entries = parsed;

  tco_info = esp::tco::probe();
  esp::Progress p;
  if (!load_progress(&p) || p.manifest_hash != man.hash || p.next > man.count) {
    p = esp::Progress{};
    p.manifest_hash = man.hash;
    p.run_started = now();
    const char* stale[] = {kJournalPath, kTapPath, kJunitPath, kSummaryPath};
    for (const char* f : stale)
      if (efi::Status rs = volume.remove(f); efi::is_error(rs))
        halt_with("cannot remove %s: %s", f, rs);
    forget(esp::kVerdictVar);
    save_progress(p);
    con_printf("efitest runner: starting a run of %u tests; the machine will reboot once per "
               "test\n",
               man.count);
    if (tco_info.present)
      con_printf("efitest runner: watchdogs: UEFI and ICH TCO (LPC 8086:%04x, TCO at 0x%x)\n",
                 tco_info.device_id, tco_info.tco_base);
    else
      con_printf("efitest runner: watchdogs: UEFI only (no ICH9/ICH10 TCO): a test that hangs "
                 "after ExitBootServices stops the run\n");
  } else if (p.state == esp::Progress::State::in_flight) {
    conclude(p);
  }

  while (p.next < man.count) {
    const esp::ManifestEntry& m = entries[p.next];
    if (m.skip_reason.n) {
      esp::TestResult r;
      r.outcome = esp::Outcome::skip;
      r.detail = m.skip_reason;
      record(p, r);
      continue;
    }
    char name[96];
    esp::TextBuf nb(name, sizeof(name));
    nb.put(m.name);
    con_printf("efitest runner: [%u/%u] %s (timeout %us)\n", p.next + 1, man.count, name,
               m.timeout_s);
    launch(p, m, self, li->device_handle);
  }
  finish(p, man);
}
