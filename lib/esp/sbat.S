/*
 * The SBAT section of every image (the .sbat PE section, emitted by
 * efi.lds; format: shim's SBAT.md). shim and firmware that enforce SBAT
 * refuse an image whose component generation is revoked, so every image
 * carries the mandatory "sbat" header line and one line for this project.
 * Bump the second field of the efitest line when a security fix must
 * revoke older images. A distributor that signs the images appends its own
 * vendor line (docs/secure-boot.md). Images pull this object in through
 * the linker's -u efitest_sbat (scripts/esp/esp.mk).
 */
	.section .sbat, "a"
	.globl efitest_sbat
	.hidden efitest_sbat
efitest_sbat:
	.ascii "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"
	.ascii "efitest,1,efitest,efitest,1,https://efitest.invalid/\n"

	.section .note.GNU-stack, "", @progbits
