#include "store/sweep_store.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "common/error.h"
#include "store/temp_db.h"

namespace fathom::store {

namespace {
// Strings built by constructors, not assigned from literals: GCC 12 at -O2 reports a false
// -Wrestrict inside std::string::assign for the latter.
SweepInfo info(const std::string& hash, int64_t points) {
  return SweepInfo{0, hash, std::string("t"), std::string("estimate"), points, std::string("[\"a\"]"), std::string("spec")};
}

SweepPointRow row(int64_t p, const std::string& metrics = "{\"m\":1}") {
  SweepPointRow r{p,
                  fmt::format("{{\"a\":{}}}", p),
                  std::string("ok"),
                  std::string(),
                  std::string(),
                  p % 2 == 0 ? std::optional<int64_t>(p) : std::nullopt,
                  fmt::format("h{}", p),
                  std::string("text"),
                  std::string("documented defaults"),
                  std::string("x"),
                  metrics};
  return r;
}

}  // namespace

TEST(SweepStore, KeepsPointsOnceAndResumesBySpecHash) {
  const std::string path = temp_db("sweep");
  {
    SweepStore s = SweepStore::open(path, true);
    const int64_t id = s.ensure_sweep(info("abc", 4));
    EXPECT_EQ(s.ensure_sweep(info("abc", 4)), id);
    s.add_points(id, {row(0), row(2)});
    s.add_points(id, {row(2), row(3)});  // 2 again, same result: kept once
    EXPECT_EQ(s.done_points(id), (std::vector<int64_t>{0, 2, 3}));
    EXPECT_THROW(s.add_points(id, {row(3, "{\"m\":2}")}), InputError);  // a different result for a stored point
    EXPECT_EQ(s.done_points(id).size(), 3u);  // the failed batch left nothing
    EXPECT_THROW(s.ensure_sweep(info("abc", 5)), InputError);
  }
  SweepStore r = SweepStore::open(path, false);
  auto pts = r.points(r.find_sweep("abc")->id);
  ASSERT_EQ(pts.size(), 3u);
  EXPECT_EQ(pts[0].seed, 0);
  EXPECT_FALSE(pts[2].seed.has_value());
  EXPECT_EQ(pts[1].values_json, "{\"a\":2}");
}

TEST(SweepStore, MergeJoinsShardsAndRefusesConflicts) {
  const std::string a = temp_db("sweep_a"), b = temp_db("sweep_b"), out = temp_db("sweep_out");
  {
    SweepStore sa = SweepStore::open(a, true), sb = SweepStore::open(b, true);
    sa.add_points(sa.ensure_sweep(info("abc", 4)), {row(0), row(2)});
    sb.add_points(sb.ensure_sweep(info("abc", 4)), {row(1), row(3)});
  }
  SweepStore o = SweepStore::open(out, true);
  EXPECT_EQ(o.merge_from(a), 2);
  EXPECT_EQ(o.merge_from(b), 2);
  EXPECT_EQ(o.merge_from(b), 0);
  EXPECT_EQ(o.done_points(o.find_sweep("abc")->id), (std::vector<int64_t>{0, 1, 2, 3}));
  {
    SweepStore sc = SweepStore::open(a, true);
    sc.add_points(sc.ensure_sweep(info("abc", 4)), {row(1, "{\"m\":9}")});
  }
  EXPECT_THROW(o.merge_from(a), InputError);
  EXPECT_EQ(o.done_points(o.find_sweep("abc")->id).size(), 4u);
}

}  // namespace fathom::store
