// The mode-switch trampoline's C++ side; the contract is in modeswitch.h.
#include "cpu/modeswitch.h"

#include "cpu/desc.h"
#include "cpu/fatal.h"
#include "cpu/processor.h"
#include "cpu/regs.h"
#include "boot/bootinfo.h"
#include "mem/paging.h"
#include "platform/detect.h"
#include "rt/string.h"
#include "smp/smp.h"

extern "C" const char ms_blob_start[], ms_blob_end[], ms_rm_exit[], ms_rm_stubs[],
    ms_pm32_down[], ms_pm32_from_rm[], ms_lm64_up[], ms_rm_down[];
extern "C" void modeswitch_enter(uint64_t blob);
extern "C" char modeswitch_resume[];

namespace modeswitch {
namespace {

constinit bool prepared = false;

uint64_t base() { return boot_info().reserved.low_pages; }
Params* params() { return reinterpret_cast<Params*>(base() + MS_PARAMS); }
uint16_t blob_offset(const char* sym) { return uint16_t(sym - ms_blob_start); }

uint16_t read_seg_cs() { uint16_t v; asm volatile("mov %%cs, %0" : "=r"(v)); return v; }
uint16_t read_seg_ss() { uint16_t v; asm volatile("mov %%ss, %0" : "=r"(v)); return v; }
uint16_t read_seg_ds() { uint16_t v; asm volatile("mov %%ds, %0" : "=r"(v)); return v; }
uint16_t read_seg_es() { uint16_t v; asm volatile("mov %%es, %0" : "=r"(v)); return v; }
uint16_t read_seg_fs() { uint16_t v; asm volatile("mov %%fs, %0" : "=r"(v)); return v; }
uint16_t read_seg_gs() { uint16_t v; asm volatile("mov %%gs, %0" : "=r"(v)); return v; }

// The blob is copied once; its first 64-bit and compatibility-mode
// instructions run through the page tables, which map the low pages as
// data (NX) like all loader memory, so they become RWX.
}  // namespace

void init() {
  if (prepared) return;
  if (const char* why = unavailable()) cpu::fatal("modeswitch: %s", why);
  const uint64_t b = base();
  const size_t blob = size_t(ms_blob_end - ms_blob_start);
  if (blob > MS_BLOB_MAX) cpu::fatal("modeswitch: the blob is %zu bytes, room for %u", blob,
                                     unsigned(MS_BLOB_MAX));
  const paging::Attr rwx{.write = true, .nx = false};
  if (paging::protect(VirtAddr(b), kLowPages * kPageSize, rwx) != paging::MapStatus::ok)
    cpu::fatal("modeswitch: cannot make the low pages 0x%lx executable", b);
  memcpy(reinterpret_cast<void*>(b), ms_blob_start, blob);
  Params* p = params();
  memset(p, 0, sizeof(*p));
  uint64_t gdt[8] = {};
  fill_gdt(gdt, uint32_t(b));
  memcpy(p->gdt, gdt, sizeof(gdt));
  p->gdtr = {uint16_t(MS_GDT_ENTRIES * 8 - 1), b + MS_PARAMS + MS_P_GDT};
  p->null_idtr = {0, 0};
  p->rm_idtr = {0x3ff, b + MS_IVT};
  p->pm32_down = uint32_t(b + blob_offset(ms_pm32_down));
  p->pm32_up = {uint32_t(b + blob_offset(ms_pm32_from_rm)), MS_SEL_CODE32, 0};
  p->lm64 = {uint32_t(b + blob_offset(ms_lm64_up)), MS_SEL_CODE64, 0};
  p->rm_down = {blob_offset(ms_rm_down), blob_segment()};
  p->resume = reinterpret_cast<uint64_t>(modeswitch_resume);
  prepared = true;
}

namespace {

// Fills what the way back restores, runs the trampoline, restores IF.
void enter(uint32_t mode, uint64_t cr3_final, uint64_t cr4_final) {
  if (const char* why = unavailable()) cpu::fatal("modeswitch: %s", why);
  if (smp::smp_id() != 0) cpu::fatal("modeswitch: only the BSP may leave long mode");
  init();
  Params* p = params();
  const uint64_t flags = cpu::read_rflags();
  cpu::cli();
  desc::DescriptorPointer g, i;
  asm volatile("sgdt %0" : "=m"(g));
  asm volatile("sidt %0" : "=m"(i));
  p->saved_gdtr = {g.limit, g.base};
  p->saved_idtr = {i.limit, i.base};
  uint16_t tr, ldtr;
  asm volatile("str %0" : "=r"(tr));
  asm volatile("sldt %0" : "=r"(ldtr));
  p->saved_tr = tr;
  p->saved_ldtr = ldtr;
  p->saved_cs = read_seg_cs();
  p->saved_ss = read_seg_ss();
  p->saved_ds = read_seg_ds();
  p->saved_es = read_seg_es();
  p->saved_fs = read_seg_fs();
  p->saved_gs = read_seg_gs();
  p->mode = mode;
  const uint64_t cr0 = cpu::read_cr0();
  const uint64_t efer = cpu::rdmsr(cpu::kMsrEfer);
  p->cr0 = cr0;
  // Entering with the final root when it is below 4 GiB; else any root
  // below 4 GiB that maps the low pages and the image: a copy of the top
  // level of the final one (the lower levels are shared).
  p->cr3_final = cr3_final;
  const uint64_t root = cr3_final & paging::kCr3RootMask;
  if (root < (1ull << 32)) {
    p->cr3_boot = root;
  } else {
    cpu::fatal("modeswitch: the page-table root 0x%lx is above 4 GiB", root);
  }
  p->cr4_boot = cpu::cr4::PAE | (cr4_final & cpu::cr4::LA57);
  p->cr4_final = cr4_final;
  p->efer_boot = efer & ~cpu::efer::LMA;
  p->efer_final = efer & ~cpu::efer::LMA;
  p->gs_base = cpu::rdmsr(cpu::kMsrGsBase);
  p->fs_base = cpu::rdmsr(cpu::kMsrFsBase);
  modeswitch_enter(base());
  cpu::write_rflags(flags);
}

}  // namespace

const char* unavailable() {
  const BootInfo& bi = boot_info();
  if (!bi.reserved.low_pages || bi.reserved.low_page_count < kLowPages)
    return "no pages below 1 MiB were reserved at boot";
  if (bi.reserved.low_pages + kLowPages * kPageSize > (1ull << 20) || (bi.reserved.low_pages & (kPageSize - 1)))
    return "the low pages are misplaced";
  if (platform::is_confidential(bi.detected.platform))
    return "a confidential guest cannot leave long mode here";
  return nullptr;
}

uint16_t blob_segment() { return uint16_t(base() >> 4); }
uint16_t snippet_segment() { return uint16_t((base() + MS_SNIPPET) >> 4); }
uint8_t* snippet_area() { return reinterpret_cast<uint8_t*>(base() + MS_SNIPPET); }
uint32_t* ivt() { return reinterpret_cast<uint32_t*>(base() + MS_IVT); }

RealResult run_real(const RealRun& run) {
  if (const char* why = unavailable()) cpu::fatal("modeswitch: %s", why);
  if (run.size + kExitJumpSize > MS_SNIPPET_SIZE || run.handler_count > 4)
    cpu::fatal("modeswitch: snippet of %zu bytes does not fit", run.size);
  init();
  uint8_t* area = snippet_area();
  memcpy(area, run.code, run.size);
  encode_exit_jump(area + run.size, FarPtr16{blob_offset(ms_rm_exit), blob_segment()});
  uint32_t* t = ivt();
  for (unsigned v = 0; v < 256; ++v)
    t[v] = ivt_entry(FarPtr16{uint16_t(blob_offset(ms_rm_stubs) + 16 * v), blob_segment()});
  for (unsigned h = 0; h < run.handler_count; ++h)
    t[run.handlers[h].vector] = ivt_entry(FarPtr16{run.handlers[h].offset, snippet_segment()});
  Params* p = params();
  p->in = run.in;
  p->in.eflags &= ~uint32_t(rflags::kInterrupt | rflags::kTrap | 0xffc00000u);
  p->in.eflags |= rflags::kFixed1;
  p->snippet = FarPtr16{0, snippet_segment()};
  p->vector = MS_NO_VECTOR;
  enter(MS_MODE_REAL, cpu::read_cr3(), cpu::read_cr4());
  RealResult r{};
  r.out = p->out;
  r.vectored = p->vector != MS_NO_VECTOR;
  r.vector = uint8_t(p->vector);
  r.fault_ip = p->fault_ip;
  r.fault_cs = p->fault_cs;
  r.fault_flags = p->fault_flags;
  return r;
}

void change_paging(uint64_t root, bool la57) {
  uint64_t cr4 = cpu::read_cr4();
  cr4 = la57 ? cr4 | cpu::cr4::LA57 : cr4 & ~cpu::cr4::LA57;
  enter(MS_MODE_PAGING, root, cr4);
}

}  // namespace modeswitch
