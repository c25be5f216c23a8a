# The efitest ESP: `make esp` builds a bootable EFI System Partition that
# runs a unittests.cfg selection unattended; `make sign KEY=... CERT=...`
# builds the same ESP with every image signed for Secure Boot. Included by
# the top-level Makefile; docs/esp.md and docs/secure-boot.md are the
# user's guides.
#
# Variables (make esp VAR=value):
#   ESP_TESTS          tests to include: names or shell patterns, separated
#                      by commas or blanks
#   ESP_GROUPS         groups to include (comma/blank separated); without
#                      ESP_TESTS and ESP_GROUPS: every test outside nodefault
#   ESP_END            poweroff (default) or wait, after the last test
#   ESP_TIMEOUT        one timeout for every test (90, 90s, 2m), replacing
#                      the cfg values
#   ESP_TIMEOUT_SCALE  multiply the cfg timeouts (default 1)
#   ESP_CFG            the test list (default unittests.cfg)
#   ESP_DIR            the ESP tree (default build/esp)
#   ESP_IMG            the disk image: GPT, one EFI System Partition
#                      (default build/esp.img)
#   ESP_SIZE           size of the partition in MiB; the image is 2 MiB
#                      larger (default: enough, at least 64)
#   KEY, CERT          `make sign`: PEM private key and certificate for
#                      sbsign (the key must have no passphrase)

ESP_CFG ?= unittests.cfg
ESP_DIR ?= build/esp
ESP_IMG ?= build/esp.img
ESP_END ?= poweroff
ESP_TIMEOUT_SCALE ?= 1

# Every image carries the .sbat section of lib/esp/sbat.S: -u pulls that
# archive member into each link, and objcopy keeps the section.
LDFLAGS += -u efitest_sbat
PE_SECTIONS += .sbat

ESP_ARGS = --top . --dir $(ESP_DIR) --image $(ESP_IMG) \
	--cfg $(ESP_CFG) --end $(ESP_END) --timeout-scale $(ESP_TIMEOUT_SCALE) \
	$(if $(ESP_TESTS),--tests "$(ESP_TESTS)") $(if $(ESP_GROUPS),--groups "$(ESP_GROUPS)") \
	$(if $(ESP_TIMEOUT),--timeout $(ESP_TIMEOUT)) $(if $(ESP_SIZE),--size $(ESP_SIZE))

esp: $(TESTS) $(APPS) $(EFITEST)
	$(say) ESP $(ESP_IMG)
	$(Q)$(EFITEST) esp-image $(ESP_ARGS)

sign: $(TESTS) $(APPS) $(EFITEST) $(PETOOL)
	@test -n "$(KEY)" -a -n "$(CERT)" || { echo "make sign needs KEY=<key.pem> CERT=<cert.pem>" >&2; exit 1; }
	@for t in $(TESTS) $(APPS); do $(PETOOL) sbat $$t >/dev/null || exit 1; done
	$(say) ESP $(ESP_IMG) "(signed)"
	$(Q)$(EFITEST) esp-image $(ESP_ARGS) --key "$(KEY)" --cert "$(CERT)"

# tests/check.sh (make check) runs the same script as its esp stage.
check-esp: all
	tests/esp/run-esp-tests.sh

.PHONY: esp sign check-esp
