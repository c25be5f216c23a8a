#include "platform/detect.h"

#include "cpu/processor.h"
#include "platform/insn.h"

namespace platform {

bool is_tdx_signature(uint32_t ebx, uint32_t ecx, uint32_t edx) {
  return ebx == kTdxSigEbx && edx == kTdxSigEdx && ecx == kTdxSigEcx;
}

Platform classify(uint32_t mem_enc_eax, uint64_t sev_status, bool tdx_signature) {
  if (tdx_signature) return Platform::tdx;
  if (!(mem_enc_eax & kMemEncSev)) return Platform::plain;
  if ((sev_status & kSevStatusSnp) && (mem_enc_eax & kMemEncSevSnp)) return Platform::sev_snp;
  if ((sev_status & kSevStatusSevEs) && (mem_enc_eax & kMemEncSevEs)) return Platform::sev_es;
  if (sev_status & kSevStatusSev) return Platform::sev;
  return Platform::plain;
}

bool is_confidential(Platform p) { return p != Platform::plain; }
bool has_ghcb(Platform p) { return p == Platform::sev_es || p == Platform::sev_snp; }

uint64_t private_mask(const BootInfo& bi) {
  const bool sev = bi.detected.platform == Platform::sev || has_ghcb(bi.detected.platform);
  return sev && bi.detected.sev_cbit ? 1ull << bi.detected.sev_cbit : 0;
}

uint64_t shared_mask(const BootInfo& bi) {
  return bi.detected.platform == Platform::tdx ? bi.detected.tdx_shared_mask : 0;
}

Detected detect() {
  Detected d;
  const uint32_t max_basic = cpu::cpuid(0).eax;
  bool tdx = false;
  if (max_basic >= kCpuidTdx) {
    cpu::CpuidResult r = cpu::cpuid(kCpuidTdx, 0);
    tdx = is_tdx_signature(r.ebx, r.ecx, r.edx);
  }
  if (!tdx && cpu::cpuid(0x80000000).eax >= kCpuidMemEncryption) {
    cpu::CpuidResult r = cpu::cpuid(kCpuidMemEncryption);
    d.mem_enc_eax = r.eax;
    // The MSR exists only where CPUID advertises SEV (APM vol.2 §15.34.10);
    // reading it anywhere else #GPs into the firmware's IDT.
    if (r.eax & kMemEncSev) {
      d.sev_cbit = static_cast<uint8_t>(r.ebx & kCbitMask);
      d.sev_status = cpu::rdmsr(kMsrSevStatus);
    }
  }
  d.platform = classify(d.mem_enc_eax, d.sev_status, tdx);
  if (d.platform == Platform::tdx) {
    // TDCALL does not #VE; TDG.VP.INFO is always available to a TD (TDX
    // module ABI spec, TDG.VP.INFO leaf).
    tdx::TdcallRegs regs = tdx::encode_vp_info();
    platform::tdcall(regs);
    if (regs.rax == 0) {
      tdx::VpInfo info = tdx::decode_vp_info(regs);
      d.tdx_gpa_width = info.gpa_width;
      d.tdx_shared_mask = info.shared_mask();
      d.tdx_attributes = info.attributes;
    }
  }
  return d;
}

void detect_into(BootInfo& bi) {
  bi.detected = detect();
}

}  // namespace platform
