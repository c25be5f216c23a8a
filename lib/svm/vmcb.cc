#include "svm/vmcb.h"

#include "rt/format.h"

namespace svm {

namespace intercept {

const char* misc1_name(unsigned bit) {
  static constexpr const char* kNames[32] = {
      "INTR",       "NMI",        "SMI",        "INIT",       "VINTR",   "CR0_SEL_WRITE",
      "IDTR_READ",  "GDTR_READ",  "LDTR_READ",  "TR_READ",    "IDTR_WRITE", "GDTR_WRITE",
      "LDTR_WRITE", "TR_WRITE",   "RDTSC",      "RDPMC",      "PUSHF",   "POPF",
      "CPUID",      "RSM",        "IRET",       "INTn",       "INVD",    "PAUSE",
      "HLT",        "INVLPG",     "INVLPGA",    "IOIO_PROT",  "MSR_PROT", "TASK_SWITCH",
      "FERR_FREEZE", "SHUTDOWN",
  };
  return bit < 32 ? kNames[bit] : nullptr;
}

const char* misc2_name(unsigned bit) {
  static constexpr const char* kNames[16] = {
      "VMRUN",  "VMMCALL", "VMLOAD",  "VMSAVE", "STGI",        "CLGI",   "SKINIT", "RDTSCP",
      "ICEBP",  "WBINVD",  "MONITOR", "MWAIT",  "MWAIT_ARMED", "XSETBV", "RDPRU",  "EFER_WRITE_TRAP",
  };
  return bit < 16 ? kNames[bit] : nullptr;
}

}  // namespace intercept

namespace event {
const char* type_str(Type t) {
  switch (t) {
    case Type::intr: return "INTR";
    case Type::nmi: return "NMI";
    case Type::exception: return "exception";
    case Type::soft_int: return "software interrupt";
  }
  return "reserved type";
}
}  // namespace event

const char* exit_code_str(ExitCode c, char* buf, size_t size) {
  const uint64_t v = static_cast<uint64_t>(c);
  if (c == ExitCode::invalid) {
    rt::snprintf(buf, size, "VMEXIT_INVALID");
  } else if (v < 0x40) {
    static constexpr const char* kKinds[4] = {"READ_CR", "WRITE_CR", "READ_DR", "WRITE_DR"};
    rt::snprintf(buf, size, "%s%u", kKinds[v / 16], unsigned(v % 16));
  } else if (v < 0x60) {
    rt::snprintf(buf, size, "EXCP vector %u", unsigned(v - 0x40));
  } else if (v < 0x80) {
    rt::snprintf(buf, size, "%s", intercept::misc1_name(unsigned(v - 0x60)));
  } else if (v < 0x90) {
    rt::snprintf(buf, size, "%s", intercept::misc2_name(unsigned(v - 0x80)));
  } else if (v < 0xa0) {
    rt::snprintf(buf, size, "CR%u_WRITE_TRAP", unsigned(v - 0x90));
  } else if (c == ExitCode::npf) {
    rt::snprintf(buf, size, "NPF");
  } else if (c == ExitCode::avic_incomplete_ipi) {
    rt::snprintf(buf, size, "AVIC_INCOMPLETE_IPI");
  } else if (c == ExitCode::avic_noaccel) {
    rt::snprintf(buf, size, "AVIC_NOACCEL");
  } else if (c == ExitCode::vmgexit) {
    rt::snprintf(buf, size, "VMGEXIT");
  } else {
    rt::snprintf(buf, size, "exit 0x%lx", static_cast<unsigned long>(v));
  }
  return buf;
}

namespace ioio {
const char* info1_str(uint64_t info1, char* buf, size_t size) {
  const unsigned bytes = info1 & kSz8 ? 1 : info1 & kSz16 ? 2 : info1 & kSz32 ? 4 : 0;
  const unsigned abits = info1 & kA16 ? 16 : info1 & kA32 ? 32 : info1 & kA64 ? 64 : 0;
  rt::snprintf(buf, size, "%s%s%s port 0x%x, %u-bit, A%u", info1 & kRep ? "REP " : "",
               info1 & kIn ? "IN" : "OUT", info1 & kStr ? "S" : "", port(info1), bytes * 8,
               abits);
  return buf;
}
}  // namespace ioio

namespace npf {
const char* info1_str(uint64_t info1, char* buf, size_t size) {
  rt::snprintf(buf, size, "0x%lx (%s%s%s%s%s%s%s)", static_cast<unsigned long>(info1),
               info1 & kP ? "P " : "not-present ", info1 & kW ? "W " : "R ",
               info1 & kU ? "U " : "S ", info1 & kRsvd ? "RSVD " : "", info1 & kId ? "ID " : "",
               info1 & kFinalGpa ? "final-GPA" : "", info1 & kGuestWalk ? "guest-walk" : "");
  return buf;
}
}  // namespace npf

}  // namespace svm
