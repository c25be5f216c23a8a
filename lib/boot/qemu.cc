// Deciding whether QEMU's devices exist, for every entry.
#include "boot/entry.h"
#include "cpu/processor.h"

namespace {
// QEMU's fw_cfg, legacy port interface (QEMU docs/specs/fw_cfg.rst).
constexpr uint16_t kFwCfgSelector = 0x510;
constexpr uint16_t kFwCfgData = 0x511;
constexpr uint16_t kFwCfgSignatureKey = 0x0000;
constexpr char kFwCfgSignature[4] = {'Q', 'E', 'M', 'U'};
}  // namespace

namespace boot {

// Real hardware may decode ports 0x510/0x511 (and 0xf4) as something else,
// so no port is touched unless the CPUID hypervisor leaf names KVM or TCG,
// the accelerators QEMU runs on; under them an absent fw_cfg reads 0xff,
// which is harmless. Bare metal and other hypervisors count as "not QEMU".
void detect_qemu(BootInfo& bi) {
  bi.hypervisor = cpu::hypervisor();
  if (bi.hypervisor != cpu::Hypervisor::kvm && bi.hypervisor != cpu::Hypervisor::tcg) return;
  bi.fw_cfg_probed = true;
  cpu::outw(kFwCfgSelector, kFwCfgSignatureKey);
  bool match = true;
  for (char c : kFwCfgSignature) match &= cpu::inb(kFwCfgData) == static_cast<uint8_t>(c);
  bi.on_qemu = match;
}

}  // namespace boot
