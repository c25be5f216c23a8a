// efitest pe-driver SRC DST: DST is the EFI application SRC as an EFI
// boot-service driver (PE subsystem 10 -> 11, checksum updated), through
// the PE code petool uses (scripts/image/pe.h). The fast-run loader is
// started this way, so that the firmware loads it into boot-services
// memory, which a test then sees as free after ExitBootServices, exactly
// as if no loader had been there.
#include <cstdio>
#include <string>

#include "commands.h"
#include "image/pe.h"

int cmd_pe_driver(int argc, char** argv) {
  if (argc != 2) {
    std::fputs("usage: efitest pe-driver SRC DST\n", stderr);
    return 2;
  }
  pe::Image img;
  if (!pe::parse(argv[0], img)) {
    std::fprintf(stderr, "efitest pe-driver: %s: %s\n", argv[0], img.error.c_str());
    return 1;
  }
  if (img.u16(img.opt + pe::kOptSubsystem) != pe::kSubsystemEfiApplication) {
    std::fprintf(stderr, "efitest pe-driver: %s is not an EFI application\n", argv[0]);
    return 1;
  }
  img.put16(img.opt + pe::kOptSubsystem, pe::kSubsystemEfiBootServiceDriver);
  img.put32(img.opt + pe::kOptCheckSum, pe::checksum(img));
  std::string error;
  if (!pe::write(img, argv[1], &error)) {
    std::fprintf(stderr, "efitest pe-driver: %s\n", error.c_str());
    return 1;
  }
  return 0;
}
