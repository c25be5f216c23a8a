/*
 * The KVM probe: a 64 KiB ROM that QEMU maps with -bios, with no firmware.
 * From the reset vector it enters protected mode, then long mode (identity
 * map: the first 2 MiB and the local APIC's page), and then does what every
 * test image does first under the accelerator: CPUID, an IDT with INT3 (a
 * trap) and UD2 (a fault) taken through it, a read of the local APIC's
 * version register (MMIO, Intel SDM vol.3 §11.4.8) and a self-IPI through
 * the ICR (§11.6.1) taken as an external interrupt, EOI included. Then it
 * writes 42 to isa-debug-exit (QEMU exits with status 85). A step that goes
 * wrong writes its own code instead (host/accel.cc probe_step), so the
 * reason names the step. A VM that reaches the end has run real-mode,
 * protected-mode and long-mode code, exceptions, an interrupt and MMIO
 * under the accelerator, with the machine type and CPU model it was given;
 * the runner (host/accel.h) uses KVM only where it has. An accelerator that runs
 * the mode switches but cannot deliver an INT3 (it then stops with "KVM
 * internal error ... emulation failure") is refused here, not in the test.
 *
 * QEMU maps a -bios image at the top of the 4 GiB space and its last
 * 128 KiB (here all of it) below 1 MiB, so the code runs from the low
 * alias at 0xf0000: every address below is that base plus an offset in
 * this file, and no linking is needed. This holds for -machine microvm as
 * for pc and q35.
 */
#define ROM_BASE	0xf0000
#define PT_BASE		0x1000		/* PML4, PDPT, PD, PD (3rd GiB): four pages of RAM */
#define IDT_BASE	0x5000		/* 256 16-byte gates */
#define STACK_TOP	0x7000		/* the page below */
#define RAM_PAGES	6
#define APIC_BASE	0xfee00000
#define APIC_VERSION	0x030
#define APIC_EOI	0x0b0
#define APIC_SVR	0x0f0
#define APIC_ICR_LOW	0x300
#define APIC_SVR_ENABLE	0x100
#define ICR_SELF_FIXED	0x00044000	/* shorthand self, assert, fixed */
#define PDE_2M_UC	0x09b		/* present, writable, PWT, PCD, 2 MiB page */
#define VEC_BP		3
#define VEC_UD		6
#define VEC_IPI		0x40
#define GATE_INT64	0x8e00		/* present, DPL 0, 64-bit interrupt gate */
/* Failure codes (host/accel.cc probe_step): QEMU exits with (code << 1) | 1. */
#define FAIL_INT3	1
#define FAIL_UD2	2
#define FAIL_MMIO	3
#define FAIL_IPI	4
#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100
#define PTE_P_RW	0x003
#define PDE_2M		0x083		/* present, writable, 2 MiB page */
#define SEL_CODE32	0x08
#define SEL_DATA	0x10
#define SEL_CODE64	0x18
#define DEBUG_EXIT_PORT	0xf4
#define PROBE_VALUE	42

	.text
	.code16
base:
entry16:
	cli
	cld
	lgdtl	%cs:(gdtr - base)
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $(ROM_BASE + pm32 - base)

	.code32
pm32:
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	$PT_BASE, %edi
	xorl	%eax, %eax
	movl	$(RAM_PAGES * 4096 / 4), %ecx
	rep stosl
	movl	$(PT_BASE + 0x1000 + PTE_P_RW), PT_BASE
	movl	$(PT_BASE + 0x2000 + PTE_P_RW), PT_BASE + 0x1000
	movl	$(PT_BASE + 0x3000 + PTE_P_RW), PT_BASE + 0x1000 + 3 * 8
	movl	$PDE_2M, PT_BASE + 0x2000
	movl	$(APIC_BASE | PDE_2M_UC), PT_BASE + 0x3000 + ((APIC_BASE >> 21) & 0x1ff) * 8
	movl	$PT_BASE, %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$CR0_PG, %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $(ROM_BASE + lm64 - base)

	.code64
lm64:
	movl	$STACK_TOP, %esp
	xorl	%eax, %eax
	cpuid
	/* The IDT: three gates. */
	movl	$VEC_BP, %edi
	movl	$(ROM_BASE + bp_handler - base), %eax
	call	set_gate
	movl	$VEC_UD, %edi
	movl	$(ROM_BASE + ud_handler - base), %eax
	call	set_gate
	movl	$VEC_IPI, %edi
	movl	$(ROM_BASE + ipi_handler - base), %eax
	call	set_gate
	lidt	ROM_BASE + idtr - base
	/* Counters: r12 INT3, r13 UD2, r14 the IPI. */
	xorl	%r12d, %r12d
	xorl	%r13d, %r13d
	xorl	%r14d, %r14d

	int3
	movb	$FAIL_INT3, %al
	cmpl	$1, %r12d
	jne	fail
	ud2
	movb	$FAIL_UD2, %al
	cmpl	$1, %r13d
	jne	fail

	/* The local APIC: version 0x10-0x1f for an integrated one (§11.4.8). */
	/* In a register: a 32-bit displacement is sign-extended in 64-bit mode. */
	movl	$APIC_BASE, %ebx
	movl	APIC_VERSION(%rbx), %edx
	movb	$FAIL_MMIO, %al
	cmpb	$0x10, %dl
	jb	fail
	cmpb	$0x1f, %dl
	ja	fail
	orl	$APIC_SVR_ENABLE, APIC_SVR(%rbx)
	movl	$(ICR_SELF_FIXED | VEC_IPI), APIC_ICR_LOW(%rbx)
	/* Bounded: the IPI is pending by now; give it a few windows. */
	movl	$1000, %ecx
2:	sti
	nop
	cli
	cmpl	$1, %r14d
	je	3f
	loop	2b
3:	movb	$FAIL_IPI, %al
	cmpl	$1, %r14d
	jne	fail

	movb	$PROBE_VALUE, %al
fail:
	outb	%al, $DEBUG_EXIT_PORT
1:	cli
	hlt
	jmp	1b

/* set_gate: EDI the vector, EAX the handler (below 4 GiB). */
set_gate:
	shll	$4, %edi
	addl	$IDT_BASE, %edi
	movw	%ax, (%rdi)
	movw	$SEL_CODE64, 2(%rdi)
	movw	$GATE_INT64, 4(%rdi)
	shrl	$16, %eax
	movw	%ax, 6(%rdi)
	movq	$0, 8(%rdi)
	ret

/* INT3 is a trap: the pushed RIP follows it. */
bp_handler:
	incl	%r12d
	iretq
/* UD2 is a fault: step over its two bytes. */
ud_handler:
	incl	%r13d
	addq	$2, (%rsp)
	iretq
ipi_handler:
	incl	%r14d
	movl	$0, APIC_EOI(%rbx)
	iretq

	.p2align 3
gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 32-bit code, flat */
	.quad	0x00cf92000000ffff	/* data, flat */
	.quad	0x00af9a000000ffff	/* 64-bit code */
gdtr:
	.word	gdtr - gdt - 1
	.long	ROM_BASE + gdt - base
idtr:
	.word	256 * 16 - 1
	.quad	IDT_BASE

	/* The reset vector: CS base 0xffff0000, IP 0xfff0. */
	.org	0xfff0
	.code16
	ljmp	$(ROM_BASE >> 4), $(entry16 - base)
	.org	0x10000

	.section .note.GNU-stack, "", @progbits
