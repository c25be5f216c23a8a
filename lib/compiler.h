// Included first in every guest translation unit (-include).
//
// All symbols of an image bind locally: with hidden visibility the compiler
// reaches data PC-relatively instead of through the GOT, so the only dynamic
// relocations left are R_X86_64_RELATIVE ones that the stub applies itself.
#pragma once
#pragma GCC visibility push(hidden)
