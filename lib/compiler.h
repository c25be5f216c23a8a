// Included first in every guest translation unit (-include).
//
// All symbols of an image bind locally: with hidden visibility the compiler
// reaches data PC-relatively instead of through the GOT, so the only dynamic
// relocations left are R_X86_64_RELATIVE ones that the stub applies itself.
#pragma once
#pragma GCC visibility push(hidden)

// In a freestanding translation unit clang does not treat main() specially
// and would mangle it as any other C++ function (GCC keeps it unmangled).
// The stub calls the symbol "main", so pin every form a test may define to
// that name; a test defines exactly one of them.
#if defined(__clang__) && defined(__cplusplus)
int main() __asm__("main");
int main(int, char**) __asm__("main");
int main(int, char**, char**) __asm__("main");
#endif
