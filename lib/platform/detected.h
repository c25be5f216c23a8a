// What confidential-computing detection found (lib/platform/detect.h runs
// it in the boot entry, before the entry gives up its firmware).
#pragma once

#include <cstdint>

enum class Platform : uint8_t { plain, sev, sev_es, sev_snp, tdx };
const char* platform_str(Platform p);

namespace platform {

struct Detected {
  Platform platform = Platform::plain;
  uint32_t mem_enc_eax = 0;  // CPUID Fn8000_001F EAX (0 when absent)
  uint8_t sev_cbit = 0;      // C-bit position (SEV*) or 0
  uint64_t sev_status = 0;   // SEV_STATUS MSR (SEV*) or 0
  uint8_t tdx_gpa_width = 0;     // TDG.VP.INFO GPAW (TDX) or 0
  uint64_t tdx_shared_mask = 0;  // GPA bit GPAW-1 (TDX) or 0
  uint64_t tdx_attributes = 0;   // TDG.VP.INFO TD attributes (TDX) or 0
};

}  // namespace platform
