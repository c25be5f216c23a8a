#include "rt/console.h"

#include "cpu/processor.h"
#include "platform/transport.h"
#include "rt/format.h"

namespace {

constexpr unsigned kMaxOutputs = 4;
constinit ConsoleWriter outputs[kMaxOutputs] = {};
constinit unsigned noutputs = 0;

// 16550 UART at COM1 (National PC16550D datasheet register map).
constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kRegData = 0;
constexpr uint16_t kRegIer = 1;
constexpr uint16_t kRegFcr = 2;
constexpr uint16_t kRegLcr = 3;
constexpr uint16_t kRegMcr = 4;
constexpr uint16_t kRegLsr = 5;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLcr8N1 = 0x03;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kFcrEnableClear = 0x07;
constexpr uint8_t kMcrDtrRts = 0x03;

void serial_putc(char c) {
  // Bounded wait: a missing UART reads 0xff (THR "empty"); a wedged one must
  // not hang the report.
  for (unsigned spins = 0; spins < 100000; ++spins)
    if (platform::port_in8(kCom1 + kRegLsr) & kLsrThrEmpty) break;
  platform::port_out8(kCom1 + kRegData, static_cast<uint8_t>(c));
}

void serial_write(const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '\n') serial_putc('\r');
    serial_putc(s[i]);
  }
}

void console_sink(void*, const char* s, size_t n) { console_write(s, n); }

}  // namespace

bool console_add_output(ConsoleWriter w) {
  if (noutputs == kMaxOutputs) return false;
  outputs[noutputs++] = w;
  return true;
}

void console_write(const char* s, size_t n) {
  for (unsigned i = 0; i < noutputs; ++i) outputs[i](s, n);
}

void console_init_serial() {
  platform::port_out8(kCom1 + kRegIer, 0);
  platform::port_out8(kCom1 + kRegLcr, kLcrDlab);
  platform::port_out8(kCom1 + kRegData, 1);  // divisor 1: 115200 baud
  platform::port_out8(kCom1 + kRegIer, 0);
  platform::port_out8(kCom1 + kRegLcr, kLcr8N1);
  platform::port_out8(kCom1 + kRegFcr, kFcrEnableClear);
  platform::port_out8(kCom1 + kRegMcr, kMcrDtrRts);
  console_add_output(serial_write);
}

int vprintf(const char* fmt, va_list ap) { return rt::vformat(console_sink, nullptr, fmt, ap); }

int printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}

int puts(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  console_write(s, n);
  console_write("\n", 1);
  return static_cast<int>(n + 1);
}
