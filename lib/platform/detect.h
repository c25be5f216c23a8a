// Confidential-computing platform detection (boot phase 3).
//
// Runs while the firmware still owns the IDT and, under SEV-ES/SNP, the #VC
// handler, so CPUID and the SEV_STATUS read are served by the firmware. The
// result (platform::Detected, lib/platform/detected.h) is written into
// BootInfo once; the transport, page tables and the
// #VC/#VE handlers are chosen from it and nothing re-detects later.
#pragma once

#include <cstdint>

#include "boot/bootinfo.h"
#include "platform/detected.h"

namespace platform {

// CPUID Fn8000_001F (AMD APM vol.3 appendix E.4.17, "Encrypted Memory
// Capabilities"): EAX feature bits, EBX[5:0] the C-bit position.
constexpr uint32_t kCpuidMemEncryption = 0x8000001f;
constexpr uint32_t kMemEncSme = 1u << 0;
constexpr uint32_t kMemEncSev = 1u << 1;
constexpr uint32_t kMemEncSevEs = 1u << 3;
constexpr uint32_t kMemEncSevSnp = 1u << 4;
constexpr uint32_t kCbitMask = 0x3f;

// SEV_STATUS (AMD APM vol.2 §15.34.10): which features are active for this
// guest. Only readable where CPUID says SEV exists; elsewhere it #GPs.
constexpr uint32_t kMsrSevStatus = 0xc0010131;
constexpr uint64_t kSevStatusSev = 1ull << 0;
constexpr uint64_t kSevStatusSevEs = 1ull << 1;
constexpr uint64_t kSevStatusSnp = 1ull << 2;

// CPUID leaf 0x21 subleaf 0 (Intel TDX GHCI §2.4.1, "TDX guest detection"):
// EBX:EDX:ECX read "IntelTDX    " inside a trust domain.
constexpr uint32_t kCpuidTdx = 0x21;
constexpr uint32_t kTdxSigEbx = 0x65746e49;  // "Inte"
constexpr uint32_t kTdxSigEdx = 0x5844546c;  // "lTDX"
constexpr uint32_t kTdxSigEcx = 0x20202020;  // "    "

// Pure decision from the raw values, host-testable: SEV_STATUS decides for
// AMD (SNP > SEV-ES > SEV), the TDX signature for Intel.
Platform classify(uint32_t mem_enc_eax, uint64_t sev_status, bool tdx_signature);
bool is_tdx_signature(uint32_t ebx, uint32_t ecx, uint32_t edx);

// Guest only: executes CPUID, RDMSR and TDCALL(TDG.VP.INFO).
Detected detect();
void detect_into(BootInfo& bi);

// Masks the boot page tables use for this platform: the SEV C-bit on private
// memory, the TDX shared bit on shared memory (both 0 on plain guests).
uint64_t private_mask(const BootInfo& bi);
uint64_t shared_mask(const BootInfo& bi);
// SEV*, TDX: MMIO must be mapped shared (C-bit clear, or shared bit set).
bool is_confidential(Platform p);
// SEV-ES and SNP: the guest needs a GHCB and owns #VC.
bool has_ghcb(Platform p);

}  // namespace platform
