// The ESP runner's text building is the shared one (result/text.h).
#pragma once

#include "result/text.h"

namespace esp {
using result::Str;
using result::TextBuf;
}  // namespace esp
