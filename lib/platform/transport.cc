#include "platform/transport.h"

#include "cpu/processor.h"
#include "platform/detect.h"
#include "platform/ghcb.h"
#include "platform/insn.h"
#include "platform/sev.h"

namespace platform {
namespace {

constinit Channel channel = Channel::port_io;

uint32_t mask(uint8_t size) { return size >= 4 ? ~0u : (1u << (8 * size)) - 1; }

}  // namespace

void transport_init(const BootInfo& bi) {
  if (has_ghcb(bi.detected.platform))
    channel = Channel::ghcb;
  else if (bi.detected.platform == Platform::tdx)
    channel = Channel::tdvmcall;
  else
    channel = Channel::port_io;
}

Channel transport_channel() { return channel; }

const char* channel_str(Channel c) {
  switch (c) {
    case Channel::port_io: return "port I/O";
    case Channel::ghcb: return "GHCB";
    case Channel::tdvmcall: return "TDVMCALL";
  }
  return "?";
}

bool transport_ready() { return channel != Channel::ghcb || sev::ghcb_ready(); }

void port_out(uint16_t port, uint8_t size, uint32_t value) {
  value &= mask(size);
  switch (channel) {
    case Channel::port_io:
      if (size == 1) cpu::outb(port, static_cast<uint8_t>(value));
      else if (size == 2) cpu::outw(port, static_cast<uint16_t>(value));
      else cpu::outl(port, value);
      return;
    case Channel::ghcb: {
      sev::GhcbLease lease;
      if (!lease.ok()) return;
      ghcb::Page& g = sev::ghcb_page();
      g.begin(ghcb::ExitCode::ioio, ghcb::IoioInfo{.port = port, .size = size}.encode(), 0);
      g.set_rax(value);
      sev::ghcb_exit();
      return;
    }
    case Channel::tdvmcall: platform::tdvmcall(tdx::vmcall::io_out(port, size, value)); return;
  }
}

uint32_t port_in(uint16_t port, uint8_t size) {
  switch (channel) {
    case Channel::port_io:
      if (size == 1) return cpu::inb(port);
      if (size == 2) return cpu::inw(port);
      return cpu::inl(port);
    case Channel::ghcb: {
      sev::GhcbLease lease;
      if (!lease.ok()) return mask(size);
      ghcb::Page& g = sev::ghcb_page();
      g.begin(ghcb::ExitCode::ioio,
              ghcb::IoioInfo{.port = port, .size = size, .in = true}.encode(), 0);
      g.set_rax(0);
      sev::ghcb_exit();
      if ((g.sw_exit_info1 & 0xffffffffull) != 0 || !g.is_valid(offsetof(ghcb::Page, rax)))
        return mask(size);
      return static_cast<uint32_t>(g.rax) & mask(size);
    }
    case Channel::tdvmcall: {
      tdx::TdvmcallResult r = platform::tdvmcall(tdx::vmcall::io_in(port, size));
      return r.ok() ? static_cast<uint32_t>(r.r11) & mask(size) : mask(size);
    }
  }
  return mask(size);
}

void terminate(uint8_t reason_code) {
  switch (channel) {
    case Channel::port_io: break;
    case Channel::ghcb: sev::terminate(ghcb::msr::kReasonSetFramework, reason_code);
    case Channel::tdvmcall:
      platform::tdvmcall(tdx::vmcall::report_fatal_error(reason_code, 0));
      break;
  }
  cpu::halt_forever();
}

}  // namespace platform
