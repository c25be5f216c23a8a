#include "rt/console.h"

#include "acpi/acpi.h"
#include "cpu/processor.h"
#include "platform/transport.h"
#include "rt/format.h"
#include "smp/percpu.h"

namespace {

constexpr unsigned kMaxOutputs = 4;
constinit ConsoleWriter outputs[kMaxOutputs] = {};
constinit unsigned noutputs = 0;
// One writer at a time, so that output from several CPUs does not
// interleave within a printf or puts; the holder may take it again (a fault
// while printing still prints its report).
constinit smp::CpuLock lock;

// 16550 UART (National PC16550D datasheet register map).
constexpr uint16_t kCom1 = 0x3f8;
constexpr uint32_t kCom1Baud = 115200;
constexpr uint16_t kRegData = 0;
constexpr uint16_t kRegDivisorLow = 0;   // with LCR.DLAB set
constexpr uint16_t kRegDivisorHigh = 1;  // with LCR.DLAB set
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
// The UART divides its clock by 16 times the divisor.
constexpr uint32_t kUartOversampling = 16;

constinit SerialPort serial = {};

uint8_t uart_read(uint16_t reg) {
  if (!serial.mmio) return platform::port_in8(static_cast<uint16_t>(serial.base + reg));
  const uint64_t a = serial.base + uint64_t{reg} * serial.reg_stride;
  switch (serial.reg_width) {
    case 4: return static_cast<uint8_t>(*reinterpret_cast<volatile uint32_t*>(a));
    case 2: return static_cast<uint8_t>(*reinterpret_cast<volatile uint16_t*>(a));
    default: return *reinterpret_cast<volatile uint8_t*>(a);
  }
}

void uart_write(uint16_t reg, uint8_t v) {
  if (!serial.mmio) return platform::port_out8(static_cast<uint16_t>(serial.base + reg), v);
  const uint64_t a = serial.base + uint64_t{reg} * serial.reg_stride;
  switch (serial.reg_width) {
    case 4: *reinterpret_cast<volatile uint32_t*>(a) = v; break;
    case 2: *reinterpret_cast<volatile uint16_t*>(a) = v; break;
    default: *reinterpret_cast<volatile uint8_t*>(a) = v; break;
  }
}

// A byte leaves a 16550 at 9600 baud in about 1 ms; a read of LSR takes at
// least a few hundred ns (an uncached access or a port read), so this many
// reads outlast the slowest line the console programs.
constexpr unsigned kThrMaxPolls = 100000;

void serial_putc(char c) {
  // A missing UART reads 0xff (THR "empty"); a wedged one must not hang the
  // report, nor slow every later byte down by a full wait.
  if (!serial.tx_stalled) {
    unsigned polls = 0;
    while (!(uart_read(kRegLsr) & kLsrThrEmpty))
      if (++polls == kThrMaxPolls) {
        serial.tx_stalled = true;
        break;
      }
  }
  uart_write(kRegData, static_cast<uint8_t>(c));
}

void serial_write(const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '\n') serial_putc('\r');
    serial_putc(s[i]);
  }
}

const void* acpi_identity(void*, PhysAddr pa, uint64_t) {
  return reinterpret_cast<const void*>(pa.value);
}

// The UART from SPCR, or COM1 with the reason. MMIO above 4 GiB is refused:
// only the hole below it is mapped for devices the memory map may omit.
SerialPort discover_serial(uint64_t rsdp) {
  SerialPort com1{false, kCom1, 1, 1, kCom1Baud,
                  acpi::kUartDefaultClockHz / (kUartOversampling * kCom1Baud), "COM1 (no ACPI)",
                  false};
  if (!rsdp) return com1;
  acpi::Tables tables;
  acpi::Problems problems;
  const acpi::SdtHeader* t = nullptr;
  if (tables.init(acpi::Access{nullptr, acpi_identity}, PhysAddr(rsdp), &problems))
    t = tables.find("SPCR");
  acpi::SerialConsole sc;
  if (!t || !acpi::parse_spcr(t, &sc, &problems)) {
    com1.source = "COM1 (no SPCR)";
    return com1;
  }
  if (!sc.usable || (!sc.mmio && sc.address > 0xffff) ||
      (sc.mmio && sc.address >= (4ull << 30))) {
    com1.source = "COM1 (SPCR names a UART the console cannot drive)";
    return com1;
  }
  // Rounded to the nearest divisor; a rate the clock cannot reach, or one
  // that needs more than 16 divisor bits, keeps the firmware's setting.
  const uint64_t step = uint64_t{kUartOversampling} * sc.baud;
  const uint64_t div = step ? (sc.clock_hz + step / 2) / step : 0;
  const bool keep = div == 0 || div > 0xffff;
  return SerialPort{sc.mmio, sc.address, sc.reg_width, sc.reg_stride, keep ? 0 : sc.baud,
                    static_cast<uint16_t>(keep ? 0 : div), "ACPI SPCR", false};
}

void console_sink(void*, const char* s, size_t n) { console_write(s, n); }

}  // namespace

bool console_add_output(ConsoleWriter w) {
  if (noutputs == kMaxOutputs) return false;
  outputs[noutputs++] = w;
  return true;
}

void console_write(const char* s, size_t n) {
  smp::CpuLockGuard g(lock);
  for (unsigned i = 0; i < noutputs; ++i) outputs[i](s, n);
}

void console_init_serial(uint64_t acpi_rsdp) {
  serial = discover_serial(acpi_rsdp);
  uart_write(kRegIer, 0);
  // SPCR baud "as is": the firmware set the line up; keep its divisor and
  // framing.
  if (serial.divisor) {
    uart_write(kRegLcr, kLcrDlab);
    uart_write(kRegDivisorLow, static_cast<uint8_t>(serial.divisor));
    uart_write(kRegDivisorHigh, static_cast<uint8_t>(serial.divisor >> 8));
    uart_write(kRegLcr, kLcr8N1);
    uart_write(kRegFcr, kFcrEnableClear);
    uart_write(kRegMcr, kMcrDtrRts);
  }
  console_add_output(serial_write);
}

const SerialPort& console_serial() { return serial; }

int vprintf(const char* fmt, va_list ap) {
  smp::CpuLockGuard g(lock);
  return rt::vformat(console_sink, nullptr, fmt, ap);
}

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
  smp::CpuLockGuard g(lock);
  console_write(s, n);
  console_write("\n", 1);
  return static_cast<int>(n + 1);
}
