#include "cpu/fatal.h"

#include <cstdarg>

#include "cpu/backtrace.h"
#include "cpu/exceptions.h"
#include "rt/format.h"

namespace cpu {
namespace {
constinit FatalHandler handler = nullptr;
}  // namespace

FatalHandler set_fatal_handler(FatalHandler h) {
  const FatalHandler prev = handler;
  handler = h;
  return prev;
}

void fatal(const char* fmt, ...) {
  char message[256];
  va_list ap;
  va_start(ap, fmt);
  rt::vsnprintf(message, sizeof(message), fmt, ap);
  va_end(ap);
  if (handler) handler(message);
  sink_printf(fault_output(), "ERROR: %s\n", message);
  shut_down();
}

}  // namespace cpu
