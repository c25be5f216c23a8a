/*
 * The KVM probe: a 64 KiB ROM that QEMU maps with -bios, with no firmware.
 * From the reset vector it enters protected mode, then long mode with one
 * identity-mapped 2 MiB page, runs CPUID, and writes 42 to isa-debug-exit
 * (QEMU then exits with status 85). A VM that reaches that write has run
 * real-mode, protected-mode and long-mode code under the accelerator, with
 * the machine type and CPU model it was given; scripts/lib/qemu.sh uses KVM
 * only where it has.
 *
 * QEMU maps a -bios image at the top of the 4 GiB space and its last
 * 128 KiB (here all of it) below 1 MiB, so the code runs from the low
 * alias at 0xf0000: every address below is that base plus an offset in
 * this file, and no linking is needed.
 */
#define ROM_BASE	0xf0000
#define PT_BASE		0x1000		/* PML4, PDPT, PD: three pages of RAM */
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
	movl	$(3 * 4096 / 4), %ecx
	rep stosl
	movl	$(PT_BASE + 0x1000 + PTE_P_RW), PT_BASE
	movl	$(PT_BASE + 0x2000 + PTE_P_RW), PT_BASE + 0x1000
	movl	$PDE_2M, PT_BASE + 0x2000
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
	xorl	%eax, %eax
	cpuid
	movb	$PROBE_VALUE, %al
	outb	%al, $DEBUG_EXIT_PORT
1:	hlt
	jmp	1b

	.p2align 3
gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 32-bit code, flat */
	.quad	0x00cf92000000ffff	/* data, flat */
	.quad	0x00af9a000000ffff	/* 64-bit code */
gdtr:
	.word	gdtr - gdt - 1
	.long	ROM_BASE + gdt - base

	/* The reset vector: CS base 0xffff0000, IP 0xfff0. */
	.org	0xfff0
	.code16
	ljmp	$(ROM_BASE >> 4), $(entry16 - base)
	.org	0x10000

	.section .note.GNU-stack, "", @progbits
