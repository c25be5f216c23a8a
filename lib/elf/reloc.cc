// Self-relocator. Runs before any relocation is applied, so this file must
// stay free of anything that needs one: no pointer-valued data, no global
// constructors, and only if/else chains (a dense switch may become a jump
// table of absolute addresses). Everything here is locals and arithmetic.
#include "elf/reloc.h"

namespace elf {
namespace {

// ELF-64 Object File Format §"Relocation Entries": the type is the low 32
// bits of r_info, the symbol index the high 32 bits.
constexpr uint32_t rela_type(uint64_t info) { return static_cast<uint32_t>(info); }

// Built field by field: clang at -O0 lowers a braced all-zero initialiser
// to a memset call, which this file must not depend on.
RelocResult result(RelocStatus status, uint32_t type, uint64_t offset, uint64_t applied) {
  RelocResult r;
  r.status = status;
  r.bad_type = type;
  r.bad_offset = offset;
  r.applied = applied;
  return r;
}

}  // namespace

RelocResult apply_relocations(uintptr_t base, const Dyn* dynamic) {
  uint64_t rela_off = 0;
  uint64_t rela_size = 0;
  uint64_t rela_ent = 0;
  bool have_rela = false;
  bool have_size = false;
  // Selects rather than an if/else chain: the tags are dense (7, 8, 9) and
  // clang folds such a chain into a jump table.
  for (const Dyn* d = dynamic; d->tag != DT_NULL; ++d) {
    const bool is_rela = d->tag == DT_RELA;
    const bool is_size = d->tag == DT_RELASZ;
    const bool is_ent = d->tag == DT_RELAENT;
    rela_off = is_rela ? d->val : rela_off;
    rela_size = is_size ? d->val : rela_size;
    rela_ent = is_ent ? d->val : rela_ent;
    have_rela = have_rela || is_rela;
    have_size = have_size || is_size;
  }

  if (!have_rela) return result(RelocStatus::ok, 0, 0, 0);
  if (!have_size) return result(RelocStatus::missing_size, 0, 0, 0);
  // The ELF gABI makes DT_RELAENT mandatory next to DT_RELA; a missing one
  // reads as 0 and is refused like any other wrong size. A table whose size
  // is not a whole number of entries is just as malformed.
  if (rela_ent != sizeof(Rela) || rela_size % sizeof(Rela) != 0)
    return result(RelocStatus::bad_entry_size, 0, 0, 0);

  const Rela* table = reinterpret_cast<const Rela*>(base + rela_off);
  const uint64_t count = rela_size / sizeof(Rela);

  // Validate everything before writing anything: a half-relocated image is
  // worse than an unrelocated one, because the failure report itself would
  // run on inconsistent data.
  for (uint64_t i = 0; i < count; ++i) {
    const uint32_t type = rela_type(table[i].info);
    if (type != R_X86_64_NONE && type != R_X86_64_RELATIVE)
      return result(RelocStatus::unsupported_type, type, table[i].offset, 0);
  }

  uint64_t applied = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (rela_type(table[i].info) != R_X86_64_RELATIVE) continue;
    // B + A (System V x86-64 psABI §4.4, R_X86_64_RELATIVE).
    *reinterpret_cast<uint64_t*>(base + table[i].offset) =
        static_cast<uint64_t>(base) + static_cast<uint64_t>(table[i].addend);
    ++applied;
  }
  return result(RelocStatus::ok, 0, 0, applied);
}

}  // namespace elf
