/*
 * AP start-up trampoline; the layout and contract are in trampoline.h.
 *
 * The blob lives in .rodata: it is never executed where it is linked, only
 * from the copy in the trampoline page, so it must not contain anything
 * that needs a relocation. Every address it uses comes from the parameter
 * block (filled by the BSP for the page it copied the blob to) or from
 * %ebx, the page's physical base computed from CS.
 */
#include "smp/trampoline.h"

#define CR0_PE 0x00000001
#define CR0_NW 0x20000000
#define CR0_CD 0x40000000
#define CR0_PG 0x80000000
#define MSR_EFER 0xc0000080
#define PARAMS (ap_trampoline_params - ap_trampoline_start)

	.section .rodata, "a"
	.balign 16
	.globl ap_trampoline_start, ap_trampoline_pm, ap_trampoline_lm
	.globl ap_trampoline_gdt, ap_trampoline_gdt_end, ap_trampoline_params, ap_trampoline_end
	.hidden ap_trampoline_start, ap_trampoline_pm, ap_trampoline_lm
	.hidden ap_trampoline_gdt, ap_trampoline_gdt_end, ap_trampoline_params, ap_trampoline_end

	.code16
/* SIPI: real mode, CS = page >> 4, IP = 0 (SDM vol.3 §9.4.4.1). */
ap_trampoline_start:
	cli
	cld
	mov	%cs, %ax
	mov	%ax, %ds
	xor	%ebx, %ebx
	mov	%ax, %bx
	shl	$4, %ebx
	lgdtl	PARAMS + TR_GDT_LIMIT
	/* INIT leaves caching disabled (CR0.CD/NW set, SDM vol.3 Table 10-1). */
	mov	%cr0, %eax
	and	$~(CR0_CD | CR0_NW), %eax
	or	$CR0_PE, %eax
	mov	%eax, %cr0
	ljmpl	*PARAMS + TR_PM_OFFSET

	.code32
ap_trampoline_pm:
	mov	$TR_SEL_DATA32, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	lea	PARAMS(%ebx), %esi
	/* IA-32e activation order: PAE, CR3, EFER.LME, then CR0.PG (SDM vol.3
	   §10.8.5). */
	mov	TR_CR4(%esi), %eax
	mov	%eax, %cr4
	mov	TR_CR3(%esi), %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	mov	TR_EFER(%esi), %eax
	xor	%edx, %edx
	wrmsr
	mov	%cr0, %eax
	or	$(CR0_PG | CR0_PE), %eax
	mov	%eax, %cr0
	/* Compatibility mode now; the far jump enters 64-bit mode. */
	ljmp	*TR_LM_OFFSET(%esi)

	.code64
ap_trampoline_lm:
	mov	%esi, %esi
	mov	TR_STACK(%rsi), %rsp
	mov	TR_ARG(%rsi), %rdi
	mov	TR_ENTRY(%rsi), %rax
	xor	%ebp, %ebp
	push	$0		/* fake return address: backtraces stop here */
	jmp	*%rax

	.balign 8
ap_trampoline_gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* TR_SEL_CODE32: 32-bit code, 4 GiB */
	.quad	0x00cf92000000ffff	/* TR_SEL_DATA32: data, 4 GiB */
	.quad	0x00af9a000000ffff	/* TR_SEL_CODE64: 64-bit code (L=1) */
ap_trampoline_gdt_end:

	.balign 8
ap_trampoline_params:
	.fill	TR_PARAMS_SIZE, 1, 0
ap_trampoline_end:

	.section .note.GNU-stack, "", @progbits
