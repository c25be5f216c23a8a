#include "platform/ve.h"

#include "cpu/backtrace.h"
#include "cpu/processor.h"
#include "platform/insn.h"
#include "rt/console.h"

namespace platform {
namespace {

class GuestVe final : public VeBackend {
 public:
  constexpr GuestVe() = default;
  ~GuestVe() = default;
};

constinit GuestVe guest_backend;

}  // namespace

void VeBackend::tdcall(tdx::TdcallRegs& regs) { platform::tdcall(regs); }

tdx::TdvmcallResult VeBackend::tdvmcall(const tdx::TdvmcallArgs& args) {
  tdx::TdcallRegs r = tdx::encode(args);
  tdcall(r);
  return tdx::decode_result(r);
}

VeBackend& ve_guest_backend() { return guest_backend; }

bool handle_ve(ExceptionFrame& f, VeBackend& b) {
  tdx::TdcallRegs r = tdx::encode_vp_veinfo_get();
  b.tdcall(r);
  EmulError e = EmulError::hypervisor_error;
  tdx::VeInfo info{};
  if (r.rax == 0) {
    info = tdx::decode_veinfo(r);
    e = ve::handle(info, f.regs, b, b);
  }
  if (e == EmulError::none) return true;
  printf("#VE: cannot handle exit reason %u (qualification 0x%lx, gpa 0x%lx) at rip 0x%lx: "
         "%s (fatal error code %u)\n",
         info.exit_reason, info.exit_qualification, info.gpa, f.regs.rip, emul_error_str(e),
         static_cast<unsigned>(e));
  dump_frame(console_write, &f);
  b.tdvmcall(tdx::vmcall::report_fatal_error(static_cast<uint32_t>(e), 0));
  return false;
}

}  // namespace platform
