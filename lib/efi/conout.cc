#include "efi/conout.h"

#include <cstddef>

#include "rt/format.h"

namespace efi {
namespace {

constinit SystemTable* system_table = nullptr;

void sink(void*, const char* s, size_t n) {
  if (!system_table || !system_table->con_out) return;
  char16_t buf[130];
  size_t k = 0;
  auto flush = [&] {
    buf[k] = 0;
    system_table->con_out->output_string(system_table->con_out, buf);
    k = 0;
  };
  for (size_t i = 0; i < n; ++i) {
    if (k >= 126) flush();
    if (s[i] == '\n') buf[k++] = u'\r';
    // ConOut takes UCS-2; bytes above ASCII are shown as '?' rather than
    // decoded, which is enough for the ASCII this console prints.
    unsigned char c = static_cast<unsigned char>(s[i]);
    buf[k++] = c < 0x80 ? c : u'?';
  }
  if (k) flush();
}

}  // namespace

void conout_init(SystemTable* st) { system_table = st; }

int con_vprintf(const char* fmt, va_list ap) { return rt::vformat(sink, nullptr, fmt, ap); }

int con_printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = con_vprintf(fmt, ap);
  va_end(ap);
  return n;
}

}  // namespace efi
