# Portable sources from lib/ that the host unit tests build and link.
# One line per file; each owner adds its own.
PORTABLE_SRCS += lib/elf/reloc.cc
PORTABLE_SRCS += lib/efi/cmdline.cc
PORTABLE_SRCS += lib/efi/memmap.cc
PORTABLE_SRCS += lib/efi/exit_boot.cc
PORTABLE_SRCS += lib/rt/format.cc
PORTABLE_SRCS += lib/cpu/pagetable.cc
PORTABLE_SRCS += lib/mem/page_alloc.cc
PORTABLE_SRCS += scripts/cfg/cfgparse.cc
PORTABLE_SRCS += lib/cpu/decode.cc
PORTABLE_SRCS += lib/mem/heap.cc
PORTABLE_SRCS += lib/acpi/acpi.cc
PORTABLE_SRCS += lib/platform/ghcb.cc
PORTABLE_SRCS += lib/platform/tdx.cc
PORTABLE_SRCS += lib/rt/fbcon.cc
PORTABLE_SRCS += lib/platform/emulate.cc
PORTABLE_SRCS += lib/platform/vc_core.cc
PORTABLE_SRCS += lib/platform/ve_core.cc
PORTABLE_SRCS += lib/platform/detect.cc
PORTABLE_SRCS += lib/timer/calibrate.cc
PORTABLE_SRCS += lib/fwcfg/format.cc
PORTABLE_SRCS += lib/fwcfg/load_options.cc
PORTABLE_SRCS += lib/esp/textbuf.cc
PORTABLE_SRCS += lib/esp/manifest.cc
PORTABLE_SRCS += lib/esp/vars.cc
PORTABLE_SRCS += lib/esp/results.cc
PORTABLE_SRCS += lib/esp/tco.cc
