// Self-relocation of a PIC image (boot phase 2).
//
// Contract: runs before any relocation has been applied, so the
// implementation must not depend on absolute pointers in data (no pointer
// tables, no global constructors, no switch jump tables that need
// relocation). It validates every entry first and applies nothing unless all
// are acceptable: R_X86_64_RELATIVE is applied, R_X86_64_NONE is skipped, any
// other type is refused and reported with its type and offset.
#pragma once

#include <cstddef>
#include <cstdint>

namespace elf {

struct Dyn {
  int64_t tag;
  uint64_t val;
};

struct Rela {
  uint64_t offset;
  uint64_t info;
  int64_t addend;
};

constexpr int64_t DT_NULL = 0;
constexpr int64_t DT_RELA = 7;
constexpr int64_t DT_RELASZ = 8;
constexpr int64_t DT_RELAENT = 9;
constexpr int64_t DT_TEXTREL = 22;
constexpr int64_t DT_RELACOUNT = 0x6ffffff9;

constexpr uint32_t R_X86_64_NONE = 0;
constexpr uint32_t R_X86_64_RELATIVE = 8;

enum class RelocStatus : uint32_t {
  ok = 0,
  unsupported_type,  // an entry of a type other than NONE/RELATIVE
  bad_entry_size,    // DT_RELAENT is not sizeof(Rela)
  missing_size,      // DT_RELA present without DT_RELASZ
};

struct RelocResult {
  RelocStatus status;
  uint32_t bad_type;    // for unsupported_type
  uint64_t bad_offset;  // r_offset of the refused entry
  uint64_t applied;     // number of RELATIVE entries applied
};

// `base` is the load address (link address 0); `dynamic` points at the
// loaded image's .dynamic array.
RelocResult apply_relocations(uintptr_t base, const Dyn* dynamic);

}  // namespace elf
