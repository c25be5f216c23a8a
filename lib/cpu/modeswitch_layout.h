/*
 * The mode-switch trampoline's low memory, parameter block and real-mode
 * helpers: the part of lib/cpu/modeswitch that is shared with assembly and
 * tested on the host. The guest API and the contract are in
 * cpu/modeswitch.h.
 *
 * Low memory (BootInfo::low_pages, kLowPages pages below 1 MiB; offsets
 * from its base, which is 4 KiB aligned):
 *
 *   0x00000  the blob (lib/cpu/modeswitch_tramp.S), copied here: code for every
 *            leg and 256 real-mode vector stubs of 16 bytes each
 *   0x01800  the parameter block (MS_P_*), with the trampoline's own GDT
 *   0x02000  the real-mode IVT the snippets run with (256 x seg:offset)
 *   0x02400  the trampoline's stack, up to 0x03000
 *   0x03000  the snippet segment: 64 KiB, so that every 16-bit offset a
 *            snippet can form from its segment stays inside our pages
 *
 * Plain defines for the assembly; the C++ view has static_asserts.
 */
#ifndef CPU_MODESWITCH_LAYOUT_H
#define CPU_MODESWITCH_LAYOUT_H

#define MS_LOW_PAGES 19
#define MS_BLOB_MAX 0x1800
#define MS_PARAMS 0x1800
#define MS_IVT 0x2000
#define MS_STACK_TOP 0x3000
#define MS_SNIPPET 0x3000
#define MS_SNIPPET_SIZE 0x10000

/* Selectors of the trampoline's GDT. 0x08 and 0x10 match our own GDT's
 * kernel code and data (cpu/desc.h), so an NMI taken in a 64-bit or
 * compatibility-mode leg still finds a 64-bit code segment at the IDT
 * gate's selector. */
#define MS_SEL_CODE64 0x08
#define MS_SEL_DATA 0x10
#define MS_SEL_CODE32 0x18
#define MS_SEL_CODE16 0x20
#define MS_SEL_DATA16 0x28
#define MS_GDT_ENTRIES 6

/* What the trampoline does while paging is off. */
#define MS_MODE_PAGING 0 /* nothing more: back up with CR3_BOOT/CR4_BOOT */
#define MS_MODE_REAL 1   /* 16-bit protected mode, real mode, the snippet */

#define MS_NO_VECTOR 0xffff

/* Parameter block offsets. */
#define MS_P_GDT 0x00          /* u64[8]: the trampoline's GDT */
#define MS_P_GDTR 0x40         /* u16 limit, u64 base: LGDT operand */
#define MS_P_NULL_IDTR 0x4a    /* u16 limit 0, u64 base 0 */
#define MS_P_RM_IDTR 0x54      /* u16 0x3ff, u64 base of the IVT */
#define MS_P_SAVED_GDTR 0x5e   /* ours, put back at the end */
#define MS_P_SAVED_IDTR 0x68
#define MS_P_SAVED_TR 0x72     /* u16 selectors */
#define MS_P_SAVED_LDTR 0x74
#define MS_P_SAVED_CS 0x76
#define MS_P_SAVED_SS 0x78
#define MS_P_SAVED_DS 0x7a
#define MS_P_SAVED_ES 0x7c
#define MS_P_SAVED_FS 0x7e
#define MS_P_SAVED_GS 0x80
#define MS_P_MODE 0x84         /* u32: MS_MODE_* */
#define MS_P_SAVED_RSP 0x88    /* u64 */
#define MS_P_CR0 0x90          /* u64: CR0 to enable paging with */
#define MS_P_CR3_BOOT 0x98     /* u64: root below 4 GiB, loaded in 32-bit mode */
#define MS_P_CR4_BOOT 0xa0     /* u64: PAE (and LA57), loaded in 32-bit mode */
#define MS_P_EFER_BOOT 0xa8    /* u64: LME (and NXE, SCE) */
#define MS_P_CR3_FINAL 0xb0    /* u64: loaded in 64-bit mode */
#define MS_P_CR4_FINAL 0xb8
#define MS_P_EFER_FINAL 0xc0
#define MS_P_GS_BASE 0xc8
#define MS_P_FS_BASE 0xd0
#define MS_P_RESUME 0xd8       /* u64: image address of modeswitch_resume */
#define MS_P_PM32_DOWN 0xe0    /* u32 linear address of the compat-mode entry */
#define MS_P_PM32_UP_PTR 0xe8  /* m16:32: real mode -> 32-bit protected mode */
#define MS_P_LM64_PTR 0xf0     /* m16:32: compatibility -> 64-bit mode */
#define MS_P_RM_DOWN_PTR 0xf8  /* m16:16: 16-bit protected -> real mode */
#define MS_P_SNIPPET_PTR 0xfc  /* m16:16: the snippet's CS:IP */
#define MS_P_IN 0x100          /* RealRegs the snippet starts with */
#define MS_P_OUT 0x130         /* RealRegs it left */
#define MS_P_VECTOR 0x160      /* u16: the vector that ended it, or MS_NO_VECTOR */
#define MS_P_FAULT_IP 0x162    /* u16: the IRET frame that vector pushed */
#define MS_P_FAULT_CS 0x164
#define MS_P_FAULT_FLAGS 0x166
#define MS_P_SIZE 0x168

/* RealRegs offsets. */
#define MS_R_EAX 0x00
#define MS_R_EBX 0x04
#define MS_R_ECX 0x08
#define MS_R_EDX 0x0c
#define MS_R_ESI 0x10
#define MS_R_EDI 0x14
#define MS_R_EBP 0x18
#define MS_R_ESP 0x1c
#define MS_R_EFLAGS 0x20
#define MS_R_DS 0x24
#define MS_R_ES 0x26
#define MS_R_FS 0x28
#define MS_R_GS 0x2a
#define MS_R_SS 0x2c
#define MS_R_CS 0x2e
#define MS_R_SIZE 0x30

#ifndef __ASSEMBLY__
#include <cstddef>
#include <cstdint>

namespace modeswitch {

constexpr unsigned kLowPages = MS_LOW_PAGES;

// A real-mode address, segment:offset; the linear address is segment * 16
// + offset (Intel SDM vol.3 "Address Translation in Real-Address Mode",
// AMD APM vol.2 §1.2.4 "Real Addressing"). Both halves are 16 bits, so
// linear addresses reach 0x10ffef (the A20 question is left to the board).
struct FarPtr16 {
  uint16_t offset;
  uint16_t segment;
  constexpr bool operator==(const FarPtr16&) const = default;
};
static_assert(sizeof(FarPtr16) == 4);

constexpr uint32_t linear(FarPtr16 p) { return uint32_t(p.segment) * 16 + p.offset; }
// The far pointer with the largest segment that reaches `lin` (offset
// 0..15); false when lin is beyond real mode's reach.
constexpr bool to_far(uint32_t lin, FarPtr16* out) {
  if (lin > 0x10ffefu) return false;
  uint32_t seg = lin >> 4;
  if (seg > 0xffff) seg = 0xffff;
  *out = FarPtr16{uint16_t(lin - seg * 16), uint16_t(seg)};
  return true;
}
// An IVT entry: the offset in the low word, the segment in the high word
// (SDM vol.3 "Interrupt and Exception Handling in Real-Address Mode").
constexpr uint32_t ivt_entry(FarPtr16 p) { return uint32_t(p.segment) << 16 | p.offset; }
constexpr FarPtr16 from_ivt_entry(uint32_t e) { return FarPtr16{uint16_t(e), uint16_t(e >> 16)}; }

// A code or data segment descriptor (SDM vol.3 §3.4.5 "Segment
// Descriptors"): `access` is byte 5 (P, DPL, S, type), `flags` the high
// nibble of byte 6 (G, D/B, L, AVL).
constexpr uint64_t segment_descriptor(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  return uint64_t(limit & 0xffff) | uint64_t(base & 0xffffff) << 16 | uint64_t(access) << 40 |
         uint64_t((limit >> 16) & 0xf) << 48 | uint64_t(flags & 0xf) << 52 |
         uint64_t(base >> 24) << 56;
}
constexpr uint32_t descriptor_base(uint64_t d) {
  return uint32_t((d >> 16) & 0xffffff) | uint32_t(d >> 56) << 24;
}
constexpr uint32_t descriptor_limit(uint64_t d) {
  return uint32_t(d & 0xffff) | uint32_t((d >> 48) & 0xf) << 16;
}
namespace seg {
constexpr uint8_t kCode = 0x9a;  // present, DPL0, code, execute/read
constexpr uint8_t kData = 0x92;  // present, DPL0, data, read/write
constexpr uint8_t kG = 0x8;      // 4 KiB granularity
constexpr uint8_t kDB = 0x4;     // 32-bit default operand size / big stack
constexpr uint8_t kL = 0x2;      // 64-bit code
}  // namespace seg

// The trampoline's GDT for a blob at `blob` (below 1 MiB): flat 64-bit and
// 32-bit code, flat data, and 16-bit code and data based at the blob with
// the 64 KiB limit real mode needs (SDM vol.3 §10.9.2 "Switching Back to
// Real-Address Mode", steps 3 and 4).
inline void fill_gdt(uint64_t* gdt, uint32_t blob) {
  gdt[0] = 0;
  gdt[MS_SEL_CODE64 / 8] = segment_descriptor(0, 0xfffff, seg::kCode, seg::kG | seg::kL);
  gdt[MS_SEL_DATA / 8] = segment_descriptor(0, 0xfffff, seg::kData, seg::kG | seg::kDB);
  gdt[MS_SEL_CODE32 / 8] = segment_descriptor(0, 0xfffff, seg::kCode, seg::kG | seg::kDB);
  gdt[MS_SEL_CODE16 / 8] = segment_descriptor(blob, 0xffff, seg::kCode, 0);
  gdt[MS_SEL_DATA16 / 8] = segment_descriptor(blob, 0xffff, seg::kData, 0);
}

// The registers a real-mode snippet starts with and leaves. CS is an
// output only (the snippet's entry CS:IP is set by the runner).
struct RealRegs {
  uint32_t eax, ebx, ecx, edx, esi, edi, ebp, esp, eflags;
  uint16_t ds, es, fs, gs, ss, cs;
};
static_assert(offsetof(RealRegs, eax) == MS_R_EAX);
static_assert(offsetof(RealRegs, ebx) == MS_R_EBX);
static_assert(offsetof(RealRegs, ecx) == MS_R_ECX);
static_assert(offsetof(RealRegs, edx) == MS_R_EDX);
static_assert(offsetof(RealRegs, esi) == MS_R_ESI);
static_assert(offsetof(RealRegs, edi) == MS_R_EDI);
static_assert(offsetof(RealRegs, ebp) == MS_R_EBP);
static_assert(offsetof(RealRegs, esp) == MS_R_ESP);
static_assert(offsetof(RealRegs, eflags) == MS_R_EFLAGS);
static_assert(offsetof(RealRegs, ds) == MS_R_DS);
static_assert(offsetof(RealRegs, es) == MS_R_ES);
static_assert(offsetof(RealRegs, fs) == MS_R_FS);
static_assert(offsetof(RealRegs, gs) == MS_R_GS);
static_assert(offsetof(RealRegs, ss) == MS_R_SS);
static_assert(offsetof(RealRegs, cs) == MS_R_CS);
static_assert(sizeof(RealRegs) == MS_R_SIZE);

struct [[gnu::packed]] PseudoDescriptor {
  uint16_t limit;
  uint64_t base;
};
struct [[gnu::packed]] FarPtr32 {
  uint32_t offset;
  uint16_t selector;
  uint16_t pad;
};

struct [[gnu::packed]] Params {
  uint64_t gdt[8];
  PseudoDescriptor gdtr, null_idtr, rm_idtr, saved_gdtr, saved_idtr;
  uint16_t saved_tr, saved_ldtr, saved_cs, saved_ss, saved_ds, saved_es, saved_fs, saved_gs;
  uint16_t pad0;
  uint32_t mode;
  uint64_t saved_rsp;
  uint64_t cr0, cr3_boot, cr4_boot, efer_boot, cr3_final, cr4_final, efer_final;
  uint64_t gs_base, fs_base, resume;
  uint32_t pm32_down;
  uint32_t pad1;
  FarPtr32 pm32_up, lm64;
  FarPtr16 rm_down, snippet;
  RealRegs in, out;
  uint16_t vector, fault_ip, fault_cs, fault_flags;
};
static_assert(offsetof(Params, gdtr) == MS_P_GDTR);
static_assert(offsetof(Params, null_idtr) == MS_P_NULL_IDTR);
static_assert(offsetof(Params, rm_idtr) == MS_P_RM_IDTR);
static_assert(offsetof(Params, saved_gdtr) == MS_P_SAVED_GDTR);
static_assert(offsetof(Params, saved_idtr) == MS_P_SAVED_IDTR);
static_assert(offsetof(Params, saved_tr) == MS_P_SAVED_TR);
static_assert(offsetof(Params, saved_ldtr) == MS_P_SAVED_LDTR);
static_assert(offsetof(Params, saved_cs) == MS_P_SAVED_CS);
static_assert(offsetof(Params, saved_ss) == MS_P_SAVED_SS);
static_assert(offsetof(Params, saved_ds) == MS_P_SAVED_DS);
static_assert(offsetof(Params, saved_es) == MS_P_SAVED_ES);
static_assert(offsetof(Params, saved_fs) == MS_P_SAVED_FS);
static_assert(offsetof(Params, saved_gs) == MS_P_SAVED_GS);
static_assert(offsetof(Params, mode) == MS_P_MODE);
static_assert(offsetof(Params, saved_rsp) == MS_P_SAVED_RSP);
static_assert(offsetof(Params, cr0) == MS_P_CR0);
static_assert(offsetof(Params, cr3_boot) == MS_P_CR3_BOOT);
static_assert(offsetof(Params, cr4_boot) == MS_P_CR4_BOOT);
static_assert(offsetof(Params, efer_boot) == MS_P_EFER_BOOT);
static_assert(offsetof(Params, cr3_final) == MS_P_CR3_FINAL);
static_assert(offsetof(Params, cr4_final) == MS_P_CR4_FINAL);
static_assert(offsetof(Params, efer_final) == MS_P_EFER_FINAL);
static_assert(offsetof(Params, gs_base) == MS_P_GS_BASE);
static_assert(offsetof(Params, fs_base) == MS_P_FS_BASE);
static_assert(offsetof(Params, resume) == MS_P_RESUME);
static_assert(offsetof(Params, pm32_down) == MS_P_PM32_DOWN);
static_assert(offsetof(Params, pm32_up) == MS_P_PM32_UP_PTR);
static_assert(offsetof(Params, lm64) == MS_P_LM64_PTR);
static_assert(offsetof(Params, rm_down) == MS_P_RM_DOWN_PTR);
static_assert(offsetof(Params, snippet) == MS_P_SNIPPET_PTR);
static_assert(offsetof(Params, in) == MS_P_IN);
static_assert(offsetof(Params, out) == MS_P_OUT);
static_assert(offsetof(Params, vector) == MS_P_VECTOR);
static_assert(offsetof(Params, fault_ip) == MS_P_FAULT_IP);
static_assert(offsetof(Params, fault_cs) == MS_P_FAULT_CS);
static_assert(offsetof(Params, fault_flags) == MS_P_FAULT_FLAGS);
static_assert(sizeof(Params) == MS_P_SIZE);
static_assert(MS_PARAMS + MS_P_SIZE <= MS_IVT);
static_assert(MS_IVT + 0x400 <= MS_STACK_TOP - 0x400);
static_assert(MS_SNIPPET + MS_SNIPPET_SIZE == MS_LOW_PAGES * 4096);
static_assert(MS_GDT_ENTRIES * 8 <= sizeof(Params::gdt));

// The far jump a snippet ends with, appended by the runner: JMP ptr16:16
// (opcode EA, offset then segment, SDM vol.2A "JMP").
constexpr size_t kExitJumpSize = 5;
inline void encode_exit_jump(uint8_t* at, FarPtr16 to) {
  at[0] = 0xea;
  at[1] = uint8_t(to.offset);
  at[2] = uint8_t(to.offset >> 8);
  at[3] = uint8_t(to.segment);
  at[4] = uint8_t(to.segment >> 8);
}

}  // namespace modeswitch
#endif

#endif
