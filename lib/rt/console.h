// The guest console: every byte goes to each output that is present (the
// serial port now; more outputs register themselves as they come up).
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>

using ConsoleWriter = void (*)(const char* s, size_t n);

// Adds an output; returns false when the table of outputs is full.
bool console_add_output(ConsoleWriter w);
void console_write(const char* s, size_t n);

// The serial output: the UART the ACPI SPCR table names when it is a 16550
// the console can drive, else COM1 at 115200 baud.
struct SerialPort {
  bool mmio;           // memory-mapped registers, else port I/O
  uint64_t base;
  uint8_t reg_width;   // bytes per register access (MMIO: 1, 2 or 4)
  uint8_t reg_stride;  // bytes between registers
  uint32_t baud;       // 0: the firmware's line settings were kept
  uint16_t divisor;    // programmed divisor latch, or 0 when kept
  const char* source;  // why this UART: "ACPI SPCR", or the fallback's reason
  // The transmitter stayed busy for kThrMaxPolls reads of LSR once: from
  // then on bytes are written without waiting (and may be lost), so that
  // a wedged UART costs one bounded wait, not one per byte.
  bool tx_stalled;
};
// Finds the UART from the RSDP (0 when there is no ACPI), programs it and
// registers it as an output. Runs once our page tables map the ACPI tables.
void console_init_serial(uint64_t acpi_rsdp);
const SerialPort& console_serial();

int printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char* fmt, va_list ap);
int puts(const char* s);  // appends a newline, like C's puts
