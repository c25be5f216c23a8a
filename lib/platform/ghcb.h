// SEV-ES/SNP guest-hypervisor communication: the GHCB page and the GHCB MSR
// protocol (AMD "SEV-ES Guest-Hypervisor Communication Block Standardization",
// version 2, referred to as "GHCB spec"), plus the SVM exit codes the #VC
// handler forwards (AMD APM vol.2 appendix C).
//
// Portable: only encodings live here. The guest writes the GHCB MSR and issues
// VMGEXIT through lib/platform/insn.h; host tests check these encodings.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ghcb {

constexpr uint32_t kMsrGhcb = 0xc0010130;  // GHCB spec §2.2, APM vol.2 §15.35.7
constexpr uint16_t kProtocolVersion = 2;
constexpr uint32_t kUsageStandard = 0;  // GHCB spec §2.3.1: ghcb_usage 0

// SW_EXITCODE values (GHCB spec §4.1 table 5 "List of Supported Non-Automatic
// Events"; the architectural ones are the SVM exit codes of APM vol.2
// appendix C).
enum class ExitCode : uint64_t {
  dr7_read = 0x27,
  dr7_write = 0x37,
  rdtsc = 0x6e,
  rdpmc = 0x6f,
  cpuid = 0x72,
  invd = 0x76,
  ioio = 0x7b,
  msr = 0x7c,
  vmmcall = 0x81,
  rdtscp = 0x87,
  wbinvd = 0x89,
  monitor = 0x8a,
  mwait = 0x8b,
  npf = 0x400,
  mmio_read = 0x80000001,
  mmio_write = 0x80000002,
  nmi_complete = 0x80000003,
  ap_reset_hold = 0x80000004,
  ap_jump_table = 0x80000005,
  snp_page_state_change = 0x80000010,
  snp_guest_request = 0x80000011,
  snp_ext_guest_request = 0x80000012,
  snp_ap_creation = 0x80000013,
  hv_features = 0x8000fffd,
  termination = 0x8000fffe,
  unsupported = 0x8000ffff,
};

// The 4 KiB GHCB page (GHCB spec §2.3 table 1 "GHCB Layout"; the save area
// mirrors the VMCB save area, APM vol.2 appendix B). Only the fields this
// framework uses are named; the rest is reserved padding.
struct alignas(4096) Page {
  uint8_t reserved0[0xcb];
  uint8_t cpl;                     // 0x0cb
  uint8_t reserved1[0x74];
  uint64_t xss;                    // 0x140
  uint8_t reserved2[0x18];
  uint64_t dr7;                    // 0x160
  uint8_t reserved3[0x90];
  uint64_t rax;                    // 0x1f8
  uint8_t reserved4[0x108];
  uint64_t rcx;                    // 0x308
  uint64_t rdx;                    // 0x310
  uint64_t rbx;                    // 0x318
  uint8_t reserved5[0x70];
  uint64_t sw_exit_code;           // 0x390
  uint64_t sw_exit_info1;          // 0x398
  uint64_t sw_exit_info2;          // 0x3a0
  uint64_t sw_scratch;             // 0x3a8
  uint8_t reserved6[0x38];
  uint64_t xcr0;                   // 0x3e8
  uint8_t valid_bitmap[16];        // 0x3f0
  uint8_t reserved7[0x400];        // 0x400: x87 state area in v2, unused here
  uint8_t shared_buffer[0x7f0];    // 0x800
  uint8_t reserved8[0xa];          // 0xff0
  uint16_t protocol_version;       // 0xffa
  uint32_t usage;                  // 0xffc

  // Marks a save-area field valid: bit (offset / 8) of valid_bitmap (GHCB
  // spec §2.3.1). The hypervisor must only consume fields marked valid.
  void mark_valid(size_t field_offset) {
    const size_t bit = field_offset / 8;
    valid_bitmap[bit / 8] = static_cast<uint8_t>(valid_bitmap[bit / 8] | (1u << (bit % 8)));
  }
  bool is_valid(size_t field_offset) const {
    const size_t bit = field_offset / 8;
    return valid_bitmap[bit / 8] & (1u << (bit % 8));
  }

  // Starts a new NAE event: clears the valid bitmap, sets the version and
  // usage, and the three SW_* fields (GHCB spec §4.1: every request sets
  // SW_EXITCODE, SW_EXITINFO1 and SW_EXITINFO2).
  void begin(ExitCode code, uint64_t info1, uint64_t info2);
  void set_rax(uint64_t v);
  void set_rbx(uint64_t v);
  void set_rcx(uint64_t v);
  void set_rdx(uint64_t v);
  void set_xcr0(uint64_t v);
  void set_cpl(uint8_t v);
  void set_sw_scratch(uint64_t gpa);
};

static_assert(sizeof(Page) == 4096);
static_assert(offsetof(Page, cpl) == 0x0cb);
static_assert(offsetof(Page, xss) == 0x140);
static_assert(offsetof(Page, dr7) == 0x160);
static_assert(offsetof(Page, rax) == 0x1f8);
static_assert(offsetof(Page, rcx) == 0x308);
static_assert(offsetof(Page, rdx) == 0x310);
static_assert(offsetof(Page, rbx) == 0x318);
static_assert(offsetof(Page, sw_exit_code) == 0x390);
static_assert(offsetof(Page, sw_exit_info1) == 0x398);
static_assert(offsetof(Page, sw_exit_info2) == 0x3a0);
static_assert(offsetof(Page, sw_scratch) == 0x3a8);
static_assert(offsetof(Page, xcr0) == 0x3e8);
static_assert(offsetof(Page, valid_bitmap) == 0x3f0);
static_assert(offsetof(Page, shared_buffer) == 0x800);
static_assert(offsetof(Page, protocol_version) == 0xffa);
static_assert(offsetof(Page, usage) == 0xffc);

// SW_EXITINFO1 for IOIO, in the format of the SVM IOIO intercept's EXITINFO1
// (APM vol.2 §15.10.2 figure 15-2; GHCB spec §4.1.2 reuses it).
struct IoioInfo {
  uint16_t port = 0;
  uint8_t size = 1;       // data bytes: 1, 2 or 4
  uint8_t addr_size = 8;  // string forms: 2, 4 or 8
  uint8_t segment = 3;    // effective segment, 0=ES 1=CS 2=SS 3=DS 4=FS 5=GS
  bool in = false;
  bool string = false;
  bool rep = false;

  static constexpr uint64_t kTypeIn = 1ull << 0;
  static constexpr uint64_t kString = 1ull << 2;
  static constexpr uint64_t kRep = 1ull << 3;
  static constexpr uint64_t kSz8 = 1ull << 4;
  static constexpr uint64_t kSz16 = 1ull << 5;
  static constexpr uint64_t kSz32 = 1ull << 6;
  static constexpr uint64_t kA16 = 1ull << 7;
  static constexpr uint64_t kA32 = 1ull << 8;
  static constexpr uint64_t kA64 = 1ull << 9;
  static constexpr unsigned kSegShift = 10;  // bits 12:10
  static constexpr unsigned kPortShift = 16;  // bits 31:16

  uint64_t encode() const;
  static IoioInfo decode(uint64_t info1);
};

// SW_EXITINFO1 for the MSR event (GHCB spec §4.1.4): 0 read, 1 write.
constexpr uint64_t kMsrRead = 0;
constexpr uint64_t kMsrWrite = 1;

// GHCB MSR protocol (GHCB spec §2.3.1 table 3 "GHCB MSR Protocol"): GHCBInfo
// in bits 11:0, GHCBData in bits 63:12.
namespace msr {

constexpr uint64_t kInfoMask = 0xfff;

enum class Info : uint16_t {
  sev_info_response = 0x001,
  sev_info_request = 0x002,
  cpuid_request = 0x004,
  cpuid_response = 0x005,
  ap_reset_hold_request = 0x006,
  ap_reset_hold_response = 0x007,
  preferred_gpa_request = 0x010,
  preferred_gpa_response = 0x011,
  register_gpa_request = 0x012,
  register_gpa_response = 0x013,
  page_state_change_request = 0x014,
  page_state_change_response = 0x015,
  hv_features_request = 0x080,
  hv_features_response = 0x081,
  termination_request = 0x100,
};

constexpr Info info_of(uint64_t v) { return static_cast<Info>(v & kInfoMask); }

// SEV information response: [63:48] max protocol version, [47:32] min,
// [31:24] C-bit position.
struct SevInfo {
  uint16_t max_version;
  uint16_t min_version;
  uint8_t c_bit;
};
uint64_t sev_info_request();
bool decode_sev_info(uint64_t v, SevInfo* out);
uint64_t encode_sev_info(SevInfo info);  // the hypervisor's side, for tests

// CPUID request: [63:32] function, [31:30] register; the response carries the
// register value in [63:32]. Only leaves without a subleaf can be asked.
enum class CpuidReg : uint8_t { eax = 0, ebx = 1, ecx = 2, edx = 3 };
uint64_t cpuid_request(uint32_t function, CpuidReg reg);
bool decode_cpuid_response(uint64_t v, CpuidReg expected, uint32_t* value);

// GHCB GPA registration (SNP): [63:12] GFN. The response echoes the GFN, or
// all ones in GHCBData on failure.
uint64_t register_gpa_request(uint64_t gfn);
bool decode_register_gpa_response(uint64_t v, uint64_t expected_gfn);

// SNP page state change: [55:52] operation, [51:12] GFN. The response
// carries an error code in [63:32], 0 on success.
enum class PageState : uint8_t { private_ = 1, shared = 2 };
uint64_t page_state_change_request(uint64_t gfn, PageState op);
bool decode_page_state_change_response(uint64_t v, uint32_t* error);

uint64_t hv_features_request();
bool decode_hv_features_response(uint64_t v, uint64_t* features);  // [63:12]

// Termination: [15:12] reason code set, [23:16] reason code (GHCB spec
// §2.3.1, "Termination Request"; set 0 codes in §2.3.1 table 4).
constexpr uint8_t kReasonSetGeneral = 0;
constexpr uint8_t kReasonGeneral = 0;
constexpr uint8_t kReasonProtocolUnsupported = 1;
constexpr uint8_t kReasonSnpFeaturesUnsupported = 2;
// Reason set 1 is the guest's own; this framework reports its test verdict
// there so a host can tell a test failure from a framework abort.
constexpr uint8_t kReasonSetFramework = 1;
uint64_t termination_request(uint8_t reason_set, uint8_t reason_code);

}  // namespace msr
}  // namespace ghcb
