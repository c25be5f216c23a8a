// `scripts/run --gdb`: the guest waits before main() with QEMU's gdbstub
// on a UNIX socket, and the runner prints one gdb command line that loads
// the test's symbols at the image's real load address (docs/running.md,
// "Debugging with gdb").
//
// The guest side is lib/boot/debugger.h: the fw_cfg file kFwCfgFile asks
// for the wait, and the image then prints kWaitLine with its base. Under
// UEFI the firmware chooses that base, so the host can only learn it from
// the guest; x86/<name>.debug is linked at 0 and loads at the base. A PVH
// .elf runs where it is linked, and its own symbols serve at offset 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace run::gdb {

inline constexpr const char* kFwCfgFile = "opt/efitest/gdb";
inline constexpr const char* kWaitLine = "efitest: waiting for gdb: image base 0x";

// The QEMU arguments of a --gdb run: the gdbstub on `socket` (QEMU does
// not wait for it: the guest does) and the fw_cfg request.
std::vector<std::string> qemu_args(const std::string& socket);

// The image base of a kWaitLine (anywhere in `line`, since the serial
// line may carry a prefix); false for any other line.
bool parse_wait_line(const std::string& line, uint64_t* base);

// The gdb command: connect, load `symbols` at `offset`, release the
// guest's wait and stop at main. The user types `continue`.
std::string command(const std::string& socket, const std::string& symbols, uint64_t offset);

}  // namespace run::gdb
