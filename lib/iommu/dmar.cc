#include "iommu/dmar.h"

namespace iommu {
namespace {

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint64_t rd64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// §8.3.1: type, length, flags, reserved, enumeration ID, start bus, path.
void parse_scopes(const uint8_t* p, size_t len, Drhd* u, PhysAddr where,
                  acpi::Problems* problems) {
  size_t off = 0;
  while (off + 6 <= len) {
    const uint8_t slen = p[off + 1];
    if (slen < 6 || off + slen > len) {
      if (problems) problems->add(acpi::ProblemKind::bad_entry, "DMAR", where, uint32_t(off));
      return;
    }
    if (u->scope_count == Drhd::kMaxScopes) {
      if (problems) problems->add(acpi::ProblemKind::list_full, "DMAR", where, uint32_t(off));
      return;
    }
    DeviceScope& s = u->scopes[u->scope_count++];
    s.type = static_cast<ScopeType>(p[off]);
    s.enumeration_id = p[off + 4];
    s.start_bus = p[off + 5];
    const size_t hops = (slen - 6) / 2;
    s.path_len = static_cast<uint8_t>(hops < 4 ? hops : 4);
    for (size_t i = 0; i < s.path_len; ++i) {
      s.path[i][0] = p[off + 6 + 2 * i];
      s.path[i][1] = p[off + 7 + 2 * i];
    }
    off += slen;
  }
}

}  // namespace

bool parse_dmar(const acpi::SdtHeader* dmar, DmarInfo* out, acpi::Problems* problems) {
  __builtin_memset(out, 0, sizeof(*out));
  const PhysAddr where(reinterpret_cast<uintptr_t>(dmar));
  uint32_t len;
  __builtin_memcpy(&len, &dmar->length, sizeof(len));
  if (len < kDmarHeaderSize) {
    if (problems) problems->add(acpi::ProblemKind::bad_length, "DMAR", where, len);
    return false;
  }
  const uint8_t* t = reinterpret_cast<const uint8_t*>(dmar);
  out->host_address_width = t[36];
  out->flags = t[37];
  size_t off = kDmarHeaderSize;
  while (off + 4 <= len) {
    const uint16_t type = rd16(t + off);
    const uint16_t slen = rd16(t + off + 2);
    if (slen < 4 || off + slen > len) {
      if (problems) problems->add(acpi::ProblemKind::bad_entry, "DMAR", where, uint32_t(off));
      break;
    }
    if (type == static_cast<uint16_t>(DmarType::drhd)) {
      if (slen < 16) {
        if (problems) problems->add(acpi::ProblemKind::bad_entry, "DMAR", where, uint32_t(off));
      } else if (out->unit_count == DmarInfo::kMaxUnits) {
        if (problems) problems->add(acpi::ProblemKind::list_full, "DMAR", where, uint32_t(off));
      } else {
        Drhd& u = out->units[out->unit_count++];
        u.include_pci_all = t[off + 4] & 1;
        u.size_log2 = t[off + 5] & 0xf;
        u.segment = rd16(t + off + 6);
        u.register_base = rd64(t + off + 8);
        parse_scopes(t + off + 16, slen - 16u, &u, where, problems);
      }
    } else if (type == static_cast<uint16_t>(DmarType::rmrr)) {
      ++out->rmrr_count;
    }
    off += slen;
  }
  return true;
}

const Drhd* unit_for(const DmarInfo& info, uint16_t segment, uint8_t bus, uint8_t device,
                     uint8_t function) {
  for (size_t i = 0; i < info.unit_count; ++i) {
    const Drhd& u = info.units[i];
    if (u.segment != segment) continue;
    for (size_t j = 0; j < u.scope_count; ++j) {
      const DeviceScope& s = u.scopes[j];
      if ((s.type == ScopeType::pci_endpoint || s.type == ScopeType::pci_subhierarchy) &&
          s.path_len == 1 && s.start_bus == bus && s.path[0][0] == device &&
          s.path[0][1] == function)
        return &u;
    }
  }
  for (size_t i = 0; i < info.unit_count; ++i)
    if (info.units[i].segment == segment && info.units[i].include_pci_all) return &info.units[i];
  return nullptr;
}

}  // namespace iommu
