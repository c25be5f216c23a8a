// The guest console: every byte goes to each output that is present (the
// serial port now; more outputs register themselves as they come up).
#pragma once

#include <cstdarg>
#include <cstddef>

using ConsoleWriter = void (*)(const char* s, size_t n);

// Adds an output; returns false when the table of outputs is full.
bool console_add_output(ConsoleWriter w);
void console_write(const char* s, size_t n);
void console_init_serial();

int printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char* fmt, va_list ap);
int puts(const char* s);  // appends a newline, like C's puts
