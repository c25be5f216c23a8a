#include "iommu/unit.h"

#include "cpu/processor.h"
#include "timer/clock.h"

namespace vtd {

bool Unit::init(uint64_t base) {
  base_ = base;
  version_ = read32(reg::kVer);
  raw_cap_ = read64(reg::kCap);
  raw_ecap_ = read64(reg::kEcap);
  cap_ = decode_cap(raw_cap_);
  ecap_ = decode_ecap(raw_ecap_);
  return version_ != 0xffffffffu && raw_cap_ != ~0ull;
}

uint32_t Unit::read32(uint32_t off) const {
  return *reinterpret_cast<volatile uint32_t*>(base_ + off);
}
uint64_t Unit::read64(uint32_t off) const {
  return *reinterpret_cast<volatile uint64_t*>(base_ + off);
}
void Unit::write32(uint32_t off, uint32_t v) const {
  *reinterpret_cast<volatile uint32_t*>(base_ + off) = v;
}
void Unit::write64(uint32_t off, uint64_t v) const {
  *reinterpret_cast<volatile uint64_t*>(base_ + off) = v;
}

bool Unit::command(uint32_t set, uint32_t clear) {
  write32(reg::kGcmd, gcmd_value(gsts(), set, clear));
  // A one-shot command is done when its status bit is set (RTPS, IRTPS,
  // FLS), except WBF: WBFS is set while the flush runs and clear after.
  const uint32_t want_set = set & ~gcmd::kWbf;
  const uint32_t want_clear = clear | (set & gcmd::kWbf);
  return timer::wait_until(
      [&] {
        const uint32_t s = gsts();
        return (s & want_set) == want_set && (s & want_clear) == 0;
      },
      kTimeoutNs);
}

bool Unit::set_root_table(PhysAddr root) {
  write64(reg::kRtaddr, rtaddr_legacy(root));
  return command(gcmd::kSrtp, 0);
}

uint8_t Unit::invalidate_context_global() {
  write64(reg::kCcmd, ccmd::kIcc | ccmd::kGlobal);
  if (!timer::wait_until([&] { return !(read64(reg::kCcmd) & ccmd::kIcc); }, kTimeoutNs)) return 0;
  return static_cast<uint8_t>((read64(reg::kCcmd) >> ccmd::kCaigShift) & 3);
}

uint8_t Unit::invalidate_iotlb_global() {
  const uint32_t off = ecap_.iotlb_offset + reg::kIotlbFromIro;
  write64(off, iotlb::kIvt | iotlb::kGlobal | iotlb::kDrainReads | iotlb::kDrainWrites);
  if (!timer::wait_until([&] { return !(read64(off) & iotlb::kIvt); }, kTimeoutNs)) return 0;
  return static_cast<uint8_t>((read64(off) >> iotlb::kIaigShift) & 3);
}

FaultRecord Unit::fault_record(unsigned i) const {
  const uint32_t off = cap_.fault_offset + 16 * i;
  return decode_fault(read64(off), read64(off + 8));
}

void Unit::clear_fault(unsigned i) const {
  // F is write-one-to-clear, in the top dword of the record (§10.4.14).
  write32(cap_.fault_offset + 16 * i + 12, static_cast<uint32_t>(kFaultRecordF >> 32));
}

void Unit::clear_faults() const {
  for (unsigned i = 0; i < cap_.fault_records; ++i) clear_fault(i);
  write32(reg::kFsts, fsts::kPfo | fsts::kIqe | fsts::kIce | fsts::kIte);
}

bool Unit::qi_enable(PhysAddr queue, unsigned pages_log2) {
  queue_ = reinterpret_cast<Descriptor*>(queue.value);
  queue_len_ = descriptors_per_page << pages_log2;
  tail_ = 0;
  // §6.5.2: the tail must equal the head (0 after a reset) when QIE is set.
  write64(reg::kIqt, 0);
  write64(reg::kIqa, iqa_value(queue, pages_log2));
  return command(gcmd::kQie, 0);
}

bool Unit::qi_disable() {
  if (!wait_queue()) return false;
  return command(0, gcmd::kQie);
}

void Unit::qi_rewrite(uint32_t index, const Descriptor& d) {
  queue_[index % queue_len_] = d;
  sync(&queue_[index % queue_len_], sizeof(Descriptor));
}

bool Unit::wait_queue() {
  return timer::wait_until([&] { return qi_head() == tail_ || (fsts() & fsts::kIqe); },
                           kTimeoutNs) &&
         qi_head() == tail_ && !(fsts() & fsts::kIqe);
}

bool Unit::qi_submit(const Descriptor* d, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    queue_[tail_] = d[i];
    sync(&queue_[tail_], sizeof(Descriptor));
    tail_ = (tail_ + 1) % queue_len_;
  }
  write64(reg::kIqt, queue_offset(tail_));
  return wait_queue();
}

bool Unit::qi_resume() {
  write64(reg::kIqt, queue_offset(tail_));
  return wait_queue();
}

bool Unit::set_interrupt_table(PhysAddr table, uint32_t entries, bool x2apic) {
  write64(reg::kIrta, irta_value(table, entries, x2apic));
  return command(gcmd::kSirtp, 0);
}

bool Unit::interrupt_remapping(bool on) {
  return on ? command(gcmd::kIre, 0) : command(0, gcmd::kIre);
}

void Unit::sync(const volatile void* p, size_t len) const {
  if (ecap_.coherent) return;
  const uintptr_t start = reinterpret_cast<uintptr_t>(p) & ~uintptr_t(63);
  const uintptr_t end = reinterpret_cast<uintptr_t>(p) + len;
  if (cpu::has(cpu::feature::kClflush)) {
    for (uintptr_t a = start; a < end; a += 64)
      asm volatile("clflush (%0)" ::"r"(a) : "memory");
    asm volatile("mfence" ::: "memory");
  } else {
    asm volatile("wbinvd" ::: "memory");
  }
}

}  // namespace vtd
