// The access model; its rules and their sources are in access_model.h.
#include "cpu/access_model.h"

#include <cstdarg>

#include "rt/format.h"

namespace access_model {

const char* op_str(Op op) {
  switch (op) {
    case Op::read: return "read";
    case Op::write: return "write";
    case Op::fetch: return "fetch";
  }
  return "?";
}

const char* mode_str(Mode m) {
  switch (m) {
    case Mode::user: return "user";
    case Mode::supervisor: return "supervisor";
    case Mode::implicit_supervisor: return "implicit supervisor";
  }
  return "?";
}

const char* page_size_str(PageSize s) {
  switch (s) {
    case PageSize::k4K: return "4K";
    case PageSize::k2M: return "2M";
    case PageSize::k1G: return "1G";
  }
  return "?";
}

const char* flag_str(Flag f) {
  switch (f) {
    case Flag::clear: return "0";
    case Flag::set: return "1";
    case Flag::any: return "0 or 1";
  }
  return "?";
}

const char* entry_name(const Walk& w, int i) {
  // Entry i sits at paging level (levels - i): 5 PML5E ... 1 PTE.
  static const char* const kNames[] = {"PTE", "PDE", "PDPTE", "PML4E", "PML5E"};
  const int level = w.levels - i;
  return level >= 1 && level <= 5 ? kNames[level - 1] : "?";
}

Outcome evaluate(const Walk& w, const Controls& c, Access acc) {
  Outcome o;
  const int n = w.count();
  const bool user = acc.mode == Mode::user;
  const bool write = acc.op == Op::write;
  const bool fetch = acc.op == Op::fetch;

  // The error-code bits that describe the access itself (SDM §4.7).
  uint32_t ec = 0;
  if (write) ec |= pfec::W;
  if (user) ec |= pfec::U;
  if (fetch && (c.smep || c.nxe)) ec |= pfec::ID;

  for (int i = 0; i < kMaxEntries; ++i) o.a[i] = i < n && w.entry[i].a ? Flag::set : Flag::clear;
  o.d = w.leaf().d ? Flag::set : Flag::clear;

  // The walk: the first not-present or reserved entry ends it. The entries
  // above it were read, so their A may have been set.
  bool all_us = true, all_rw = true, any_nx = false;
  for (int i = 0; i < n; ++i) {
    const Entry& e = w.entry[i];
    const bool reserved = e.rsvd || (e.nx && !c.nxe);
    if (!e.p || reserved) {
      o.fault = true;
      o.fault_entry = i;
      o.error_code = ec | (e.p ? pfec::P | pfec::RSVD : 0);
      for (int j = 0; j < i; ++j)
        if (o.a[j] == Flag::clear) o.a[j] = Flag::any;
      return o;
    }
    all_us = all_us && e.us;
    all_rw = all_rw && e.rw;
    any_nx = any_nx || e.nx;
  }

  // Access rights (SDM §4.6.1).
  bool allowed;
  if (user) {
    allowed = all_us && (!write || all_rw) && (!fetch || !any_nx);
  } else if (fetch) {
    allowed = !any_nx && !(c.smep && all_us);
  } else {
    const bool explicit_access = acc.mode == Mode::supervisor;
    const bool smap_blocks = all_us && c.smap && !(c.ac && explicit_access);
    allowed = !smap_blocks && (!write || !c.wp || all_rw);
  }

  // Protection keys (SDM §4.6.2): data accesses only.
  bool key_denies = false;
  if (!fetch) {
    uint32_t pkr = 0;
    if (all_us && c.pke) pkr = c.pkru;
    if (!all_us && c.pks) pkr = c.pkrs;
    if (pkr & pkr_ad(w.pkey)) key_denies = true;
    if ((pkr & pkr_wd(w.pkey)) && write && (user || c.wp)) key_denies = true;
  }

  if (!allowed || key_denies) {
    o.fault = true;
    o.error_code = ec | pfec::P | (key_denies ? pfec::PK : 0);
    for (int j = 0; j < n - 1; ++j) o.a[j] = Flag::set;
    if (o.a[n - 1] == Flag::clear) o.a[n - 1] = Flag::any;
    return o;
  }

  // The translation completed (SDM §4.8).
  for (int j = 0; j < n; ++j) o.a[j] = Flag::set;
  if (write) o.d = Flag::set;
  return o;
}

namespace {

struct Buf {
  char* p;
  size_t size;
  size_t len = 0;
  void add(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
};

void Buf::add(const char* fmt, ...) {
  if (len + 1 >= size) return;
  va_list ap;
  va_start(ap, fmt);
  const int k = rt::vsnprintf(p + len, size - len, fmt, ap);
  va_end(ap);
  if (k > 0) len += size_t(k);
  if (len >= size) len = size - 1;
}

}  // namespace

const char* describe(char* buf, size_t size, const Walk& w, const Controls& c, Access acc) {
  if (size == 0) return buf;
  buf[0] = 0;
  Buf b{buf, size};
  b.add("%s %s, %s", mode_str(acc.mode), op_str(acc.op), page_size_str(w.size));
  if (w.levels == 5) b.add(", 5-level");
  const Entry def;
  const int n = w.count();
  for (int i = 0; i < n; ++i) {
    const Entry& e = w.entry[i];
    const char* name = entry_name(w, i);
    if (e.p != def.p) b.add(", %s.P=0", name);
    if (e.rw != def.rw) b.add(", %s.RW=0", name);
    if (e.us != def.us) b.add(", %s.US=0", name);
    if (e.nx != def.nx) b.add(", %s.XD=1", name);
    if (e.a != def.a) b.add(", %s.A=0", name);
    if (i == n - 1 && e.d != def.d) b.add(", %s.D=0", name);
    if (e.rsvd != def.rsvd) b.add(", %s.RSVD=1", name);
  }
  if (w.pkey) b.add(", %s.PKEY=%u", entry_name(w, n - 1), unsigned(w.pkey));
  b.add(", CR0.WP=%d, SMEP=%d, SMAP=%d, AC=%d, NXE=%d", c.wp, c.smep, c.smap, c.ac, c.nxe);
  if (c.pke) b.add(", PKE=1 PKRU=0x%x", c.pkru);
  if (c.pks) b.add(", PKS=1 PKRS=0x%x", c.pkrs);
  return buf;
}

const char* outcome_str(char* buf, size_t size, const Outcome& o) {
  if (o.fault)
    rt::snprintf(buf, size, "#PF(0x%x)", o.error_code);
  else
    rt::snprintf(buf, size, "none");
  return buf;
}

// --- Spaces ----------------------------------------------------------

namespace {

constexpr int kUpperFlags = 6;  // P, RW, US, NX, A, RSVD

// The mixed-radix digits of a space, least significant first.
struct Radix {
  uint64_t access, wp, smep, smap, ac, keys, leaf, upper;
};

int leaf_bit_count(const Space& s) {
  uint32_t bits = s.leaf_bits;
  if (!s.rsvd) bits &= ~leafbit::RSVD;
  int n = 0;
  for (; bits; bits &= bits - 1) ++n;
  return n;
}

uint32_t leaf_bits(const Space& s) {
  uint32_t bits = s.leaf_bits;
  if (!s.rsvd) bits &= ~leafbit::RSVD;
  return bits;
}

int upper_count(const Space& s) {
  Walk w;
  w.levels = s.levels;
  w.size = s.size;
  return w.count() - 1;
}

uint64_t upper_patterns(const Space& s) {
  const int u = upper_count(s);
  if (s.upper_cross) return uint64_t(1) << (3 * u);
  if (s.upper_single) return 1 + uint64_t(u) * (s.rsvd ? kUpperFlags : kUpperFlags - 1);
  return 1;
}

uint64_t key_variants(const Space& s) {
  return 1 + (s.pke ? 2 : 0) + (s.pks ? 2 : 0);
}

Radix radix(const Space& s) {
  Radix r;
  r.access = s.implicit ? 8 : 6;
  r.wp = s.vary_wp ? 2 : 1;
  r.smep = s.vary_smep ? 2 : 1;
  r.smap = s.vary_smap ? 2 : 1;
  r.ac = s.vary_ac ? 2 : 1;
  // Key variants other than "no keys" come with the leaf's key 0 or 1.
  r.keys = 1 + (key_variants(s) - 1) * 2;
  r.leaf = uint64_t(1) << leaf_bit_count(s);
  r.upper = upper_patterns(s);
  return r;
}

// Bit k of the leaf mask, in order P, RW, US, NX, A, D, RSVD.
void set_leaf_flag(Entry& e, uint32_t bit, bool flipped) {
  if (!flipped) return;
  switch (bit) {
    case leafbit::P: e.p = false; break;
    case leafbit::RW: e.rw = false; break;
    case leafbit::US: e.us = false; break;
    case leafbit::NX: e.nx = true; break;
    case leafbit::A: e.a = false; break;
    case leafbit::D: e.d = false; break;
    case leafbit::RSVD: e.rsvd = true; break;
    default: break;
  }
}

void set_upper_flag(Entry& e, int flag) {
  switch (flag) {
    case 0: e.p = false; break;
    case 1: e.rw = false; break;
    case 2: e.us = false; break;
    case 3: e.nx = true; break;
    case 4: e.a = false; break;
    case 5: e.rsvd = true; break;
    default: break;
  }
}

}  // namespace

uint64_t count(const Space& s) {
  const Radix r = radix(s);
  return r.access * r.wp * r.smep * r.smap * r.ac * r.keys * r.leaf * r.upper;
}

Combination combination(const Space& s, uint64_t index) {
  const Radix r = radix(s);
  Combination c;
  c.walk.levels = s.levels;
  c.walk.size = s.size;
  c.controls.nxe = s.nxe;

  auto digit = [&index](uint64_t base) {
    const uint64_t d = index % base;
    index /= base;
    return d;
  };

  // Access: user r/w/x, supervisor r/w/x, then implicit supervisor r/w.
  const uint64_t a = digit(r.access);
  c.access.op = static_cast<Op>(a % 3);
  c.access.mode = static_cast<Mode>(a / 3);

  c.controls.wp = digit(r.wp) != 0;
  c.controls.smep = digit(r.smep) != 0;
  c.controls.smap = digit(r.smap) != 0;
  c.controls.ac = digit(r.ac) != 0;

  // Keys: 0 none; then (variant, leaf key) pairs. Variants in order PKE
  // AD, PKE WD, PKS AD, PKS WD, those the space has.
  const uint64_t k = digit(r.keys);
  if (k > 0) {
    uint64_t v = (k - 1) / 2;
    c.walk.pkey = uint8_t((k - 1) % 2);
    if (!s.pke) v += 2;
    const uint32_t right = (v % 2 == 0) ? pkr_ad(1) : pkr_wd(1);
    if (v < 2) {
      c.controls.pke = true;
      c.controls.pkru = right;
    } else {
      c.controls.pks = true;
      c.controls.pkrs = right;
    }
  }

  // Leaf flags: digit bit j flips the j-th flag the space varies.
  const uint64_t leaf = digit(r.leaf);
  const uint32_t bits = leaf_bits(s);
  Entry& le = c.walk.leaf();
  int j = 0;
  for (uint32_t bit = 1; bit <= leafbit::RSVD; bit <<= 1) {
    if (!(bits & bit)) continue;
    set_leaf_flag(le, bit, (leaf >> j) & 1);
    ++j;
  }

  const uint64_t up = digit(r.upper);
  const int u = upper_count(s);
  if (s.upper_cross) {
    for (int i = 0; i < u; ++i) {
      const uint64_t t = (up >> (3 * i)) & 7;
      if (t & 1) c.walk.entry[i].rw = false;
      if (t & 2) c.walk.entry[i].us = false;
      if (t & 4) c.walk.entry[i].nx = true;
    }
  } else if (up > 0) {
    const int flags = s.rsvd ? kUpperFlags : kUpperFlags - 1;
    const int entry = int((up - 1) / flags);
    const int flag = int((up - 1) % flags);
    set_upper_flag(c.walk.entry[entry], flag);
  }
  return c;
}

}  // namespace access_model
