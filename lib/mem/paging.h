// The live page table, for tests (guest only; the portable builder, the
// page-table format itself, is in cpu/pagetable.h). A service of the memory
// layer: it takes table pages from mem::alloc_pages and knows the boot
// tables' root from BootInfo.
//
// Everything here edits the table CR3 points to, through the identity map,
// with new table pages from mem::alloc_pages, and flushes the TLBs
// afterwards. Edits serialise on one lock.
//
// Other CPUs (the shootdown): every flush bumps a TLB generation, and a
// CPU that has not flushed for the newest one flushes its whole TLB before
// it runs anything more a test gave it: an AP before it takes its next
// on_cpu call, and the caller of on_cpu, on_cpus or wait_idle as soon as
// the calls it waited for are done (lib/smp). So a mapping changed between
// calls, on any CPU, is seen by every CPU in its next call. A CPU in the
// middle of a call keeps what its TLB holds until that call ends: a test
// that changes a mapping a running call uses must synchronise with it
// (end the call, or have it call paging::catch_up()). No IPI is needed,
// which matters because calls run with interrupts disabled.
//
// Paging mode: 4-level, or 5-level when the firmware handed over with
// CR4.LA57 set. LA57 can only change with paging off (Intel SDM vol.3
// §4.1.1: MOV to CR4 that changes LA57 in IA-32e mode raises #GP; AMD APM
// vol.2 §5.3.1), so a test cannot switch modes; it checks levels() instead.
//
// Attributes are named (paging::Attr): RW as `write`, US as `user`, NX,
// PWT/PCD/PAT (the PAT index), the protection key; P is cleared by unmap().
// Accessed/dirty bits are the hardware's: a test reads or clears them
// through Translation::entry (pte::A, pte::D) and flushes afterwards.
//
// Tests must leave the mappings as they found them: SavedRange snapshots a
// range and puts it back when it goes out of scope, whatever the test did
// in between.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cpu/addr.h"
#include "cpu/pagetable.h"

namespace paging {

// The architectural bits (CR3, PTEs, the #PF error code) are in
// cpu/pagetable.h.

// The table CR3 points to now.
PageTable live();
// 4 or 5.
int levels();

// A copy of the live table at `levels` (4 or 5) levels, for a switch of
// paging mode through cpu/modeswitch: every leaf mapped at the same
// address with the same frame and attributes (addresses a 4-level table
// cannot hold are left out), every table page below 4 GiB, since CR3 is
// loaded in 32-bit mode. False when table memory runs out or a leaf of the
// live table cannot be looked up; `leaves` counts the leaves copied.
bool copy_live(int levels, PageTable* out, uint64_t* leaves);

// Each edits the live table under the lock, then flushes the range.
MapStatus map(VirtAddr va, PhysAddr pa, uint64_t size, Attr attr);
MapStatus unmap(VirtAddr va, uint64_t size);
// The same attributes over the whole range.
MapStatus protect(VirtAddr va, uint64_t size, Attr attr);
// Per leaf: each mapped piece gets change(its current attributes). The
// whole range must be mapped (else not_mapped, and nothing changes).
MapStatus update(VirtAddr va, uint64_t size, Attr (*change)(Attr, void*), void* ctx);
template <typename F>
MapStatus update(VirtAddr va, uint64_t size, F&& change) {
  using Fn = std::remove_reference_t<F>;
  return update(va, size, [](Attr a, void* c) { return (*static_cast<Fn*>(c))(a); },
                const_cast<void*>(static_cast<const void*>(&change)));
}

// False when va is not mapped.
bool lookup(VirtAddr va, Translation* out);
// The live entries that translate va, root first, leaf last (see
// PageTable::walk); 0 when va is not mapped. Writing them is the caller's
// business, and so is the flush.
int walk(VirtAddr va, uint64_t* out[5]);

// This CPU's TLB for [va, va+size): INVLPG per page up to kInvlpgLimit
// pages, a full flush beyond (SDM vol.3 §4.10.4.1).
constexpr uint64_t kInvlpgLimit = 64;
void flush(VirtAddr va, uint64_t size);
// Every translation of every PCID, global ones too: CR4.PGE toggled (SDM
// vol.3 §4.10.4.1).
void flush_all();
// Flushes this CPU's whole TLB if any CPU flushed since it last did (see
// the shootdown above); true when it did.
bool catch_up();

// A snapshot of the translations of [va, va+size) (4 KiB aligned), put
// back when the object dies: mapped pieces are remapped to the same frames
// with the same attributes, unmapped pieces are unmapped again. Accessed
// and dirty bits are not restored. Pieces are found leaf by leaf, holes
// page by page, so snapshot mapped ranges, not vast holes.
class SavedRange {
 public:
  SavedRange(VirtAddr va, uint64_t size);
  ~SavedRange();
  SavedRange(const SavedRange&) = delete;
  SavedRange& operator=(const SavedRange&) = delete;

  // False if the snapshot could not be stored (no heap): nothing will be
  // restored, and the caller should not go on to change the range.
  bool ok() const { return ok_; }
  // Puts the range back now (idempotent; the destructor calls it).
  void restore();

 private:
  struct Piece {
    uint64_t va, pa, size;
    Attr attr;
    bool mapped;
  };
  bool append(const Piece& p);

  Piece* pieces_ = nullptr;
  size_t count_ = 0, cap_ = 0;
  bool ok_ = true;
  bool restored_ = false;
};

// SavedRange plus update(): the attribute change lasts for the scope.
class ScopedAttr {
 public:
  template <typename F>
  ScopedAttr(VirtAddr va, uint64_t size, F&& change) : saved_(va, size) {
    status_ = saved_.ok() ? update(va, size, static_cast<F&&>(change)) : MapStatus::out_of_tables;
  }
  MapStatus status() const { return status_; }
  bool ok() const { return status_ == MapStatus::ok; }

 private:
  SavedRange saved_;
  MapStatus status_;
};

}  // namespace paging
