/*
 * The AP start-up trampoline (lib/smp/trampoline.S): a position-independent
 * blob copied to BootInfo::trampoline_page, entered by a SIPI in real mode
 * at CS = page >> 4, IP = 0. It switches to protected mode, then to long
 * mode with the BSP's page tables, and jumps to ap_entry(arg) on the given
 * stack (Intel SDM vol.3 §9.9 "Mode switching", §10.8.5 "Initializing
 * IA-32e mode").
 *
 * The parameter block sits at TR_PARAMS from the start of the blob; the BSP
 * fills it before each SIPI. Shared with assembly, hence plain defines.
 */
#ifndef SMP_TRAMPOLINE_H
#define SMP_TRAMPOLINE_H

#define TR_GDT_LIMIT 0   /* u16: lgdt operand, limit */
#define TR_GDT_BASE 2    /* u32: lgdt operand, absolute base */
#define TR_PM_OFFSET 6   /* u32: far pointer to the 32-bit code */
#define TR_PM_SEL 10     /* u16 */
#define TR_LM_OFFSET 12  /* u32: far pointer to the 64-bit code */
#define TR_LM_SEL 16     /* u16 */
#define TR_CR3 20        /* u32: page-table root below 4 GiB */
#define TR_CR4 24        /* u32: PAE, and LA57 with 5-level paging */
#define TR_EFER 28       /* u32: LME, and NXE when the BSP uses NX */
#define TR_STACK 32      /* u64 */
#define TR_ARG 40        /* u64: ap_entry's argument */
#define TR_ENTRY 48      /* u64: ap_entry */
#define TR_PARAMS_SIZE 56

#define TR_SEL_CODE32 0x08
#define TR_SEL_DATA32 0x10
#define TR_SEL_CODE64 0x18

#ifndef __ASSEMBLY__
#include <cstddef>
#include <cstdint>

namespace smp {

struct [[gnu::packed]] TrampolineParams {
  uint16_t gdt_limit;
  uint32_t gdt_base;
  uint32_t pm_offset;
  uint16_t pm_sel;
  uint32_t lm_offset;
  uint16_t lm_sel;
  uint16_t reserved;
  uint32_t cr3;
  uint32_t cr4;
  uint32_t efer;
  uint64_t stack;
  uint64_t arg;
  uint64_t entry;
};
static_assert(offsetof(TrampolineParams, gdt_base) == TR_GDT_BASE);
static_assert(offsetof(TrampolineParams, pm_offset) == TR_PM_OFFSET);
static_assert(offsetof(TrampolineParams, pm_sel) == TR_PM_SEL);
static_assert(offsetof(TrampolineParams, lm_offset) == TR_LM_OFFSET);
static_assert(offsetof(TrampolineParams, lm_sel) == TR_LM_SEL);
static_assert(offsetof(TrampolineParams, cr3) == TR_CR3);
static_assert(offsetof(TrampolineParams, cr4) == TR_CR4);
static_assert(offsetof(TrampolineParams, efer) == TR_EFER);
static_assert(offsetof(TrampolineParams, stack) == TR_STACK);
static_assert(offsetof(TrampolineParams, arg) == TR_ARG);
static_assert(offsetof(TrampolineParams, entry) == TR_ENTRY);
static_assert(sizeof(TrampolineParams) == TR_PARAMS_SIZE);

}  // namespace smp

extern "C" const char ap_trampoline_start[], ap_trampoline_pm[], ap_trampoline_lm[],
    ap_trampoline_gdt[], ap_trampoline_gdt_end[], ap_trampoline_params[], ap_trampoline_end[];
#endif

#endif
