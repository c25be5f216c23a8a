#include "boot/reset.h"

#include "acpi/acpi.h"
#include "acpi/platform.h"
#include "boot/bootinfo.h"
#include "cpu/processor.h"

namespace boot {
namespace {

// ACPI 6.5 §5.2.9, Table 5.10: FADT flag RESET_REG_SUP.
constexpr uint32_t kFadtResetRegSup = 1u << 10;

// The reset control register of the PC chipsets (Intel ICH9 datasheet,
// "RST_CNT - Reset Control Register", I/O 0xCF9; PIIX3 the same): bit 1
// SYS_RST (full reset), bit 2 RST_CPU (its 0->1 transition starts it).
constexpr uint16_t kResetControlPort = 0xcf9;
constexpr uint8_t kRstCntSysRst = 1u << 1;
constexpr uint8_t kRstCntRstCpu = 1u << 2;

// The 8042: status port bit 1 is "input buffer full"; command 0xFE pulses
// output port bit 0, the CPU reset line.
constexpr uint16_t kKbcStatusPort = 0x64;
constexpr uint8_t kKbcInputFull = 1u << 1;
constexpr uint8_t kKbcPulseReset = 0xfe;
constexpr int kKbcPolls = 100000;

// Port 0x80 (POST code) writes cost about a microsecond on PC hardware and
// in QEMU; this many give a reset ~100 ms to take effect.
constexpr uint16_t kDelayPort = 0x80;
constexpr int kSettleWrites = 100000;

void settle() {
  for (int i = 0; i < kSettleWrites; ++i) cpu::outb(kDelayPort, 0);
}

const void* map_low(void*, PhysAddr pa, uint64_t len) {
  // Every entry's map is the identity over the low 4 GiB, where the ACPI
  // tables of the VMMs this image boots on live; page 0 stays out.
  constexpr uint64_t k4G = 4ull << 30;
  if (pa.value < kPageSize || pa.value + len < pa.value || pa.value + len > k4G) return nullptr;
  return reinterpret_cast<const void*>(pa.value);
}

// The FADT's reset register, from the parsed tables when phase 6 got that
// far, else straight from the RSDP (an exit from the entry itself).
bool fadt_reset(acpi::Gas* reg, uint8_t* value) {
  acpi::FadtInfo parsed{};
  const acpi::FadtInfo* f = acpi::fadt();
  if (!f) {
    const PhysAddr rsdp = boot_info().acpi_rsdp;
    if (!rsdp.value) return false;
    // Static: the problem list is large for an exit path's stack.
    static constinit acpi::Tables tables = {};
    static constinit acpi::Problems problems = {};
    problems.count = 0;
    if (!tables.init(acpi::Access{nullptr, map_low}, rsdp, &problems)) return false;
    const acpi::SdtHeader* t = tables.find("FACP");
    if (!t || !acpi::parse_fadt(t, &parsed, &problems)) return false;
    f = &parsed;
  }
  if (!(f->flags & kFadtResetRegSup) || !f->reset_reg.address) return false;
  *reg = f->reset_reg;
  *value = f->reset_value;
  return true;
}

}  // namespace

void reset_without_firmware() {
  acpi::Gas reg{};
  uint8_t value = 0;
  if (fadt_reset(&reg, &value)) {
    // §4.8.3.6: the reset register is 8 bits wide; write RESET_VALUE.
    if (reg.space_id == acpi::kSystemIo && reg.address <= 0xffff) {
      cpu::outb(static_cast<uint16_t>(reg.address), value);
      settle();
    } else if (reg.space_id == acpi::kSystemMemory && map_low(nullptr, PhysAddr(reg.address), 1)) {
      *reinterpret_cast<volatile uint8_t*>(reg.address) = value;
      settle();
    }
    // PCI configuration space reset registers are not used.
  }
  cpu::outb(kResetControlPort, kRstCntSysRst);
  cpu::outb(kResetControlPort, kRstCntSysRst | kRstCntRstCpu);
  settle();
  for (int i = 0; i < kKbcPolls && (cpu::inb(kKbcStatusPort) & kKbcInputFull); ++i) {
  }
  cpu::outb(kKbcStatusPort, kKbcPulseReset);
  settle();
}

}  // namespace boot
