# Build every x86/<name>.cc (and x86/negative/<name>.cc) into its own EFI
# image:  <name>.o + lib/libtest.a --(ld, efi.lds)--> <name>.so (PIC, kept as
# <name>.debug for symbolizing) --(objcopy)--> <name>.efi, with the image
# checks run on both; and from the same objects into a PVH image,
# <name>.o + lib/libtest.a + the PVH entry --(ld, elf.lds)--> <name>.elf,
# checked by `petool check-pvh`. efi/<name>.cc are EFI applications
# that stay in boot services (they define their own efi_main); they are
# built the same way. Run ./configure first. V=1 shows the commands.

ifeq ($(wildcard config.mak),)
$(error config.mak not found: run ./configure first)
endif
include config.mak

ifeq ($(WERROR),yes)
WERROR_FLAG := -Werror
endif

# Every code-generation flag is explicit: the distribution's defaults
# (PIE, stack protector reading %fs:0x28, CET notes) must not leak in.
# Frame pointers everywhere, leaf functions included, and no sibling calls,
# so that every frame shows up in a backtrace.
COMMON_FLAGS := -O2 -g -ffreestanding -fpic -fno-plt -fvisibility=hidden \
	-fno-stack-protector -fcf-protection=none -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-mno-red-zone -mgeneral-regs-only -mcmodel=small \
	-ffile-prefix-map=$(CURDIR)/= \
	-Wall -Wextra $(WERROR_FLAG) -Ilib -MMD -MP
CXXFLAGS := $(COMMON_FLAGS) -std=c++20 -fno-exceptions -fno-rtti \
	-fno-threadsafe-statics -nostdlib -include lib/compiler.h
ASFLAGS := $(COMMON_FLAGS) -D__ASSEMBLY__
LDFLAGS := -nostdlib -shared -Bsymbolic -T efi.lds -z max-page-size=4096 \
	-z text -z noexecstack --no-undefined --build-id=none --hash-style=sysv
PE_SECTIONS := .text .rodata .rela .data .dynamic .bss .reloc

LIB_SRCS := $(filter-out lib/cpu/entry.S lib/boot/pvh_entry.S,$(wildcard lib/*/*.cc lib/*/*.S))
LIB_OBJS := $(patsubst %.S,%.o,$(patsubst %.cc,%.o,$(LIB_SRCS)))
ENTRY_OBJ := lib/cpu/entry.o
PVH_OBJ := lib/boot/pvh_entry.o
TEST_SRCS := $(wildcard x86/*.cc x86/negative/*.cc)
TESTS := $(TEST_SRCS:.cc=.efi)
# The same tests as PVH images (elf.lds, docs/pvh.md).
PVH_TESTS := $(TEST_SRCS:.cc=.elf)
# A static executable at its load address: nothing to relocate.
ELF_LDFLAGS := -nostdlib -static -no-pie -T elf.lds -z max-page-size=4096 \
	-z noexecstack --no-undefined --build-id=none
APP_SRCS := $(wildcard efi/*.cc)
APPS := $(APP_SRCS:.cc=.efi)
PETOOL := build/host/petool
ACCEL_PROBE := build/accel-probe.rom
# The host program (host/main.cc); scripts/lib/host.sh builds the same
# sources on demand.
EFITEST := build/efitest
EFITEST_SRCS := $(shell cat host/SOURCES)

ifeq ($(V),1)
Q :=
say := @true
else
Q := @
say := @printf '  %-7s %s\n'
endif

all: $(TESTS) $(PVH_TESTS) $(APPS) $(ACCEL_PROBE) $(EFITEST)

# Renamed into place so that a running suite never executes a half-written
# binary.
$(EFITEST): $(EFITEST_SRCS) $(wildcard host/*.h host/run/*.h lib/result/*.h scripts/cfg/*.h scripts/image/*.h scripts/esp/*.h) lib/rt/verdict.h
	$(say) HOSTCXX $@
	$(Q)mkdir -p $(dir $@)
	$(Q)$(HOSTCXX) -std=c++20 -O2 -Wall -Wextra $(WERROR_FLAG) \
		-Ihost -Ilib -Iscripts -o $@.tmp.$$$$ $(EFITEST_SRCS) && mv -f $@.tmp.$$$$ $@

# The ROM that the run scripts boot under KVM to see whether KVM can run a
# guest at all (scripts/accel/probe.S): a flat 64 KiB image.
$(ACCEL_PROBE): scripts/accel/probe.S
	$(say) ROM $@
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -c -o $@.o $<
	$(Q)$(OBJCOPY) -O binary -j .text $@.o $@.tmp
	$(Q)test "$$(wc -c <$@.tmp)" -eq 65536 || { echo "$@: not 64 KiB" >&2; rm -f $@.tmp; exit 1; }
	$(Q)rm -f $@.o
	$(Q)mv $@.tmp $@

lib/libtest.a: $(LIB_OBJS)
	$(say) AR $@
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

%.o: %.cc
	$(say) CXX $@
	$(Q)$(CXX) $(CXXFLAGS) -c -o $@ $<

%.o: %.S
	$(say) AS $@
	$(Q)$(CC) $(ASFLAGS) -c -o $@ $<

# argv[0] and backtraces need the test's name inside the image.
x86/%.name.o:
	$(Q)mkdir -p $(dir $@)
	$(Q)printf '\t.section .rodata\n\t.globl test_name\n\t.hidden test_name\ntest_name:\n\t.asciz "%s"\n\t.section .note.GNU-stack,"",@progbits\n' \
		$(notdir $*) | $(CC) -c -x assembler -o $@ -

x86/%.so: x86/%.o x86/%.name.o $(ENTRY_OBJ) lib/libtest.a efi.lds $(PETOOL)
	$(say) LD $@
	$(Q)$(LD) $(LDFLAGS) -o $@ $(ENTRY_OBJ) x86/$*.o x86/$*.name.o lib/libtest.a
	$(Q)$(PETOOL) check-elf $@ || { rm -f $@; exit 1; }

x86/%.elf: x86/%.o x86/%.name.o $(PVH_OBJ) lib/libtest.a elf.lds $(PETOOL)
	$(say) ELF $@
	$(Q)$(LD) $(ELF_LDFLAGS) -o $@.tmp $(PVH_OBJ) x86/$*.o x86/$*.name.o lib/libtest.a
	$(Q)$(PETOOL) check-pvh $@.tmp || { rm -f $@.tmp; exit 1; }
	$(Q)mv $@.tmp $@

efi/%.so: efi/%.o $(ENTRY_OBJ) lib/libtest.a efi.lds $(PETOOL)
	$(say) LD $@
	$(Q)$(LD) $(LDFLAGS) -o $@ $(ENTRY_OBJ) efi/$*.o lib/libtest.a
	$(Q)$(PETOOL) check-elf $@ || { rm -f $@; exit 1; }

%.debug: %.so
	$(Q)$(OBJCOPY) --only-keep-debug $< $@

%.efi: %.so %.debug $(PETOOL)
	$(say) EFI $@
	$(Q)$(OBJCOPY) $(addprefix -j ,$(PE_SECTIONS)) --target efi-app-x86_64 \
		--subsystem efi-app --section-alignment 4096 --file-alignment 512 $< $@.tmp
	$(Q)$(PETOOL) nx-compat $@.tmp
	$(Q)$(PETOOL) check $@.tmp || { rm -f $@.tmp; exit 1; }
	$(Q)mv $@.tmp $@

$(PETOOL): scripts/image/petool.cc scripts/image/pe.cc scripts/image/pe.h scripts/image/elfcheck.cc scripts/image/elfcheck.h
	$(say) HOSTCXX $@
	$(Q)mkdir -p $(dir $@)
	$(Q)$(HOSTCXX) -std=c++20 -O2 -Wall -Wextra -Werror -o $@ scripts/image/petool.cc scripts/image/pe.cc scripts/image/elfcheck.cc

# Keep intermediate files: the .so and .debug are what symbolizers read.
.SECONDARY:

check-images: $(TESTS) $(PVH_TESTS) $(APPS)
	@for t in $(TESTS:.efi=.so) $(APPS:.efi=.so); do $(PETOOL) check-elf $$t || exit 1; done
	@for t in $(TESTS) $(APPS); do $(PETOOL) check $$t || exit 1; done
	@for t in $(PVH_TESTS); do $(PETOOL) check-pvh $$t || exit 1; done
	@echo "image checks: $(words $(TESTS) $(APPS) $(PVH_TESTS)) images ok"

check-host:
	$(MAKE) -C tests/host HOSTCXX=$(HOSTCXX)

# The project's own tests, every level (tests/check.sh lists them).
check: all
	@MAKE="$(MAKE)" tests/check.sh

clean:
	rm -f lib/libtest.a $(LIB_OBJS) $(ENTRY_OBJ) $(PVH_OBJ) $(LIB_OBJS:.o=.d) $(ENTRY_OBJ:.o=.d) $(PVH_OBJ:.o=.d)
	rm -f x86/*.o x86/*.d x86/*.so x86/*.debug x86/*.efi x86/*.elf x86/*.tmp
	rm -f x86/negative/*.o x86/negative/*.d x86/negative/*.so x86/negative/*.debug \
		x86/negative/*.efi x86/negative/*.elf x86/negative/*.tmp
	rm -f efi/*.o efi/*.d efi/*.so efi/*.debug efi/*.efi efi/*.tmp
	rm -rf build

distclean: clean
	rm -f config.mak

# Wall times of cold and warm (snapshot) boots; never part of check.
# BENCH_RUNS, BENCH_SUITE_RUNS and BENCH_JOBS set the counts.
bench: all
	$(EFITEST) bench --top $(CURDIR)

.PHONY: all check check-host check-images clean distclean bench

include scripts/esp/esp.mk
-include $(LIB_OBJS:.o=.d) $(ENTRY_OBJ:.o=.d) $(PVH_OBJ:.o=.d) $(TEST_SRCS:.cc=.d) $(APP_SRCS:.cc=.d)
