// Nested page tables (AMD APM vol.2 §15.25), built with the framework's own
// page-table code (lib/cpu/pagetable.h): the nested table has the format of
// a long-mode page table indexed by guest-physical address, so there is no
// second builder.
//
// Contract:
//  - init() identity-maps guest-physical [0, max(4 GiB, top of RAM)) to the
//    same host-physical addresses, leaves of at most `max_page`, writable,
//    executable and user: every guest access is a user access to the
//    nested table (APM §15.25.5), so a supervisor leaf faults.
//  - Tests change entries with table().map/protect/unmap, then make the
//    change visible to L2 through TLB_CONTROL or INVLPGA (APM §15.16);
//    nothing here flushes.
//  - attach() turns NP_ENABLE on in a guest and points N_CR3 here; L2's
//    CR3 is then a guest-physical address, the same value under the
//    identity map.
#pragma once

#include <cstdint>

#include "cpu/pagetable.h"
#include "svm/svm.h"

namespace svm {

class Npt {
 public:
  static constexpr paging::Attr kRwx{.write = true, .user = true, .nx = false};

  [[nodiscard]] bool init(uint64_t max_page = kHugePageSize);
  paging::PageTable& table() { return table_; }
  uint64_t ncr3() const { return table_.root().value; }
  void attach(Guest& g) const;

 private:
  paging::PageTable table_{paging::PageMemory{}, PhysAddr(), 4};
};

}  // namespace svm
