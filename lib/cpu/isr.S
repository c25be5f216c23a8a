/*
 * Interrupt and exception entry. One 16-byte stub per vector pushes a zero
 * error code where the CPU does not push one, then the vector number, and
 * jumps to the common path, which saves the register file as a `Regs`
 * (lib/cpu/regs.h) followed by the vector and error code, and calls
 * exception_dispatch(ExceptionFrame*). Handlers may change any field of
 * Regs, including rip, rsp, rflags, cs and ss; the common path writes them
 * back into the hardware frame before IRETQ.
 *
 * Vectors that push an error code: #DF 8, #TS 10, #NP 11, #SS 12, #GP 13,
 * #PF 14, #AC 17, #CP 21, #VC 29, #SX 30 (Intel SDM vol.3 §6.15; AMD APM
 * vol.2 §8.2).
 */
#define REGS_SIZE 0xa0

	.text
/* Stack on entry: vector, error code, then the CPU's RIP, CS, RFLAGS, RSP, SS. */
isr_common:
	sub	$REGS_SIZE, %rsp
	mov	%rax, 0x00(%rsp)
	mov	%rcx, 0x08(%rsp)
	mov	%rdx, 0x10(%rsp)
	mov	%rbx, 0x18(%rsp)
	mov	%rbp, 0x28(%rsp)
	mov	%rsi, 0x30(%rsp)
	mov	%rdi, 0x38(%rsp)
	mov	%r8, 0x40(%rsp)
	mov	%r9, 0x48(%rsp)
	mov	%r10, 0x50(%rsp)
	mov	%r11, 0x58(%rsp)
	mov	%r12, 0x60(%rsp)
	mov	%r13, 0x68(%rsp)
	mov	%r14, 0x70(%rsp)
	mov	%r15, 0x78(%rsp)
	mov	REGS_SIZE+0x10(%rsp), %rax	/* rip */
	mov	%rax, 0x80(%rsp)
	mov	REGS_SIZE+0x18(%rsp), %rax	/* cs */
	mov	%rax, 0x90(%rsp)
	mov	REGS_SIZE+0x20(%rsp), %rax	/* rflags */
	mov	%rax, 0x88(%rsp)
	mov	REGS_SIZE+0x28(%rsp), %rax	/* rsp */
	mov	%rax, 0x20(%rsp)
	mov	REGS_SIZE+0x30(%rsp), %rax	/* ss */
	mov	%rax, 0x98(%rsp)
	cld
	mov	%rsp, %rdi
	/* A frame record linking to the interrupted code, for backtraces.
	   The CPU aligned RSP to 16 before its 40-byte frame (SDM vol.3
	   §6.14.2); with error code, vector, Regs, 8 bytes of padding and
	   the record, RSP is 16-byte aligned at the call, as the ABI wants. */
	sub	$8, %rsp
	push	0x80(%rdi)
	push	%rbp
	mov	%rsp, %rbp
	call	exception_dispatch
	add	$24, %rsp
	mov	0x80(%rsp), %rax
	mov	%rax, REGS_SIZE+0x10(%rsp)
	mov	0x90(%rsp), %rax
	mov	%rax, REGS_SIZE+0x18(%rsp)
	mov	0x88(%rsp), %rax
	mov	%rax, REGS_SIZE+0x20(%rsp)
	mov	0x20(%rsp), %rax
	mov	%rax, REGS_SIZE+0x28(%rsp)
	mov	0x98(%rsp), %rax
	mov	%rax, REGS_SIZE+0x30(%rsp)
	mov	0x00(%rsp), %rax
	mov	0x08(%rsp), %rcx
	mov	0x10(%rsp), %rdx
	mov	0x18(%rsp), %rbx
	mov	0x28(%rsp), %rbp
	mov	0x30(%rsp), %rsi
	mov	0x38(%rsp), %rdi
	mov	0x40(%rsp), %r8
	mov	0x48(%rsp), %r9
	mov	0x50(%rsp), %r10
	mov	0x58(%rsp), %r11
	mov	0x60(%rsp), %r12
	mov	0x68(%rsp), %r13
	mov	0x70(%rsp), %r14
	mov	0x78(%rsp), %r15
	add	$REGS_SIZE+16, %rsp
	iretq

/*
 * The stubs are hand-encoded so that each is exactly 16 bytes and
 * load_idt() can find stub v at isr_stubs + 16 * v: push imm8 (6a ib) or
 * push imm32 (68 id), jmp rel32 (e9 cd), then int3 padding.
 */
	.balign 16
	.globl isr_stubs
isr_stubs:
	vec = 0
	.rept 256
	size = 5
	.if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	.byte	0x6a, 0
	size = size + 2
	.endif
	.if vec < 128
	.byte	0x6a, vec
	size = size + 2
	.else
	.byte	0x68
	.long	vec
	size = size + 5
	.endif
	.byte	0xe9
	.long	isr_common - (. + 4)
	.fill	16 - size, 1, 0xcc
	vec = vec + 1
	.endr
isr_stubs_end:

/*
 * setjmp/longjmp: callee-saved registers, the stack pointer and the return
 * address. The exception path resumes a fault catcher by making the
 * interrupted context "return" into longjmp.
 */
	.globl setjmp
	.type setjmp, @function
setjmp:
	mov	%rbx, 0x00(%rdi)
	mov	%rbp, 0x08(%rdi)
	mov	%r12, 0x10(%rdi)
	mov	%r13, 0x18(%rdi)
	mov	%r14, 0x20(%rdi)
	mov	%r15, 0x28(%rdi)
	lea	8(%rsp), %rdx
	mov	%rdx, 0x30(%rdi)
	mov	(%rsp), %rdx
	mov	%rdx, 0x38(%rdi)
	xor	%eax, %eax
	ret
	.size setjmp, . - setjmp

	.globl longjmp
	.type longjmp, @function
longjmp:
	mov	%esi, %eax
	test	%eax, %eax
	jnz	1f
	inc	%eax
1:	mov	0x00(%rdi), %rbx
	mov	0x08(%rdi), %rbp
	mov	0x10(%rdi), %r12
	mov	0x18(%rdi), %r13
	mov	0x20(%rdi), %r14
	mov	0x28(%rdi), %r15
	mov	0x30(%rdi), %rsp
	jmp	*0x38(%rdi)
	.size longjmp, . - longjmp

	.section .note.GNU-stack, "", @progbits
