#include "efi/services.h"

namespace efi {
namespace {

constinit RuntimeServices* runtime = nullptr;

void reset(boot::ResetKind k) {
  const ResetType t = k == boot::ResetKind::cold   ? ResetType::cold
                      : k == boot::ResetKind::warm ? ResetType::warm
                                                   : ResetType::shutdown;
  runtime->reset_system(t, kSuccess, 0, nullptr);
}

uint64_t set_variable(const char16_t* name, const void* vendor, uint32_t attributes, size_t size,
                      const void* data) {
  return runtime->set_variable(name, static_cast<const Guid*>(vendor), attributes, size,
                               data);
}

constexpr boot::FirmwareServices kServices = {reset, set_variable};

}  // namespace

const boot::FirmwareServices* runtime_services_adapter(RuntimeServices* rt) {
  runtime = rt;
  return rt ? &kServices : nullptr;
}

}  // namespace efi
