// Host tests of the access model (lib/cpu/access_model.h): one case per
// rule of Intel SDM vol.3 §4.6-4.8 / AMD APM vol.2 §5.6, §8.4.2, and the
// combination spaces the guest test walks.
#include "cpu/access_model.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace access_model;

namespace {

constexpr Access kUserRead{Op::read, Mode::user};
constexpr Access kUserWrite{Op::write, Mode::user};
constexpr Access kUserFetch{Op::fetch, Mode::user};
constexpr Access kSupRead{Op::read, Mode::supervisor};
constexpr Access kSupWrite{Op::write, Mode::supervisor};
constexpr Access kSupFetch{Op::fetch, Mode::supervisor};
constexpr Access kImpRead{Op::read, Mode::implicit_supervisor};
constexpr Access kImpWrite{Op::write, Mode::implicit_supervisor};

Walk walk4k() { return Walk{}; }
Walk walk(PageSize s, int levels = 4) {
  Walk w;
  w.levels = levels;
  w.size = s;
  return w;
}

uint32_t ec(const Walk& w, const Controls& c, Access a) {
  Outcome o = evaluate(w, c, a);
  return o.fault ? o.error_code : 0xffffffffu;
}
bool faults(const Walk& w, const Controls& c, Access a) { return evaluate(w, c, a).fault; }

TEST(AccessModel, WalkLengths) {
  EXPECT_EQ(walk(PageSize::k4K).count(), 4);
  EXPECT_EQ(walk(PageSize::k2M).count(), 3);
  EXPECT_EQ(walk(PageSize::k1G).count(), 2);
  EXPECT_EQ(walk(PageSize::k4K, 5).count(), 5);
  EXPECT_EQ(walk(PageSize::k1G, 5).count(), 3);
  Walk w = walk(PageSize::k2M, 5);
  EXPECT_STREQ(entry_name(w, 0), "PML5E");
  EXPECT_STREQ(entry_name(w, 1), "PML4E");
  EXPECT_STREQ(entry_name(w, 3), "PDE");
  EXPECT_STREQ(entry_name(walk4k(), 3), "PTE");
}

TEST(AccessModel, GrantingWalkSetsAccessedAndDirty) {
  for (PageSize s : {PageSize::k4K, PageSize::k2M, PageSize::k1G}) {
    Walk w = walk(s);
    for (int i = 0; i < w.count(); ++i) w.entry[i].a = false;
    w.leaf().d = false;
    Outcome r = evaluate(w, Controls{}, kUserRead);
    EXPECT_FALSE(r.fault);
    for (int i = 0; i < w.count(); ++i) EXPECT_EQ(r.a[i], Flag::set);
    EXPECT_EQ(r.d, Flag::clear) << "a read leaves D alone (SDM 4.8)";
    Outcome wr = evaluate(w, Controls{}, kUserWrite);
    EXPECT_FALSE(wr.fault);
    EXPECT_EQ(wr.d, Flag::set);
  }
}

// SDM 4.7: P=0 in the error code for a not-present entry, at any level;
// W, U and I/D describe the access.
TEST(AccessModel, NotPresentAtEachLevel) {
  for (int lvl = 0; lvl < 4; ++lvl) {
    Walk w = walk4k();
    w.entry[lvl].p = false;
    for (int i = 0; i < 4; ++i) w.entry[i].a = false;
    Outcome o = evaluate(w, Controls{}, kUserWrite);
    EXPECT_TRUE(o.fault);
    EXPECT_EQ(o.error_code, pfec::W | pfec::U);
    EXPECT_EQ(o.fault_entry, lvl);
    for (int i = 0; i < lvl; ++i) EXPECT_EQ(o.a[i], Flag::any);
    for (int i = lvl; i < 4; ++i) EXPECT_EQ(o.a[i], Flag::clear) << "entry " << i;
  }
  Walk w = walk4k();
  w.leaf().p = false;
  EXPECT_EQ(ec(w, Controls{}, kSupRead), 0u);
  EXPECT_EQ(ec(w, Controls{.nxe = true}, kSupFetch), pfec::ID);
  EXPECT_EQ(ec(w, Controls{.nxe = false}, kSupFetch), 0u) << "I/D needs NXE or SMEP";
  EXPECT_EQ(ec(w, Controls{.smep = true, .nxe = false}, kSupFetch), pfec::ID);
}

// SDM 4.5/4.7: a reserved bit gives P|RSVD, and the first bad entry wins.
TEST(AccessModel, ReservedBits) {
  Walk w = walk4k();
  w.entry[1].rsvd = true;
  EXPECT_EQ(ec(w, Controls{}, kSupRead), pfec::P | pfec::RSVD);
  EXPECT_EQ(ec(w, Controls{}, kUserFetch), pfec::P | pfec::RSVD | pfec::U | pfec::ID);
  w.entry[0].p = false;
  EXPECT_EQ(ec(w, Controls{}, kSupRead), 0u) << "not present above the reserved bit";
  // XD is reserved with NXE=0.
  Walk x = walk4k();
  x.entry[2].nx = true;
  EXPECT_EQ(ec(x, Controls{.nxe = false}, kSupRead), pfec::P | pfec::RSVD);
  EXPECT_FALSE(faults(x, Controls{.nxe = true}, kSupRead));
  // Reserved bits are checked even for accesses the rights would deny.
  Walk r = walk4k();
  r.leaf().rsvd = true;
  r.leaf().us = false;
  EXPECT_EQ(ec(r, Controls{}, kUserRead), pfec::P | pfec::RSVD | pfec::U);
  // A reserved or not-present leaf leaves its A and D alone.
  r.leaf().a = false;
  r.leaf().d = false;
  Outcome o = evaluate(r, Controls{}, kUserWrite);
  EXPECT_EQ(o.a[3], Flag::clear);
  EXPECT_EQ(o.d, Flag::clear);
}

// SDM 4.6.1: user-mode accesses need U/S=1 everywhere, writes R/W=1
// everywhere, fetches XD=0 everywhere; CR0.WP does not matter at CPL3.
TEST(AccessModel, UserRights) {
  for (int lvl = 0; lvl < 4; ++lvl) {
    Walk w = walk4k();
    w.entry[lvl].us = false;
    EXPECT_EQ(ec(w, Controls{}, kUserRead), pfec::P | pfec::U);
    EXPECT_EQ(ec(w, Controls{}, kUserWrite), pfec::P | pfec::W | pfec::U);
    EXPECT_EQ(ec(w, Controls{}, kUserFetch), pfec::P | pfec::U | pfec::ID);
    Walk r = walk4k();
    r.entry[lvl].rw = false;
    EXPECT_FALSE(faults(r, Controls{}, kUserRead));
    EXPECT_EQ(ec(r, Controls{.wp = false}, kUserWrite), pfec::P | pfec::W | pfec::U);
    EXPECT_EQ(ec(r, Controls{.wp = true}, kUserWrite), pfec::P | pfec::W | pfec::U);
    Walk x = walk4k();
    x.entry[lvl].nx = true;
    EXPECT_FALSE(faults(x, Controls{}, kUserRead));
    EXPECT_EQ(ec(x, Controls{}, kUserFetch), pfec::P | pfec::U | pfec::ID);
  }
}

// SDM 4.6.1, "Data writes": supervisor writes to read-only pages fault
// only with CR0.WP=1.
TEST(AccessModel, SupervisorWriteProtect) {
  for (bool us : {false, true}) {
    Walk w = walk4k();
    w.leaf().rw = false;
    w.leaf().us = us;
    EXPECT_FALSE(faults(w, Controls{.wp = false}, kSupWrite));
    EXPECT_EQ(ec(w, Controls{.wp = true}, kSupWrite), pfec::P | pfec::W);
    EXPECT_FALSE(faults(w, Controls{.wp = true}, kSupRead));
  }
}

// SDM 4.6.1: SMEP blocks supervisor fetches from user-mode addresses only
// (U/S=1 at every level), SMAP blocks supervisor data accesses to them
// unless AC=1 and the access is explicit.
TEST(AccessModel, SmepSmap) {
  Walk u = walk4k();  // a user-mode address
  EXPECT_FALSE(faults(u, Controls{}, kSupFetch));
  EXPECT_EQ(ec(u, Controls{.smep = true}, kSupFetch), pfec::P | pfec::ID);
  EXPECT_FALSE(faults(u, Controls{.smep = true}, kUserFetch));
  EXPECT_FALSE(faults(u, Controls{.smep = true}, kSupRead));
  Walk s = walk4k();
  s.entry[1].us = false;  // supervisor-mode address through an upper entry
  EXPECT_FALSE(faults(s, Controls{.smep = true}, kSupFetch));
  EXPECT_FALSE(faults(s, Controls{.smap = true}, kSupWrite));

  EXPECT_EQ(ec(u, Controls{.smap = true}, kSupRead), pfec::P);
  EXPECT_EQ(ec(u, Controls{.smap = true}, kSupWrite), pfec::P | pfec::W);
  EXPECT_FALSE(faults(u, Controls{.smap = true, .ac = true}, kSupRead));
  EXPECT_FALSE(faults(u, Controls{.smap = true, .ac = true}, kSupWrite));
  EXPECT_EQ(ec(u, Controls{.smap = true, .ac = true}, kImpRead), pfec::P)
      << "AC does not open user pages to implicit accesses";
  EXPECT_EQ(ec(u, Controls{.smap = true, .ac = true}, kImpWrite), pfec::P | pfec::W);
  EXPECT_FALSE(faults(u, Controls{.smap = false}, kImpRead));
  EXPECT_FALSE(faults(u, Controls{.smap = true}, kSupFetch)) << "SMAP is about data";
  // AC with WP=1 still needs R/W=1.
  Walk ro = walk4k();
  ro.leaf().rw = false;
  EXPECT_EQ(ec(ro, Controls{.wp = true, .smap = true, .ac = true}, kSupWrite),
            pfec::P | pfec::W);
  EXPECT_FALSE(faults(ro, Controls{.wp = false, .smap = true, .ac = true}, kSupWrite));
}

// An implicit supervisor access at CPL3 is a supervisor access: U=0.
TEST(AccessModel, ImplicitAccessIsSupervisor) {
  Walk s = walk4k();
  s.leaf().us = false;
  EXPECT_FALSE(faults(s, Controls{}, kImpRead));
  Walk np = walk4k();
  np.leaf().p = false;
  EXPECT_EQ(ec(np, Controls{}, kImpWrite), pfec::W);
}

// SDM 4.6.1, "Instruction fetches": XD at any level, with NXE=1.
TEST(AccessModel, ExecuteDisable) {
  for (int lvl = 0; lvl < 4; ++lvl) {
    Walk x = walk4k();
    x.entry[lvl].nx = true;
    EXPECT_EQ(ec(x, Controls{}, kSupFetch), pfec::P | pfec::ID);
    EXPECT_EQ(ec(x, Controls{.smep = true}, kSupFetch), pfec::P | pfec::ID);
  }
}

// SDM 4.6.2 and the PK flag of 4.7.
TEST(AccessModel, ProtectionKeys) {
  Walk u = walk4k();
  u.pkey = 1;
  Controls ad{.pke = true, .pkru = pkr_ad(1)};
  EXPECT_EQ(ec(u, ad, kUserRead), pfec::P | pfec::U | pfec::PK);
  EXPECT_EQ(ec(u, ad, kUserWrite), pfec::P | pfec::W | pfec::U | pfec::PK);
  EXPECT_EQ(ec(u, ad, kSupRead), pfec::P | pfec::PK) << "PKRU also binds supervisor accesses";
  EXPECT_FALSE(faults(u, ad, kUserFetch)) << "keys never apply to fetches";
  Walk k0 = walk4k();
  EXPECT_FALSE(faults(k0, ad, kUserRead)) << "key 0 is allowed";

  Controls wd{.pke = true, .pkru = pkr_wd(1)};
  EXPECT_FALSE(faults(u, wd, kUserRead));
  EXPECT_EQ(ec(u, wd, kUserWrite), pfec::P | pfec::W | pfec::U | pfec::PK);
  EXPECT_FALSE(faults(u, wd, kSupWrite)) << "WD binds supervisor writes only with WP=1";
  wd.wp = true;
  EXPECT_EQ(ec(u, wd, kSupWrite), pfec::P | pfec::W | pfec::PK);

  // PKRU does not apply to supervisor-mode addresses, PKRS does.
  Walk s = walk4k();
  s.pkey = 1;
  s.leaf().us = false;
  EXPECT_FALSE(faults(s, ad, kSupRead));
  Controls pks{.pks = true, .pkrs = pkr_ad(1)};
  EXPECT_EQ(ec(s, pks, kSupRead), pfec::P | pfec::PK);
  EXPECT_FALSE(faults(u, pks, kUserRead)) << "PKRS does not apply to user-mode addresses";
  // A user access to a supervisor page keyed off by PKRS: both rules deny,
  // and PK is reported.
  EXPECT_EQ(ec(s, pks, kUserRead), pfec::P | pfec::U | pfec::PK);

  // PK together with an ordinary violation.
  Walk ro = u;
  ro.leaf().rw = false;
  EXPECT_EQ(ec(ro, Controls{.pke = true, .pkru = pkr_wd(1)}, kUserWrite),
            pfec::P | pfec::W | pfec::U | pfec::PK);
  // No keys with CR4.PKE=0.
  EXPECT_FALSE(faults(u, Controls{.pkru = pkr_ad(1)}, kUserRead));
  // Reserved bits win over keys.
  Walk rv = u;
  rv.leaf().rsvd = true;
  EXPECT_EQ(ec(rv, ad, kUserRead), pfec::P | pfec::RSVD | pfec::U);
}

// SDM 6.15 (interrupt 14): a protection fault sets A in the upper
// entries; the leaf's A is model specific; no fault sets D.
TEST(AccessModel, ProtectionFaultAccessedFlags) {
  Walk w = walk4k();
  for (int i = 0; i < 4; ++i) w.entry[i].a = false;
  w.leaf().d = false;
  w.leaf().rw = false;
  Outcome o = evaluate(w, Controls{}, kUserWrite);
  ASSERT_TRUE(o.fault);
  EXPECT_EQ(o.a[0], Flag::set);
  EXPECT_EQ(o.a[2], Flag::set);
  EXPECT_EQ(o.a[3], Flag::any);
  EXPECT_EQ(o.d, Flag::clear);
  w.leaf().a = true;
  EXPECT_EQ(evaluate(w, Controls{}, kUserWrite).a[3], Flag::set) << "A is never cleared";
}

TEST(AccessModel, Describe) {
  Walk w = walk4k();
  w.leaf().rw = false;
  Controls c{.wp = true, .smap = true};
  char buf[256];
  EXPECT_STREQ(describe(buf, sizeof buf, w, c, kUserWrite),
               "user write, 4K, PTE.RW=0, CR0.WP=1, SMEP=0, SMAP=1, AC=0, NXE=1");
  Walk g = walk(PageSize::k1G, 5);
  g.entry[0].rsvd = true;
  g.leaf().d = false;
  g.pkey = 1;
  Controls k{.pke = true, .pkru = pkr_ad(1)};
  EXPECT_STREQ(describe(buf, sizeof buf, g, k, kImpRead),
               "implicit supervisor read, 1G, 5-level, PML5E.RSVD=1, PDPTE.D=0, PDPTE.PKEY=1, "
               "CR0.WP=0, SMEP=0, SMAP=0, AC=0, NXE=1, PKE=1 PKRU=0x4");
  Outcome o = evaluate(w, c, kUserWrite);
  EXPECT_STREQ(outcome_str(buf, sizeof buf, o), "#PF(0x7)");
  EXPECT_STREQ(outcome_str(buf, sizeof buf, Outcome{}), "none");
  char tiny[8];
  describe(tiny, sizeof tiny, w, c, kUserWrite);
  EXPECT_EQ(std::string(tiny), "user wr");
}

TEST(AccessModel, SpaceCountsAndDistinctCombinations) {
  Space s;
  s.vary_smep = s.vary_smap = s.vary_ac = true;
  s.pke = s.pks = true;
  // 6 accesses x 16 controls x (1 + 4*2) keys x 128 leaf x (1 + 3*6) upper.
  EXPECT_EQ(count(s), 6ull * 16 * 9 * 128 * 19);
  Space small;
  small.vary_wp = false;
  small.upper_single = false;
  small.rsvd = false;
  EXPECT_EQ(count(small), 6ull * 64);
  std::set<std::string> seen;
  char buf[256];
  for (uint64_t i = 0; i < count(small); ++i) {
    Combination c = combination(small, i);
    EXPECT_FALSE(c.walk.leaf().rsvd);
    seen.insert(describe(buf, sizeof buf, c.walk, c.controls, c.access));
  }
  EXPECT_EQ(seen.size(), count(small)) << "every index names a different combination";

  Space cross;
  cross.vary_wp = false;
  cross.leaf_bits = 0;
  cross.upper_single = false;
  cross.upper_cross = true;
  cross.size = PageSize::k2M;
  EXPECT_EQ(count(cross), 6ull * 64);  // two upper entries, 3 bits each
  seen.clear();
  for (uint64_t i = 0; i < count(cross); ++i) {
    Combination c = combination(cross, i);
    EXPECT_EQ(c.walk.count(), 3);
    seen.insert(describe(buf, sizeof buf, c.walk, c.controls, c.access));
  }
  EXPECT_EQ(seen.size(), count(cross));
}

TEST(AccessModel, SpaceCoversEveryUpperFlag) {
  Space s;
  s.vary_wp = false;
  s.leaf_bits = 0;
  std::set<std::string> seen;
  char buf[256];
  for (uint64_t i = 0; i < count(s); ++i) {
    Combination c = combination(s, i);
    if (c.access.op != Op::read || c.access.mode != Mode::user) continue;
    seen.insert(describe(buf, sizeof buf, c.walk, c.controls, c.access));
  }
  for (const char* e : {"PML4E", "PDPTE", "PDE"})
    for (const char* f : {".P=0", ".RW=0", ".US=0", ".XD=1", ".A=0", ".RSVD=1"}) {
      std::string want = std::string("user read, 4K, ") + e + f +
                         ", CR0.WP=0, SMEP=0, SMAP=0, AC=0, NXE=1";
      EXPECT_TRUE(seen.count(want)) << want;
    }
}

TEST(AccessModel, ImplicitAccesses) {
  Space s;
  s.vary_wp = false;
  s.leaf_bits = 0;
  s.upper_single = false;
  s.implicit = true;
  ASSERT_EQ(count(s), 8u);
  EXPECT_EQ(combination(s, 6).access.mode, Mode::implicit_supervisor);
  EXPECT_EQ(combination(s, 6).access.op, Op::read);
  EXPECT_EQ(combination(s, 7).access.op, Op::write);
  EXPECT_EQ(combination(s, 5).access.mode, Mode::supervisor);
}

TEST(AccessModel, KeyVariants) {
  Space s;
  s.vary_wp = false;
  s.leaf_bits = 0;
  s.upper_single = false;
  s.pks = true;  // PKS only: its two variants, each with key 0 and 1
  EXPECT_EQ(count(s), 6ull * 5);
  int pks = 0;
  for (uint64_t i = 0; i < count(s); ++i) {
    Combination c = combination(s, i);
    EXPECT_FALSE(c.controls.pke);
    if (c.controls.pks) ++pks;
  }
  EXPECT_EQ(pks, 6 * 4);
}

}  // namespace
