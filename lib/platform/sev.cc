#include "platform/sev.h"

#include "cpu/addr.h"
#include "cpu/pagetable.h"
#include "cpu/regs.h"
#include "cpu/processor.h"
#include "platform/detect.h"
#include "platform/insn.h"
#include "rt/string.h"

namespace platform::sev {
namespace {

constinit ghcb::Page* page = nullptr;
constinit bool ready = false;
constinit bool active = false;
constinit bool backup_active = false;
constinit ghcb::Page backup = {};

uint64_t* identity(void*, PhysAddr pa) { return reinterpret_cast<uint64_t*>(pa.value); }
PhysAddr no_alloc(void*) { return PhysAddr(~0ull); }

// The live tables with this platform's masks; edits must hit existing 4 KiB
// leaves (no table allocation inside these services).
paging::PageTable live_table() {
  const BootInfo& bi = boot_info();
  paging::PageMemory pm{};
  pm.alloc_table = no_alloc;
  pm.table = identity;
  pm.enc_mask = private_mask(bi);
  const int levels = (cpu::read_cr4() & cpu::cr4::LA57) ? 5 : 4;
  return paging::PageTable(pm, PhysAddr((cpu::read_cr3() & paging::kCr3RootMask) & ~pm.enc_mask), levels);
}

bool set_shared_bit(uint64_t va, bool shared) {
  paging::PageTable pt = live_table();
  paging::Translation t;
  if (!pt.lookup(VirtAddr(va), &t) || t.page_size != kPageSize) return false;
  paging::Attr a = t.attr;
  a.shared = shared;
  if (pt.protect(VirtAddr(va), kPageSize, a) != paging::MapStatus::ok) return false;
  cpu::invlpg(reinterpret_cast<const volatile void*>(va));
  return true;
}

// PVALIDATE status codes (APM vol.3, PVALIDATE): 0 success.
constexpr uint32_t kPvalidateOk = 0;

}  // namespace

bool ghcb_ready() { return ready; }
ghcb::Page& ghcb_page() { return *page; }
uint64_t ghcb_gpa() { return reinterpret_cast<uint64_t>(page); }

void ghcb_exit() {
  platform::write_ghcb_msr(ghcb_gpa());
  platform::vmgexit();
}

uint64_t msr_protocol(uint64_t request) {
  const uint64_t saved = platform::read_ghcb_msr();
  const uint64_t reply = platform::ghcb_msr_call(request);
  platform::write_ghcb_msr(saved);
  return reply;
}

void terminate(uint8_t reason_set, uint8_t reason_code) {
  cpu::cli();
  for (;;) platform::ghcb_msr_call(ghcb::msr::termination_request(reason_set, reason_code));
}

bool sev_info(ghcb::msr::SevInfo* out) {
  const uint64_t flags = cpu::read_rflags();
  cpu::cli();
  const uint64_t reply = msr_protocol(ghcb::msr::sev_info_request());
  if (flags & rflags::kInterrupt) cpu::sti();
  return ghcb::msr::decode_sev_info(reply, out);
}

uint32_t page_state_change(uint64_t gpa, ghcb::msr::PageState state) {
  const uint64_t flags = cpu::read_rflags();
  cpu::cli();
  const uint64_t reply = msr_protocol(ghcb::msr::page_state_change_request(gpa >> 12, state));
  if (flags & rflags::kInterrupt) cpu::sti();
  uint32_t error;
  return ghcb::msr::decode_page_state_change_response(reply, &error) ? error : ~0u;
}

ConvertResult make_shared(uint64_t va) {
  const bool snp = boot_info().detected.platform == Platform::sev_snp;
  if (snp) {
    PvalidateResult r = platform::pvalidate(va, false, false);
    if (r.status != kPvalidateOk) return {ConvertResult::pvalidate, r.status};
    if (uint32_t e = page_state_change(va, ghcb::msr::PageState::shared))
      return {ConvertResult::psc, e};
  }
  if (!set_shared_bit(va, true)) return {ConvertResult::page_table, 0};
  return {};
}

ConvertResult make_private(uint64_t va) {
  const bool snp = boot_info().detected.platform == Platform::sev_snp;
  if (!set_shared_bit(va, false)) return {ConvertResult::page_table, 0};
  if (snp) {
    if (uint32_t e = page_state_change(va, ghcb::msr::PageState::private_))
      return {ConvertResult::psc, e};
    PvalidateResult r = platform::pvalidate(va, false, true);
    if (r.status != kPvalidateOk) return {ConvertResult::pvalidate, r.status};
  }
  return {};
}

bool ghcb_setup(const BootInfo& bi, uint8_t* reason) {
  *reason = ghcb::msr::kReasonGeneral;
  if (!has_ghcb(bi.detected.platform) || !bi.reserved.ghcb_page) return false;
  ghcb::msr::SevInfo info;
  if (!sev_info(&info) || info.min_version > ghcb::kProtocolVersion ||
      info.max_version < ghcb::kProtocolVersion) {
    *reason = ghcb::msr::kReasonProtocolUnsupported;
    return false;
  }
  if (make_shared(bi.reserved.ghcb_page).step != ConvertResult::ok) return false;
  page = reinterpret_cast<ghcb::Page*>(bi.reserved.ghcb_page);
  memset(page, 0, sizeof(*page));
  if (bi.detected.platform == Platform::sev_snp) {
    const uint64_t gfn = bi.reserved.ghcb_page >> 12;
    if (!ghcb::msr::decode_register_gpa_response(
            platform::ghcb_msr_call(ghcb::msr::register_gpa_request(gfn)), gfn))
      return false;
  }
  platform::write_ghcb_msr(ghcb_gpa());
  ready = true;
  return true;
}

int ghcb_acquire(uint64_t* flags) {
  *flags = cpu::read_rflags();
  cpu::cli();
  if (!ready) return 0;
  if (!active) {
    active = true;
    return 1;
  }
  if (backup_active) return 0;
  memcpy(&backup, page, sizeof(backup));
  backup_active = true;
  return 2;
}

void ghcb_release(int level, uint64_t flags) {
  if (level == 2) {
    memcpy(page, &backup, sizeof(backup));
    backup_active = false;
  } else if (level == 1) {
    active = false;
  }
  if (flags & rflags::kInterrupt) cpu::sti();
}

}  // namespace platform::sev
