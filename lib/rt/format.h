// printf-style formatting, portable: the guest console and the host unit
// tests share it.
//
// Supported: %d %i %u %x %X %o %c %s %p %%, flags '-', '0', '+', ' ', '#',
// width and precision (also '*'), length modifiers hh h l ll z j t. No
// floating point (guest code is built with -mgeneral-regs-only). %s of a null
// pointer prints "(null)". %p prints as glibc does: 0x and lowercase hex, or
// "(nil)" for a null pointer. Unknown conversions are printed literally.
#pragma once

#include <cstdarg>
#include <cstddef>

namespace rt {

// Output sink: called with chunks of formatted text.
using FormatSink = void (*)(void* ctx, const char* s, size_t n);

// Returns the number of characters produced.
int vformat(FormatSink sink, void* ctx, const char* fmt, va_list ap);

// Like C's vsnprintf/snprintf: always NUL-terminates when size > 0, returns
// the length the full output would have had.
int vsnprintf(char* buf, size_t size, const char* fmt, va_list ap);
int snprintf(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace rt
