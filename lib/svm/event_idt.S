/*
 * An IDT for L2 that records what an event delivered: every vector's stub
 * pushes the vector number and jumps to one common path, which stores the
 * vector and the stack pointer (the frame the CPU pushed, error code
 * first when it pushed one: AMD APM vol.2 §8.9.3) and leaves L2 through
 * VMMCALL. L1 then reads the frame from L2's stack. See svm::RecordingIdt.
 */
	.text
	.balign	16
	.globl	svm_event_stubs
	.hidden	svm_event_stubs
svm_event_stubs:
	vector = 0
	.rept	256
	.balign	16
	pushq	$vector
	jmp	svm_event_common
	vector = vector + 1
	.endr

svm_event_common:
	popq	svm_event_vector(%rip)
	mov	%rsp, svm_event_rsp(%rip)
1:	vmmcall
	jmp	1b

	.data
	.balign	8
	.globl	svm_event_vector, svm_event_rsp
	.hidden	svm_event_vector, svm_event_rsp
svm_event_vector:
	.quad	0
svm_event_rsp:
	.quad	0

	.section .note.GNU-stack, "", @progbits
