// Checks that several tests need, built on the report API.
//
//   report_fault(catch_fault([] { asm volatile("ud2"); }), ExInfo(Vec::UD), "ud2");
//   report_fault_xfail(known_tcg_difference("INT1 raises #UD"), got, ExInfo(Vec::DB), "INT1");
//   report_xfail(known_qemu_device_difference(dmar_from_qemu, "no IR fault record"), ok, "...");
//
// A known difference of an emulator or a device model from the hardware
// is not hidden: the check
// still runs and prints what it saw, as XFAIL, and an INFO line says
// which difference it is. Should the emulator be fixed, the check prints
// XPASS and counts as a failure, so the expectation gets revisited.
#pragma once

#include "cpu/exceptions.h"

// PASS when `got` is exactly `want` (vector and error code); the line shows
// both, e.g. "ud2: #UD (expected #UD)".
void report_fault(ExInfo got, ExInfo want, const char* what);
void report_fault_xfail(bool xfail, ExInfo got, ExInfo want, const char* what);

// True under QEMU's TCG, where `why` is known to differ from the hardware;
// prints "INFO: known TCG difference: <why>" then.
bool known_tcg_difference(const char* why);

// True when `qemu_model` holds, that is when the caller has found that the
// device under test is QEMU's own model of it (by an ACPI table's IDs, a
// PCI ID, ...), and `why` is a known difference of that model from the
// hardware; prints "INFO: known QEMU device-model difference: <why>" then.
// Unlike known_tcg_difference this holds under any accelerator: the device
// model is the same under TCG and KVM.
bool known_qemu_device_difference(bool qemu_model, const char* why);
