// A reference model of one linear-address access under 4- and 5-level
// paging: does it fault, with which #PF error code, and which accessed and
// dirty flags does it leave behind. Portable (no hardware access), so the
// host tests check it against the manuals' rules case by case, and the
// guest `access` test checks the CPU against it combination by
// combination.
//
// The rules, and where they come from:
//  - The walk (Intel SDM vol.3 §4.5, AMD APM vol.2 §5.3): from the root
//    entry (PML5E with CR4.LA57, else PML4E) down to the leaf, a PDPTE with
//    PS=1 (1 GiB), a PDE with PS=1 (2 MiB) or a PTE (4 KiB). The first entry
//    with P=0 ends the walk in a not-present fault (SDM §4.7, APM §5.4.1).
//  - Reserved bits (SDM §4.5 tables 4-14 to 4-20, §4.7; APM §5.3.3,
//    §8.4.2): a present entry with a reserved bit set ends the walk in a
//    fault with P=1 and RSVD=1. The model knows two reserved bits: a
//    physical-address bit at or above MAXPHYADDR (Entry::rsvd), and XD
//    (bit 63) while IA32_EFER.NXE = 0 (SDM §4.5: "If IA32_EFER.NXE = 0 and
//    the P flag ... is 1, the XD flag is reserved"; APM §5.3.3).
//  - Access rights (SDM §4.6.1, APM §5.6): an address is a user-mode address
//    when U/S = 1 in every entry of the walk, writable when R/W = 1 in every
//    entry, executable when XD = 0 in every entry (XD counts only with
//    EFER.NXE = 1). Accesses at CPL3 are user-mode; at CPL < 3, and the
//    implicit accesses to system structures (GDT, LDT, IDT, TSS) at any CPL,
//    are supervisor-mode (SDM §4.6).
//      user read:    user-mode address.
//      user write:   user-mode and writable.
//      user fetch:   user-mode and executable.
//      super read:   a supervisor-mode address; a user-mode address only
//                    with CR4.SMAP = 0, or SMAP = 1, EFLAGS.AC = 1 and an
//                    explicit access (SDM §4.6.1, "Data reads").
//      super write:  as the read, and writable too when CR0.WP = 1 (SDM
//                    §4.6.1, "Data writes"; APM §5.6.4 for WP).
//      super fetch:  executable, and not a user-mode address when
//                    CR4.SMEP = 1 (SDM §4.6.1, "Instruction fetches";
//                    APM §5.6.5 SMEP, §5.6.6 SMAP).
//  - Protection keys (SDM §4.6.2; APM §5.6.7 for PKU): with CR4.PKE, a data
//    access to a user-mode address whose leaf carries key i is denied when
//    PKRU.AD[i] = 1, or when PKRU.WD[i] = 1 and it is a write that is a
//    user-mode access or happens with CR0.WP = 1. CR4.PKS does the same
//    with IA32_PKRS for supervisor-mode addresses. Fetches are never
//    checked against keys. A denial faults with PK = 1 whether or not the
//    ordinary rights also deny the access (SDM §4.7, the PK flag: its
//    conditions name the key rights alone).
//  - The error code (SDM §4.7 figure 4-12, APM §8.4.2): P (protection,
//    not not-present), W/R (a write), U/S (a user-mode access, so 0 for
//    implicit supervisor accesses at CPL3), RSVD, I/D (an instruction
//    fetch, reported only when CR4.SMEP = 1 or EFER.NXE = 1), PK.
//  - Accessed and dirty flags (SDM §4.8, APM §5.4.2): a translation that
//    completes sets A in every entry it used and, for a write, D in the
//    leaf. A protection fault (the walk reached a present leaf) sets A in
//    every upper entry, while A in the leaf is model specific (SDM vol.3
//    §6.15, interrupt 14, the footnote to the error-code figure: "the
//    access flag in the page-directory entry is set when the fault occurs
//    ... the access flag in the corresponding page-table entry is model
//    specific"), so the model says `any` for the leaf. A not-present or
//    reserved-bit fault sets no flag in the entry that ended the walk or
//    below it; A in the entries above it is left open (`any`). No fault
//    sets D.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/pagetable.h"

namespace access_model {

enum class Op : uint8_t { read, write, fetch };
enum class Mode : uint8_t { user, supervisor, implicit_supervisor };
struct Access {
  Op op = Op::read;
  Mode mode = Mode::supervisor;
};
const char* op_str(Op op);      // "read", "write", "fetch"
const char* mode_str(Mode m);   // "user", "supervisor", "implicit supervisor"

enum class PageSize : uint8_t { k4K, k2M, k1G };
const char* page_size_str(PageSize s);  // "4K", "2M", "1G"

// One paging-structure entry as the test sets it. The defaults grant
// everything: present, writable, user, executable, accessed and dirty.
// `d` only matters in the leaf (in other entries bit 6 is ignored).
struct Entry {
  bool p = true;
  bool rw = true;
  bool us = true;
  bool nx = false;
  bool a = true;
  bool d = true;
  bool rsvd = false;  // a physical-address bit at or above MAXPHYADDR
  constexpr bool operator==(const Entry&) const = default;
};

// The registers the outcome depends on.
struct Controls {
  bool wp = false;    // CR0.WP
  bool smep = false;  // CR4.SMEP
  bool smap = false;  // CR4.SMAP
  bool pke = false;   // CR4.PKE
  bool pks = false;   // CR4.PKS
  bool nxe = true;    // IA32_EFER.NXE
  bool ac = false;    // EFLAGS.AC
  uint32_t pkru = 0;  // PKRU: AD[i] = bit 2i, WD[i] = bit 2i+1
  uint32_t pkrs = 0;  // IA32_PKRS, the same layout
  constexpr bool operator==(const Controls&) const = default;
};

// The PKRU / IA32_PKRS bits for key i (SDM §4.6.2).
constexpr uint32_t pkr_ad(unsigned key) { return 1u << (2 * key); }
constexpr uint32_t pkr_wd(unsigned key) { return 1u << (2 * key + 1); }

constexpr int kMaxEntries = 5;

struct Walk {
  int levels = 4;                 // 4 or 5 (CR4.LA57)
  PageSize size = PageSize::k4K;  // the leaf
  Entry entry[kMaxEntries];       // entry[0] is the root entry, entry[count()-1] the leaf
  uint8_t pkey = 0;               // the leaf's protection key, bits 62:59
  // Entries in the walk: 4K: levels, 2M: levels - 1, 1G: levels - 2.
  constexpr int count() const {
    return levels - (size == PageSize::k4K ? 0 : size == PageSize::k2M ? 1 : 2);
  }
  constexpr Entry& leaf() { return entry[count() - 1]; }
  constexpr const Entry& leaf() const { return entry[count() - 1]; }
};

// The name of entry i of a walk: "PML5E", "PML4E", "PDPTE", "PDE", "PTE".
const char* entry_name(const Walk& w, int i);

// #PF error code bits (SDM §4.7, APM §8.4.2), named once in cpu/pagetable.h.
namespace pfec = paging::pf_error;

// A flag after the access: it must read 0, must read 1, or either.
enum class Flag : uint8_t { clear, set, any };
const char* flag_str(Flag f);  // "0", "1", "0 or 1"
constexpr bool flag_matches(Flag f, bool v) {
  return f == Flag::any || (f == Flag::set) == v;
}

struct Outcome {
  bool fault = false;
  uint32_t error_code = 0;     // when fault
  int fault_entry = -1;        // the entry that ended the walk (not present or reserved), else -1
  Flag a[kMaxEntries] = {};    // A of each entry after the access
  Flag d = Flag::clear;        // D of the leaf after the access
};

Outcome evaluate(const Walk& w, const Controls& c, Access acc);

// The combination in words, for failure lines: the access, every entry
// bit that differs from the granting default ("PTE.RW=0"), the key, and
// the controls, e.g. "user write, 4K, PTE.RW=0, CR0.WP=1, SMEP=0, SMAP=1,
// AC=0, NXE=1". Returns buf.
const char* describe(char* buf, size_t size, const Walk& w, const Controls& c, Access acc);
// "#PF(0x7)" or "none".
const char* outcome_str(char* buf, size_t size, const Outcome& o);

// --- The combination spaces the guest test walks ----------------------
//
// A combination is a mixed-radix number over these dimensions:
//   access       6: {user, supervisor} x {read, write, fetch}, or 8 with
//                implicit supervisor reads and writes
//   controls     WP x SMEP x SMAP x AC (each 0/1 when the space varies it)
//   keys         5: no keys; PKE with AD or WD on key 1; PKS with AD or WD
//                on key 1 (key 0 is always allowed), times the leaf's key
//                (0 or 1)
//   leaf         every subset of the leaf flags the space varies
//   upper        the upper entries: all granting, or one flag of one upper
//                entry flipped from its default (P, RW, US, NX, A, RSVD),
//                or (`upper_cross`) every RW/US/NX triple of every upper
//                entry at once
// Spaces drop dimensions the CPU cannot run (no SMEP: SMEP stays 0), so
// that the guest's count is what it really ran.
namespace leafbit {
constexpr uint32_t P = 1u << 0, RW = 1u << 1, US = 1u << 2, NX = 1u << 3, A = 1u << 4,
                   D = 1u << 5, RSVD = 1u << 6;
constexpr uint32_t kAll = (1u << 7) - 1;
}  // namespace leafbit

struct Space {
  int levels = 4;
  PageSize size = PageSize::k4K;
  bool implicit = false;   // include implicit supervisor reads and writes
  bool vary_wp = true, vary_smep = false, vary_smap = false, vary_ac = false;
  bool pke = false, pks = false;  // include the key variants
  bool nxe = true;                // EFER.NXE as it is (not varied)
  uint32_t leaf_bits = leafbit::kAll;  // which leaf flags vary
  bool rsvd = true;                    // Entry::rsvd may be set (a MAXPHYADDR bit exists)
  bool upper_single = true;            // one upper flag at a time
  bool upper_cross = false;            // RW/US/NX of all upper entries at once
};

struct Combination {
  Walk walk;
  Controls controls;
  Access access;
};

uint64_t count(const Space& s);
// Combination `index` (< count(s)) of the space.
Combination combination(const Space& s, uint64_t index);

}  // namespace access_model
