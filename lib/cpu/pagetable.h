// x86-64 page tables (AMD APM vol.2 §5.3, Intel SDM vol.3 §4.5), portable.
//
// The builder knows nothing about where table pages live: a PageMemory
// supplies zeroed table pages and says where the code can reach a table page
// by its physical address. In the guest that is the identity map; in host
// unit tests it is a simulated physical memory. So the same code builds the
// boot page tables, serves tests that change mappings, and is unit-tested on
// the host.
//
// Contract:
//  - map() uses the largest page size allowed by alignment, by `max_page`
//    and by PageMemory::max_page; it splits an existing large page when a
//    sub-range gets different attributes, preserving the rest.
//  - Non-leaf entries are always P|RW|US with NX clear: the effective rights
//    come from the leaf alone.
//  - `enc_mask` (the SEV C-bit) is ORed into the address of every entry
//    whose attributes are not `shared`, and into every table pointer.
//  - No TLB flushing here; callers flush (see lib/mem/paging.h in the guest).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/addr.h"

namespace paging {

// CR3 bits 51:12 hold the root; the low bits are PCID or PWT/PCD (SDM vol.3
// §4.5, table 4-12).
constexpr uint64_t kCr3RootMask = 0x000ffffffffff000ull;
constexpr uint64_t kCr3Pwt = 1ull << 3;  // without CR4.PCIDE
constexpr uint64_t kCr3Pcd = 1ull << 4;  // without CR4.PCIDE
// With CR4.PCIDE set, CR3[11:0] is the current PCID (SDM vol.3 §4.10.1),
// and bit 63 of a MOV to CR3 source asks that the new PCID's translations
// be kept; it is never stored (SDM vol.3 §4.10.4.1, vol.2B "MOV—Move
// to/from Control Registers"; AMD APM vol.2 §3.1.2).
constexpr uint64_t kCr3PcidMask = 0xfffull;
constexpr uint64_t kCr3NoFlush = 1ull << 63;

// #PF error code bits (Intel SDM vol.3 §4.7, AMD APM vol.2 §8.4.2).
namespace pf_error {
constexpr uint32_t P = 1u << 0;     // protection violation (else not present)
constexpr uint32_t W = 1u << 1;     // a write
constexpr uint32_t U = 1u << 2;     // at CPL3
constexpr uint32_t RSVD = 1u << 3;  // a reserved bit set in a paging entry
constexpr uint32_t ID = 1u << 4;    // an instruction fetch
constexpr uint32_t PK = 1u << 5;    // protection key
}  // namespace pf_error

// Leaf attributes, named; converted to PTE bits by the builder.
struct Attr {
  bool write = false;
  bool user = false;
  bool nx = true;
  bool pwt = false;
  bool pcd = false;
  bool pat = false;
  bool global = false;
  bool shared = false;  // SEV: clear the C-bit; TDX: set the shared bit
  uint8_t pkey = 0;     // protection key, bits 62:59

  static constexpr Attr code() { return Attr{.write = false, .nx = false}; }
  static constexpr Attr rodata() { return Attr{}; }
  static constexpr Attr data() { return Attr{.write = true}; }
  static constexpr Attr mmio() { return Attr{.write = true, .pwt = true, .pcd = true}; }
  constexpr bool operator==(const Attr&) const = default;
};

// Raw PTE bits (AMD APM vol.2 §5.4.1).
namespace pte {
constexpr uint64_t P = 1ull << 0;
constexpr uint64_t RW = 1ull << 1;
constexpr uint64_t US = 1ull << 2;
constexpr uint64_t PWT = 1ull << 3;
constexpr uint64_t PCD = 1ull << 4;
constexpr uint64_t A = 1ull << 5;
constexpr uint64_t D = 1ull << 6;
constexpr uint64_t PS = 1ull << 7;       // in PDPTE/PDE: large page
constexpr uint64_t PAT_4K = 1ull << 7;   // in PTE
constexpr uint64_t G = 1ull << 8;
constexpr uint64_t PAT_LARGE = 1ull << 12;
constexpr uint64_t NX = 1ull << 63;
// Bits 51:12: the next table, or the frame of a 4 KiB leaf (SDM vol.3
// §4.5, APM vol.2 §5.4.1); large leaves use fewer of them.
constexpr uint64_t kFrame = 0x000ffffffffff000ull;
constexpr unsigned kPkeyShift = 59;
constexpr uint64_t kPkeyMask = 0xfull << kPkeyShift;
}  // namespace pte

struct PageMemory {
  void* ctx = nullptr;
  // A zeroed 4 KiB table page, or PhysAddr(~0ull) when exhausted.
  PhysAddr (*alloc_table)(void* ctx) = nullptr;
  // Where a table page at `pa` can be read and written.
  uint64_t* (*table)(void* ctx, PhysAddr pa) = nullptr;
  uint64_t max_page = kHugePageSize;  // largest leaf the CPU supports
  uint64_t enc_mask = 0;              // SEV C-bit
  uint64_t shared_mask = 0;           // TDX shared bit
};

enum class MapStatus : uint32_t {
  ok = 0,
  out_of_tables,
  misaligned,      // va, pa or size not 4 KiB aligned
  non_canonical,   // va outside the canonical range for the paging mode
  not_mapped,      // protect/unmap of a range with a hole
};
const char* map_status_str(MapStatus s);

struct Translation {
  PhysAddr pa;          // the translated address (page base + offset)
  uint64_t page_size;   // 4 KiB, 2 MiB or 1 GiB
  Attr attr;
  uint64_t* entry;      // the leaf entry, for tests that poke A/D bits
};

class PageTable {
 public:
  // levels: 4 (48-bit) or 5 (LA57, 57-bit).
  PageTable(const PageMemory& mem, PhysAddr root, int levels);
  // Allocates a fresh root. Returns false if no table page was available.
  static bool create(const PageMemory& mem, int levels, PageTable* out);

  MapStatus map(VirtAddr va, PhysAddr pa, uint64_t size, Attr attr,
                uint64_t max_page = kHugePageSize);
  MapStatus unmap(VirtAddr va, uint64_t size);
  MapStatus protect(VirtAddr va, uint64_t size, Attr attr);
  // False when va is not mapped.
  bool lookup(VirtAddr va, Translation* out) const;
  // The entries that translate va, root first (PML5E or PML4E) down to the
  // leaf, for tests that set bits in upper entries too. Returns how many
  // it stored in `out`, 0 when va is not mapped.
  int walk(VirtAddr va, uint64_t* out[5]) const;

  PhysAddr root() const { return root_; }
  int levels() const { return levels_; }
  uint64_t tables_allocated() const { return tables_; }

 private:
  PageMemory mem_;
  PhysAddr root_;
  int levels_;
  uint64_t tables_ = 0;
};

}  // namespace paging
