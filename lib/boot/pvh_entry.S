/*
 * The PVH entry (lib/boot/chain.h), for x86/<name>.elf only.
 *
 * Xen's PVH boot ABI (docs/misc/pvh.pandoc in Xen): the loader jumps to the
 * address in the XEN_ELFNOTE_PHYS32_ENTRY note in 32-bit protected mode,
 * paging off, with CS and DS/ES/SS flat 4 GiB segments (their selectors
 * undefined), interrupts off, and EBX holding the physical address of
 * struct hvm_start_info. No stack is given.
 *
 * This stub loads its own GDT, builds an identity map of the low 4 GiB
 * with 2 MiB pages (PAE, Intel SDM vol.3 §4.5), enables long mode (EFER.LME
 * then CR0.PG, SDM vol.3 §10.8.5) and calls pvh_main(start_info) on a
 * small stack; pvh_main moves to the boot stack before phase 5. The image
 * is linked at its load address (elf.lds), so absolute addresses are right.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define CR0_PE (1 << 0)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define PTE_P (1 << 0)
#define PTE_W (1 << 1)
#define PTE_PS (1 << 7)

	.section .note.Xen, "a", @note
	.p2align 2
	.long	2f - 1f		/* namesz */
	.long	4f - 3f		/* descsz */
	.long	XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz	"Xen"
2:	.p2align 2
3:	.long	pvh_start32
4:	.p2align 2

	.section .text.entry, "ax"
	.code32
	.globl pvh_start32
	.type pvh_start32, @function
pvh_start32:
	cli
	cld
	mov	%ebx, %esi
	lgdt	pvh_gdt_desc
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	ljmp	$0x08, $1f
1:
	/* Zero .bss (the page tables and stack below live there) whatever the
	 * loader did with the part of the segment beyond its file size. */
	lea	__bss_start, %edi
	lea	__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb
	/* PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages. */
	lea	pvh_pdpt, %eax
	or	$(PTE_P | PTE_W), %eax
	mov	%eax, pvh_pml4
	lea	pvh_pd, %edx
	xor	%ecx, %ecx
2:	mov	%edx, %eax
	or	$(PTE_P | PTE_W), %eax
	mov	%eax, pvh_pdpt(, %ecx, 8)
	add	$4096, %edx
	inc	%ecx
	cmp	$4, %ecx
	jne	2b
	xor	%ecx, %ecx
3:	mov	%ecx, %eax
	shl	$21, %eax
	or	$(PTE_P | PTE_W | PTE_PS), %eax
	mov	%eax, pvh_pd(, %ecx, 8)
	/* Bits 32-34 of the 2 MiB frame: entries 2048 / 512 = 4 GiB. */
	mov	%ecx, %eax
	shr	$11, %eax
	mov	%eax, pvh_pd + 4(, %ecx, 8)
	inc	%ecx
	cmp	$2048, %ecx
	jne	3b

	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	lea	pvh_pml4, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$(CR0_PG | CR0_PE), %eax
	mov	%eax, %cr0
	ljmp	$0x18, $4f

	.code64
4:	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	lea	pvh_stack_top(%rip), %rsp
	xor	%ebp, %ebp
	mov	%esi, %edi		/* zero-extends: the start info is below 4 GiB */
	push	$0			/* fake return address: backtraces stop here */
	jmp	pvh_main
	.size pvh_start32, . - pvh_start32

/* switch_stack(new_top, fn, arg), as in lib/cpu/entry.S for the EFI image. */
	.text
	.globl switch_stack
	.type switch_stack, @function
switch_stack:
	mov	%rdi, %rsp
	xor	%ebp, %ebp
	mov	%rdx, %rdi
	push	$0
	jmp	*%rsi
	.size switch_stack, . - switch_stack

	.section .rodata
	.p2align 3
pvh_gdt:
	.quad	0			/* null */
	.quad	0x00cf9a000000ffff	/* 0x08: 32-bit code, flat */
	.quad	0x00cf92000000ffff	/* 0x10: data, flat */
	.quad	0x00af9a000000ffff	/* 0x18: 64-bit code */
pvh_gdt_end:
pvh_gdt_desc:
	.word	pvh_gdt_end - pvh_gdt - 1
	.long	pvh_gdt

	.section .bss
	.p2align 12
pvh_pml4:	.skip 4096
pvh_pdpt:	.skip 4096
pvh_pd:		.skip 4 * 4096
	.p2align 4
	.skip 16384
pvh_stack_top:

	.section .note.GNU-stack, "", @progbits
