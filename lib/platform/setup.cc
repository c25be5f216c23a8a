#include "platform/setup.h"

#include "cpu/exceptions.h"
#include "platform/detect.h"
#include "platform/ghcb.h"
#include "platform/sev.h"
#include "platform/transport.h"
#include "platform/vc.h"
#include "platform/ve.h"

namespace platform {
namespace {

bool on_vc(ExceptionFrame* f) { return handle_vc(*f, vc_guest_backend()); }
bool on_ve(ExceptionFrame* f) { return handle_ve(*f, ve_guest_backend()); }

}  // namespace

void takeover_handlers(const BootInfo& bi) {
  transport_init(bi);
  // Only where the platform can raise them: elsewhere #VC/#VE are
  // unexpected and get the ordinary report.
  if (has_ghcb(bi.detected.platform)) set_exception_handler(static_cast<unsigned>(Vec::VC), on_vc);
  if (bi.detected.platform == Platform::tdx) set_exception_handler(static_cast<unsigned>(Vec::VE), on_ve);
}

void after_paging(const BootInfo& bi) {
  if (!has_ghcb(bi.detected.platform)) return;
  uint8_t reason = 0;
  if (sev::ghcb_setup(bi, &reason)) return;
  if (reason == ghcb::msr::kReasonProtocolUnsupported)
    sev::terminate(ghcb::msr::kReasonSetGeneral, reason);
  sev::terminate(ghcb::msr::kReasonSetFramework, kReasonGhcbSetup);
}

}  // namespace platform
