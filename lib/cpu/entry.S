/*
 * PE entry (boot phase 1). The firmware calls _start with the Microsoft x64
 * ABI (UEFI 2.10 §2.3.4.2): RCX = ImageHandle, RDX = SystemTable, RSP ≡ 8
 * (mod 16). Nothing has been relocated yet, so this code only makes the
 * System V C++ ABI valid and hands over:
 *   1. stub_relocate(image base, _DYNAMIC, SystemTable)   phase 2
 *   2. efi_main(ImageHandle, SystemTable)                  phases 3-6
 * If either returns, its status goes back to the firmware with the MS ABI's
 * callee-saved RDI and RSI restored (our C++ code treats them as scratch).
 */
	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	push	%rbp
	mov	%rsp, %rbp
	push	%rdi
	push	%rsi
	push	%rcx
	push	%rdx
	lea	__image_base(%rip), %rdi
	lea	_DYNAMIC(%rip), %rsi
	call	stub_relocate
	test	%rax, %rax
	jnz	1f
	mov	8(%rsp), %rdi
	mov	(%rsp), %rsi
	call	efi_main
1:	add	$16, %rsp
	pop	%rsi
	pop	%rdi
	pop	%rbp
	ret
	.size _start, . - _start

/*
 * switch_stack(new_top, fn, arg): call fn(arg) on a new stack; fn never
 * returns. Used at phase 5, when the firmware's stack stops being ours to
 * trust.
 */
	.text
	.globl switch_stack
	.type switch_stack, @function
switch_stack:
	mov	%rdi, %rsp
	xor	%ebp, %ebp
	mov	%rdx, %rdi
	push	$0		/* fake return address: backtraces stop here */
	jmp	*%rsi
	.size switch_stack, . - switch_stack

/*
 * A minimal PE base-relocation block (PE/COFF spec §6.6): one block with two
 * IMAGE_REL_BASED_ABSOLUTE (no-op) entries. Its presence tells the loader
 * that the image may be loaded anywhere; the real fixups are ELF RELATIVE
 * entries that phase 2 applies.
 */
	.section .reloc, "a"
	.long	0
	.long	12
	.word	0
	.word	0

	.section .note.GNU-stack, "", @progbits
