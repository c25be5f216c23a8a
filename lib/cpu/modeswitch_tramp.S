/*
 * The mode-switch trampoline; the contract is in cpu/modeswitch.h, the low
 * memory layout and the parameter block in cpu/modeswitch_layout.h.
 *
 * Two pieces:
 *  - modeswitch_enter and modeswitch_resume run in the image (.text), in
 *    64-bit mode with our own GDT;
 *  - the blob (ms_blob_start..ms_blob_end, in .rodata) is never executed
 *    where it is linked: modeswitch.cc copies it to the base of the low
 *    pages and runs it there. It holds no relocation; every address comes
 *    from %ebx/%rbx (the blob's physical base) or from CS in the 16-bit
 *    legs, where CS, DS and SS are based at the blob.
 *
 * The way down (Intel SDM vol.3 §10.8.5.4 "Switching Out of IA-32e Mode
 * Operation", AMD APM vol.2 §14.7 "Leaving Long Mode"): compatibility mode
 * through a 32-bit code segment, CR0.PG cleared (EFER.LMA follows), then
 * EFER.LME cleared: 32-bit protected mode without paging. For real mode,
 * then (SDM vol.3 §10.9.2 "Switching Back to Real-Address Mode"): a 16-bit
 * code segment and 64 KiB data segments, LIDT of the real-mode IVT, CR0.PE
 * cleared, a far jump that loads a real-mode CS.
 * The way up (SDM vol.3 §10.8.5 "Initializing IA-32e Mode", AMD APM vol.2
 * §14.6 "Enabling and Activating Long Mode"): CR0.PE, 32-bit code, CR4.PAE
 * (and LA57), CR3, EFER.LME, CR0.PG, then a far jump to a 64-bit segment.
 */
#include "cpu/modeswitch_layout.h"

#define CR0_PE 0x00000001
#define CR0_PG 0x80000000
#define CR4_PCIDE_BIT 17
#define EFER_LME 0x100
#define MSR_EFER 0xc0000080
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define TSS_BUSY 0x02 /* type bit 1 in descriptor byte 5 */

#define P(x) (MS_PARAMS + MS_P_##x)
#define IN(r) (MS_PARAMS + MS_P_IN + MS_R_##r)
#define OUT(r) (MS_PARAMS + MS_P_OUT + MS_R_##r)

	.text
	.globl modeswitch_enter, modeswitch_resume
	.hidden modeswitch_enter, modeswitch_resume

/* void modeswitch_enter(uint64_t blob): interrupts already off. Returns
   through modeswitch_resume with every callee-saved register intact. */
modeswitch_enter:
	push	%rbp
	mov	%rsp, %rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rdi, %rbx
	mov	%rsp, P(SAVED_RSP)(%rbx)
	/* CR0.PG cannot be cleared while CR4.PCIDE is set (SDM vol.2B "MOV—
	   Move to/from Control Registers", #GP); CR4_FINAL puts it back. */
	mov	%cr4, %rax
	btr	$CR4_PCIDE_BIT, %rax
	jnc	1f
	mov	%rax, %cr4
1:	lgdt	P(GDTR)(%rbx)
	mov	$MS_SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	pushq	$MS_SEL_CODE32
	mov	P(PM32_DOWN)(%rbx), %eax
	push	%rax
	lretq

/* Back in 64-bit mode, from the blob, with %rbx = the blob's base. */
modeswitch_resume:
	lgdt	P(SAVED_GDTR)(%rbx)
	lidt	P(SAVED_IDTR)(%rbx)
	movzwl	P(SAVED_SS)(%rbx), %eax
	mov	%eax, %ss
	movzwl	P(SAVED_DS)(%rbx), %eax
	mov	%eax, %ds
	movzwl	P(SAVED_ES)(%rbx), %eax
	mov	%eax, %es
	movzwl	P(SAVED_CS)(%rbx), %eax
	push	%rax
	lea	1f(%rip), %rax
	push	%rax
	lretq
1:	mov	P(CR3_FINAL)(%rbx), %rax
	mov	%rax, %cr3
	mov	P(CR4_FINAL)(%rbx), %rax
	mov	%rax, %cr4
	mov	$MSR_EFER, %ecx
	mov	P(EFER_FINAL)(%rbx), %eax
	mov	P(EFER_FINAL)+4(%rbx), %edx
	wrmsr
	/* LTR wants an available TSS; ours is marked busy since it was
	   loaded (SDM vol.2A "LTR"). */
	movzwl	P(SAVED_TR)(%rbx), %eax
	test	%eax, %eax
	jz	2f
	mov	P(SAVED_GDTR)+2(%rbx), %rdx
	andb	$~TSS_BUSY, 5(%rdx,%rax)
	ltr	%ax
2:	movzwl	P(SAVED_LDTR)(%rbx), %eax
	lldt	%ax
	movzwl	P(SAVED_FS)(%rbx), %eax
	mov	%eax, %fs
	movzwl	P(SAVED_GS)(%rbx), %eax
	mov	%eax, %gs
	mov	$MSR_FS_BASE, %ecx
	mov	P(FS_BASE)(%rbx), %eax
	mov	P(FS_BASE)+4(%rbx), %edx
	wrmsr
	mov	$MSR_GS_BASE, %ecx
	mov	P(GS_BASE)(%rbx), %eax
	mov	P(GS_BASE)+4(%rbx), %edx
	wrmsr
	mov	P(SAVED_RSP)(%rbx), %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret

	.section .rodata, "a"
	.balign 16
	.globl ms_blob_start, ms_blob_end, ms_rm_exit, ms_rm_stubs
	.globl ms_pm32_down, ms_pm32_from_rm, ms_lm64_up, ms_rm_down
	.hidden ms_blob_start, ms_blob_end, ms_rm_exit, ms_rm_stubs
	.hidden ms_pm32_down, ms_pm32_from_rm, ms_lm64_up, ms_rm_down
ms_blob_start:

	.code32
/* Compatibility mode, %ebx = blob base, on our stack in the image. */
ms_pm32_down:
	mov	$MS_SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	lea	MS_STACK_TOP(%ebx), %esp
	mov	%cr0, %eax
	and	$~CR0_PG, %eax
	mov	%eax, %cr0
	/* 32-bit protected mode without paging: no IDT until long mode. */
	lidt	P(NULL_IDTR)(%ebx)
	mov	$MSR_EFER, %ecx
	rdmsr
	and	$~EFER_LME, %eax
	wrmsr
	cmpl	$MS_MODE_REAL, P(MODE)(%ebx)
	je	1f
	jmp	ms_pm32_up
1:	ljmp	$MS_SEL_CODE16, $(ms_pm16_down - ms_blob_start)

	.code16
/* 16-bit protected mode; CS based at the blob, limit 64 KiB. */
ms_pm16_down:
	mov	$MS_SEL_DATA16, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%ax, %ss
	lidtl	P(RM_IDTR)
	mov	%cr0, %eax
	and	$~CR0_PE, %eax
	mov	%eax, %cr0
	ljmpw	*P(RM_DOWN_PTR)

/* Real mode, CS = the blob's segment: load the snippet's state and go.
   MOV leaves the flags alone, so POPF comes first. */
ms_rm_down:
	mov	%cs, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$MS_STACK_TOP, %esp
	pushl	IN(EFLAGS)
	popfl
	mov	IN(ES), %es
	mov	IN(FS), %fs
	mov	IN(GS), %gs
	mov	IN(EAX), %eax
	mov	IN(EBX), %ebx
	mov	IN(ECX), %ecx
	mov	IN(EDX), %edx
	mov	IN(ESI), %esi
	mov	IN(EDI), %edi
	mov	IN(EBP), %ebp
	mov	IN(SS), %ss
	mov	%cs:IN(ESP), %esp
	mov	%cs:IN(DS), %ds
	ljmpw	*%cs:P(SNIPPET_PTR)

/* Everything the snippet left, then our own DS/SS:ESP. */
.macro save_snippet_state
	mov	%eax, %cs:OUT(EAX)
	mov	%ebx, %cs:OUT(EBX)
	mov	%ecx, %cs:OUT(ECX)
	mov	%edx, %cs:OUT(EDX)
	mov	%esi, %cs:OUT(ESI)
	mov	%edi, %cs:OUT(EDI)
	mov	%ebp, %cs:OUT(EBP)
	mov	%esp, %cs:OUT(ESP)
	mov	%ds, %cs:OUT(DS)
	mov	%es, %cs:OUT(ES)
	mov	%fs, %cs:OUT(FS)
	mov	%gs, %cs:OUT(GS)
	mov	%ss, %cs:OUT(SS)
	mov	%cs, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$MS_STACK_TOP, %esp
	pushfl
	popl	OUT(EFLAGS)
.endm

/* The snippet's end: the runner appends a far jump to here. */
ms_rm_exit:
	movw	$MS_NO_VECTOR, %cs:P(VECTOR)
	save_snippet_state
	movw	$0, OUT(CS)
	jmp	ms_rm_up

/* A vector taken in real mode: its stub stored the number. OUT(ESP) and
   OUT(SS) are then below the FLAGS/CS/IP frame the CPU pushed. */
ms_rm_fault:
	save_snippet_state
	mov	OUT(SS), %es
	movzwl	OUT(ESP), %esi
	mov	%es:(%si), %ax
	mov	%ax, P(FAULT_IP)
	mov	%es:2(%si), %ax
	mov	%ax, P(FAULT_CS)
	mov	%ax, OUT(CS)
	mov	%es:4(%si), %ax
	mov	%ax, P(FAULT_FLAGS)
	movzwl	%ax, %eax
	mov	%eax, OUT(EFLAGS)

/* Back to 32-bit protected mode, with no IDT on the way up. */
ms_rm_up:
	xor	%ebx, %ebx
	mov	%cs, %bx
	shl	$4, %ebx
	lidtl	P(NULL_IDTR)
	lgdtl	P(GDTR)
	mov	%cr0, %eax
	or	$CR0_PE, %eax
	mov	%eax, %cr0
	ljmpl	*P(PM32_UP_PTR)

	.code32
ms_pm32_from_rm:
	mov	$MS_SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	lea	MS_STACK_TOP(%ebx), %esp

/* 32-bit protected mode without paging: the paging mode to come back in
   (CR4.PAE and perhaps LA57, CR3) is set here, then IA-32e mode. */
ms_pm32_up:
	mov	P(CR4_BOOT)(%ebx), %eax
	mov	%eax, %cr4
	mov	P(CR3_BOOT)(%ebx), %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	mov	P(EFER_BOOT)(%ebx), %eax
	xor	%edx, %edx
	wrmsr
	mov	P(CR0)(%ebx), %eax
	mov	%eax, %cr0
	/* Compatibility mode now; the far jump enters 64-bit mode. */
	ljmp	*P(LM64_PTR)(%ebx)

	.code64
ms_lm64_up:
	mov	%ebx, %ebx
	mov	$MS_SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	P(RESUME)(%rbx), %rax
	jmp	*%rax

	.code16
/* Vector n's stub, 16 bytes each: IVT entry n points here with CS = the
   blob's segment. */
	.balign 16
ms_rm_stubs:
	.set	vec, 0
	.rept	256
	movw	$vec, %cs:P(VECTOR)
	jmp	ms_rm_fault
	.balign	16
	.set	vec, vec + 1
	.endr
ms_blob_end:

	.code64
	.section .note.GNU-stack, "", @progbits
