// One VT-d remapping unit, driven through its registers (guest only; the
// encodings are in iommu/vtd.h).
//
// Contract:
//  - Every wait for the unit is bounded (kTimeoutNs); a unit that does
//    not answer in time makes the call return false, never hang.
//  - GCMD is written the way §10.4.4 asks: from GSTS with the one-shot
//    bits dropped, one command per write, then GSTS polled until it shows
//    the change.
//  - When ECAP.C is clear the unit's page walks do not snoop the CPU
//    caches (§10.4.3, ECAP.C): sync() writes back what the CPU wrote to a table
//    before the unit is told to look at it.
//  - Register-based invalidation is only used while queued invalidation
//    is off (§6.5: with QIE set, software must use the queue).
#pragma once

#include <cstddef>
#include <cstdint>

#include "iommu/vtd.h"

namespace vtd {

class Unit {
 public:
  static constexpr uint64_t kTimeoutNs = 200'000'000;

  // Reads VER, CAP and ECAP from the register page at `base`.
  bool init(uint64_t base);
  uint64_t base() const { return base_; }
  uint32_t version() const { return version_; }
  const Capability& cap() const { return cap_; }
  const ExtCapability& ecap() const { return ecap_; }
  uint64_t raw_cap() const { return raw_cap_; }
  uint64_t raw_ecap() const { return raw_ecap_; }

  uint32_t read32(uint32_t off) const;
  uint64_t read64(uint32_t off) const;
  void write32(uint32_t off, uint32_t v) const;
  void write64(uint32_t off, uint64_t v) const;

  uint32_t gsts() const { return read32(reg::kGsts); }
  uint32_t fsts() const { return read32(reg::kFsts); }

  // Writes GCMD for `set`/`clear`, then waits until GSTS shows every bit
  // of `set` set and every bit of `clear` clear (GCMD and GSTS share bit
  // positions; WBF is done when WBFS is clear again).
  bool command(uint32_t set, uint32_t clear);

  // RTADDR (legacy mode) then SRTP; true once GSTS.RTPS is set.
  bool set_root_table(PhysAddr root);
  bool translation(bool on) { return on ? command(gcmd::kTe, 0) : command(0, gcmd::kTe); }

  // Register-based global invalidations; the actual granularity the unit
  // reports (CAIG, IAIG), or 0 when it did not complete in time.
  uint8_t invalidate_context_global();
  uint8_t invalidate_iotlb_global();

  FaultRecord fault_record(unsigned i) const;
  void clear_fault(unsigned i) const;
  // Clears every fault record and the sticky FSTS error bits.
  void clear_faults() const;

  // Queued invalidation over the zeroed queue pages at `queue`.
  bool qi_enable(PhysAddr queue, unsigned pages_log2);
  bool qi_disable();
  // Appends `n` descriptors, moves the tail, waits until the head reaches
  // it. False on time-out or when FSTS.IQE is raised (the head then points
  // at the descriptor the unit refused).
  bool qi_submit(const Descriptor* d, size_t n);
  uint32_t qi_head() const { return queue_index(read64(reg::kIqh)); }
  uint32_t qi_tail() const { return tail_; }
  // Rewrites the descriptor at `index` (to repair one the unit refused).
  void qi_rewrite(uint32_t index, const Descriptor& d);
  // Writes IQT again with the current tail and waits for the head.
  bool qi_resume();

  bool set_interrupt_table(PhysAddr table, uint32_t entries, bool x2apic);
  bool interrupt_remapping(bool on);

  // Makes CPU writes to [p, p+len) visible to a non-coherent unit.
  void sync(const volatile void* p, size_t len) const;

 private:
  bool wait_queue();

  uint64_t base_ = 0;
  uint32_t version_ = 0;
  uint64_t raw_cap_ = 0, raw_ecap_ = 0;
  Capability cap_{};
  ExtCapability ecap_{};
  Descriptor* queue_ = nullptr;
  uint32_t queue_len_ = 0;
  uint32_t tail_ = 0;
};

}  // namespace vtd
