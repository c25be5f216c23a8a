/*
 * The world switch (AMD APM vol.2 §15.5 "VMRUN", §15.6 "#VMEXIT", §15.5.2
 * "VMSAVE and VMLOAD").
 *
 *   void svm_world_switch(uint64_t vmcb_pa, GuestRegs* regs, uint64_t host_area_pa)
 *
 * VMRUN saves and reloads only part of the host's state (CS, SS, DS, ES,
 * RSP, RIP, RAX, RFLAGS, CRn, EFER, GDTR, IDTR) and none of its GPRs but
 * RAX and RSP; FS, GS, TR, LDTR and the SYSCALL/SYSENTER MSRs go through
 * VMSAVE/VMLOAD. So: GIF cleared, the host's VMLOAD state saved into
 * `host_area_pa`, the guest's loaded from its VMCB, the guest's GPRs but
 * RAX and RSP (those are in the VMCB) loaded from `regs`, VMRUN; after the
 * #VMEXIT the same in reverse, and GIF set again with RFLAGS.IF clear.
 *
 * RFLAGS.IF is set for the VMRUN itself: with V_INTR_MASKING, the host's
 * IF at VMRUN decides whether physical interrupts reach the INTR intercept
 * (APM §15.21.1), and that is how the APIC-timer bound of lib/svm ends an
 * L2 that never exits. Between CLGI and STGI nothing is delivered; an
 * interrupt that made the exit stays pending for the caller to take.
 *
 * No C++ runs between the two VMLOADs: FS and GS (the per-CPU base) are
 * the guest's there.
 */
#define R_RBX 0x18
#define R_RCX 0x08
#define R_RDX 0x10
#define R_RBP 0x28
#define R_RSI 0x30
#define R_RDI 0x38
#define R_R8 0x40
#define R_R9 0x48
#define R_R10 0x50
#define R_R11 0x58
#define R_R12 0x60
#define R_R13 0x68
#define R_R14 0x70
#define R_R15 0x78

	.text
	.globl	svm_world_switch
	.hidden	svm_world_switch
	.type	svm_world_switch, @function
svm_world_switch:
	push	%rbp
	mov	%rsp, %rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rsi			/* 16(%rsp) after the next two: regs */
	push	%rdi			/*  8(%rsp): VMCB */
	push	%rdx			/*  0(%rsp): host area */
	clgi
	mov	%rdx, %rax
	vmsave	%rax
	mov	%rdi, %rax
	vmload	%rax
	mov	R_RBX(%rsi), %rbx
	mov	R_RCX(%rsi), %rcx
	mov	R_RDX(%rsi), %rdx
	mov	R_RBP(%rsi), %rbp
	mov	R_RDI(%rsi), %rdi
	mov	R_R8(%rsi), %r8
	mov	R_R9(%rsi), %r9
	mov	R_R10(%rsi), %r10
	mov	R_R11(%rsi), %r11
	mov	R_R12(%rsi), %r12
	mov	R_R13(%rsi), %r13
	mov	R_R14(%rsi), %r14
	mov	R_R15(%rsi), %r15
	mov	R_RSI(%rsi), %rsi
	sti
	vmrun	%rax
	cli
	push	%rsi			/* the guest's; regs is now at 24(%rsp) */
	mov	24(%rsp), %rsi
	mov	%rbx, R_RBX(%rsi)
	mov	%rcx, R_RCX(%rsi)
	mov	%rdx, R_RDX(%rsi)
	mov	%rbp, R_RBP(%rsi)
	mov	%rdi, R_RDI(%rsi)
	mov	%r8, R_R8(%rsi)
	mov	%r9, R_R9(%rsi)
	mov	%r10, R_R10(%rsi)
	mov	%r11, R_R11(%rsi)
	mov	%r12, R_R12(%rsi)
	mov	%r13, R_R13(%rsi)
	mov	%r14, R_R14(%rsi)
	mov	%r15, R_R15(%rsi)
	popq	R_RSI(%rsi)
	mov	8(%rsp), %rax
	vmsave	%rax
	mov	0(%rsp), %rax
	vmload	%rax
	stgi
	add	$24, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size	svm_world_switch, . - svm_world_switch

/*
 * Where an L2 function starts: rdi its argument, rsi the function. When it
 * returns, L2 leaves through VMMCALL, again and again should L1 resume it.
 */
	.globl	svm_l2_entry
	.hidden	svm_l2_entry
	.type	svm_l2_entry, @function
svm_l2_entry:
	call	*%rsi
1:	vmmcall
	jmp	1b
	.size	svm_l2_entry, . - svm_l2_entry

	.section .note.GNU-stack, "", @progbits
