// pci: configuration space through ECAM (from ACPI MCFG) and through the
// legacy port mechanism agrees, absent functions read as all ones, and a
// software-owned register written through one mechanism reads back through
// the other.
//
// The host bridge at 00:00.0 must be there on every PC. Only the first 64
// bytes of each function are compared between the mechanisms: past that,
// registers of some devices change between two reads.
#include <cstdint>

#include "pci/pci.h"
#include "rt/report.h"

namespace {

// Standard type-0/1 header: the interrupt line is scratch for software
// (PCI Local Bus 3.0 §6.2.4), so tests may write it.
constexpr uint16_t kInterruptLine = 0x3c;
constexpr uint32_t kClassHostBridge = 0x0600;

void enumerate() {
  ReportPrefix p("enumerate");
  unsigned functions = 0, bridges = 0;
  functions = pci::for_each_function([&](pci::Bdf f) {
    uint32_t cr = pci::read32(f, pci::cfg::kClassRevision);
    if ((cr >> 16) == 0x0604) ++bridges;
  });
  report(functions > 0, "%u functions on segment 0 (%u PCI-to-PCI bridges)", functions, bridges);
  pci::Bdf host{};
  uint32_t id = pci::read32(host, pci::cfg::kVendorId);
  uint32_t cls = pci::read32(host, pci::cfg::kClassRevision) >> 16;
  report_info("00:00.0 is %04x:%04x class %04x", id & 0xffff, id >> 16, cls);
  report(pci::present(host), "a function at 00:00.0");
  report(cls == kClassHostBridge, "00:00.0 is a host bridge (class %04x)", cls);
}

void mechanisms() {
  ReportPrefix p("mechanisms");
  report_info("configuration mechanism: %s", pci::mechanism_str(pci::mechanism()));
  if (pci::mechanism() != pci::Mechanism::ecam) {
    report_skip("no MCFG window below 4 GiB: only the port mechanism is available");
    return;
  }
  unsigned compared = 0, differ = 0;
  pci::for_each_function([&](pci::Bdf f) {
    for (uint16_t off = 0; off < 64; off += 4) {
      ++compared;
      if (pci::read32(f, off) != pci::read32_ports(f, off)) ++differ;
    }
  });
  report(compared > 0 && differ == 0, "ECAM and ports agree on %u registers (%u differ)", compared,
         differ);
  report(pci::ecam_address(pci::Bdf{}, 0) != 0, "00:00.0 lies in an MCFG window");

  pci::Bdf absent{};
  bool found = false;
  for (uint8_t dev = 1; dev < 32 && !found; ++dev) {
    absent.device = dev;
    found = !pci::present(absent);
  }
  if (!found) {
    report_skip("every device number on bus 0 is populated");
  } else {
    report(pci::read32(absent, 0) == 0xffffffff && pci::read32_ports(absent, 0) == 0xffffffff,
           "absent 00:%02x.0 reads all ones both ways", absent.device);
  }
}

void write_read_back() {
  ReportPrefix p("write");
  pci::Bdf target{};
  bool found = false;
  pci::for_each_function([&](pci::Bdf f) {
    // A type-0 header other than the host bridge.
    if (!found && (f.device || f.bus) &&
        (pci::read8(f, pci::cfg::kHeaderType) & 0x7f) == 0) {
      target = f;
      found = true;
    }
  });
  if (!found) {
    report_skip("no type-0 function besides the host bridge");
    return;
  }
  uint32_t old = pci::read32(target, kInterruptLine);
  uint8_t probe = static_cast<uint8_t>((old & 0xff) ^ 0x5a);
  pci::write32(target, kInterruptLine, (old & ~0xffu) | probe);
  uint32_t via_ports = pci::read32_ports(target, kInterruptLine);
  uint32_t via_main = pci::read32(target, kInterruptLine);
  pci::write32(target, kInterruptLine, old);
  report((via_main & 0xff) == probe && (via_ports & 0xff) == probe,
         "interrupt line of %02x:%02x.%u reads back 0x%02x (0x%02x, 0x%02x by ports)", target.bus,
         target.device, target.function, probe, via_main & 0xff, via_ports & 0xff);
  report(pci::read32(target, kInterruptLine) == old, "restored");
}

}  // namespace

int main() {
  enumerate();
  mechanisms();
  write_read_back();
  return report_summary();
}
