#include "fwcfg/load_options.h"

namespace fwcfg {

size_t load_options_units(const char* text, size_t len) {
  size_t n = 0;
  while (n < len && text[n] != '\0') ++n;
  return n == 0 ? 0 : n + 1;
}

size_t build_load_options(const char* text, size_t len, char16_t* out, size_t capacity) {
  size_t units = load_options_units(text, len);
  if (units == 0 || units > capacity) return 0;
  for (size_t i = 0; i + 1 < units; ++i) out[i] = static_cast<unsigned char>(text[i]);
  out[units - 1] = u'\0';
  return units * sizeof(char16_t);
}

}  // namespace fwcfg
