/*
 * The reset-state probe; the layout and contract are in probe.h.
 *
 * Like the trampoline it lives in .rodata and runs only from its copy
 * below 1 MiB, so it holds nothing that needs a relocation: offsets are
 * differences of labels in this blob, and the absolute addresses come
 * from the parameter block or from CS.
 */
#include "smp/probe.h"

#define CR0_PE 0x00000001
#define PARAMS (smp_probe_params - smp_probe_start)
#define STATE (smp_probe_state - smp_probe_start)
#define STACK_TOP (smp_probe_end - smp_probe_start)

	.section .rodata, "a"
	.balign 16
	.globl smp_probe_start, smp_probe_pm, smp_probe_gdt, smp_probe_gdt_end
	.globl smp_probe_params, smp_probe_state, smp_probe_end
	.hidden smp_probe_start, smp_probe_pm, smp_probe_gdt, smp_probe_gdt_end
	.hidden smp_probe_params, smp_probe_state, smp_probe_end

	.code16
/* SIPI: real mode, CS = page >> 4, IP = 0. Nothing before these stores
   may change a register they record; DS is still the reset one, hence
   the CS overrides. */
smp_probe_start:
	movl	%eax, %cs:(STATE + PS_EAX)
	movl	%ebx, %cs:(STATE + PS_EBX)
	movl	%ecx, %cs:(STATE + PS_ECX)
	movl	%edx, %cs:(STATE + PS_EDX)
	movl	%esi, %cs:(STATE + PS_ESI)
	movl	%edi, %cs:(STATE + PS_EDI)
	movl	%ebp, %cs:(STATE + PS_EBP)
	movl	%esp, %cs:(STATE + PS_ESP)
	movw	%cs, %cs:(STATE + PS_CS)
	movw	%ds, %cs:(STATE + PS_DS)
	movw	%es, %cs:(STATE + PS_ES)
	movw	%fs, %cs:(STATE + PS_FS)
	movw	%gs, %cs:(STATE + PS_GS)
	movw	%ss, %cs:(STATE + PS_SS)
	/* MOV does not touch EFLAGS: what PUSHF sees is still the reset value. */
	movw	%cs, %ax
	movw	%ax, %ss
	movw	$STACK_TOP, %sp
	pushfl
	popl	%cs:(STATE + PS_EFLAGS)
	movw	%ax, %ds
	movl	%cr0, %eax
	movl	%eax, STATE + PS_CR0
	movl	%cr2, %eax
	movl	%eax, STATE + PS_CR2
	movl	%cr3, %eax
	movl	%eax, STATE + PS_CR3
	movl	%cr4, %eax
	movl	%eax, STATE + PS_CR4
	movl	%dr0, %eax
	movl	%eax, STATE + PS_DR0
	movl	%dr1, %eax
	movl	%eax, STATE + PS_DR1
	movl	%dr2, %eax
	movl	%eax, STATE + PS_DR2
	movl	%dr3, %eax
	movl	%eax, STATE + PS_DR3
	movl	%dr6, %eax
	movl	%eax, STATE + PS_DR6
	movl	%dr7, %eax
	movl	%eax, STATE + PS_DR7
	sgdtl	STATE + PS_GDTR
	sidtl	STATE + PS_IDTR
	fnstcw	STATE + PS_FPU_CW
	rdtsc
	movl	%eax, STATE + PS_TSC
	movl	%edx, STATE + PS_TSC + 4

	xorl	%esi, %esi
1:	cmpl	PARAMS + PR_NMSR, %esi
	jae	2f
	movl	PARAMS + PR_MSR(,%esi,4), %ecx
	rdmsr
	movl	%eax, STATE + PS_MSR(,%esi,8)
	movl	%edx, STATE + PS_MSR + 4(,%esi,8)
	incl	%esi
	jmp	1b

	/* The xAPIC page is above 1 MiB: protected mode, flat, paging off. */
2:	xorl	%ebx, %ebx
	movw	%ds, %bx
	shll	$4, %ebx
	lgdtl	PARAMS + PR_GDT_LIMIT
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	*PARAMS + PR_PM_OFFSET

	.code32
smp_probe_pm:
	movw	$PR_SEL_DATA32, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorl	%esi, %esi
1:	cmpl	PARAMS + PR_NMMIO(%ebx), %esi
	jae	2f
	movl	PARAMS + PR_MMIO(%ebx,%esi,4), %eax
	movl	(%eax), %eax
	movl	%eax, STATE + PS_MMIO(%ebx,%esi,4)
	incl	%esi
	jmp	1b
2:	lock incl STATE + PS_ENTRIES(%ebx)
	movl	PARAMS + PR_SPIN(%ebx), %ecx
	testl	%ecx, %ecx
	jz	4f
3:	lock incl STATE + PS_HEARTBEAT(%ebx)
	pause
	decl	%ecx
	jnz	3b
	/* Parked until the next INIT. */
4:	cli
	hlt
	jmp	4b

	.balign 8
smp_probe_gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* PR_SEL_CODE32: 32-bit code, 4 GiB */
	.quad	0x00cf92000000ffff	/* PR_SEL_DATA32: data, 4 GiB */
smp_probe_gdt_end:

	.balign 8
smp_probe_params:
	.fill	PR_SIZE, 1, 0
	.balign 8
smp_probe_state:
	.fill	PS_SIZE, 1, 0
	.balign 16
	.fill	64, 1, 0	/* the stack PUSHF needs */
smp_probe_end:

	.section .note.GNU-stack, "", @progbits
