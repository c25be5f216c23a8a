// Register dumps and frame-pointer backtraces, for the reports of an
// unexpected exception and of a #VC/#VE the handlers cannot serve.
//
// The cpu layer owns no console: every line goes to a TextSink that the
// caller passes (the runtime passes its console writer, console_write).
// Addresses inside the image print as "image+0x<offset>", which
// scripts/run symbolizes against the image's .debug file.
#pragma once

#include <cstddef>
#include <cstdint>

struct ExceptionFrame;

// One piece of text, not NUL-terminated; null means "say nothing".
using TextSink = void (*)(const char* s, size_t n);

// Where the cpu layer writes when it has to speak for itself: the dump of
// an unexpected exception no handler took, a fatal error with no handler
// (lib/cpu/exceptions.h, lib/cpu/fatal.h). Null until the boot code sets it.
void set_fault_output(TextSink out);
TextSink fault_output();

// Stacks the backtrace walker may follow frame pointers into.
void register_stack(const void* lo, const void* hi);

// The registers of the frame, CR0/CR2/CR3/CR4, then the backtrace.
void dump_frame(TextSink out, const ExceptionFrame* f);
// Walks the frame-pointer chain from `rbp`, printing image-relative offsets;
// `rsp` (0 if unknown) lets it recover the caller of a frameless leaf.
void print_backtrace(TextSink out, uint64_t rip, uint64_t rbp, uint64_t rsp = 0);

// printf-style text into `out` (at most one line of 255 bytes a call).
void sink_printf(TextSink out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
