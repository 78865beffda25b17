// The reader's view of a stored sweep (plan/sweep_table.h): the export's tidy table as typed
// cells, each axis's values, one metric against one axis with filters and series, and reading a
// file another connection is still writing (WAL).
#include "plan/sweep_table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"
#include "plan/sweep_export.h"
#include "store/temp_db.h"

namespace fathom::plan {

namespace {

store::SweepInfo info() {
  return store::SweepInfo{0,
                          std::string("f00d"),
                          std::string("grid"),
                          std::string("serve"),
                          12,
                          std::string("[\"budget\",\"gpu\",\"rate\"]"),
                          std::string("spec")};
}

// Point p of budget [512, 64] × gpu [h100, b200] × rate [10, 2, 5.5]: the last axis fastest, the
// budgets and rates written out of order so that sorting shows. Latency = budget / 1000 + rate;
// point 5 failed (no metrics).
store::SweepPointRow point(int64_t p) {
  const int budgets[] = {512, 64};
  const char* gpus[] = {"h100", "b200"};
  const double rates[] = {10, 2, 5.5};
  const int b = budgets[p / 6], r = static_cast<int>(p % 3);
  const char* g = gpus[(p / 3) % 2];
  const bool failed = p == 5;
  store::SweepPointRow row{p,
                           fmt::format("{{\"budget\":{},\"gpu\":\"{}\",\"rate\":{}}}", b, g, rates[r]),
                           std::string(failed ? "failed" : "ok"),
                           std::string(failed ? "does not fit, \"really\"" : ""),
                           std::string(failed ? "" : "stable"),
                           std::optional<int64_t>(1),
                           fmt::format("h{}", p),
                           std::string("text"),
                           std::string("documented defaults"),
                           std::string("x"),
                           failed ? std::string("{}") : fmt::format("{{\"lat_s\":{},\"tps\":{}}}", b / 1000.0 + rates[r], 100 * p)};
  return row;
}

}  // namespace

TEST(SweepTable, HoldsTheExportColumnsWithAxisValuesSortedWhenNumeric) {
  const std::string path = store::temp_db("sweep_table");
  {
    store::SweepStore w = store::SweepStore::open(path, true);
    const int64_t id = w.ensure_sweep(info());
    std::vector<store::SweepPointRow> rows;
    for (int64_t p = 0; p < 12; ++p) rows.push_back(point(p));
    w.add_points(id, rows);
  }
  const store::SweepStore db = store::SweepStore::open(path, false);
  const SweepTable t = read_sweep_table(db, db.sweeps().front());
  EXPECT_EQ(t.columns, (std::vector<std::string>{"point", "budget", "gpu", "rate", "status", "verdict", "seed", "lat_s", "tps",
                                                 "scenario_hash", "message"}));
  EXPECT_EQ(t.axes, (std::vector<std::string>{"budget", "gpu", "rate"}));
  EXPECT_EQ(t.metrics, (std::vector<std::string>{"lat_s", "tps"}));
  EXPECT_EQ(t.axis_values[0], (std::vector<std::string>{"64", "512"}));         // numbers ascending
  EXPECT_EQ(t.axis_values[1], (std::vector<std::string>{"h100", "b200"}));      // text in point order
  EXPECT_EQ(t.axis_values[2], (std::vector<std::string>{"2", "5.5", "10"}));  // ascending, not as text sorts
  ASSERT_EQ(t.rows.size(), 12u);
  EXPECT_EQ(t.rows[5][static_cast<size_t>(t.column("lat_s"))].kind, SweepCell::Kind::kNull);
  EXPECT_EQ(t.rows[4][static_cast<size_t>(t.column("gpu"))].text, "b200");
  EXPECT_DOUBLE_EQ(t.rows[4][static_cast<size_t>(t.column("lat_s"))].number, 0.512 + 2);
  // The CSV, written out by hand for two rows: numbers as JSON writes them, text quoted where
  // RFC 4180 needs it, nulls empty.
  const std::string csv = sweep_table_csv(t);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "point,budget,gpu,rate,status,verdict,seed,lat_s,tps,scenario_hash,message");
  EXPECT_NE(csv.find("\n4,512,b200,2,ok,stable,1,2.512,400,h4,\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n5,512,b200,5.5,failed,,1,,,h5,\"does not fit, \"\"really\"\"\"\n"), std::string::npos) << csv;
  std::filesystem::remove(path);
}

TEST(SweepTable, SelectsAMetricAgainstAnAxisWithFiltersAndSeries) {
  const std::string path = store::temp_db("sweep_select");
  {
    store::SweepStore w = store::SweepStore::open(path, true);
    const int64_t id = w.ensure_sweep(info());
    std::vector<store::SweepPointRow> rows;
    for (int64_t p = 0; p < 12; ++p) rows.push_back(point(p));
    w.add_points(id, rows);
  }
  const store::SweepStore db = store::SweepStore::open(path, false);
  const SweepTable t = read_sweep_table(db, db.sweeps().front());

  // Latency against rate for h100, one series per budget: x ascending, the budget's values in order.
  const SweepPlot p = select_sweep(t, {"rate", "lat_s", "budget", {{"gpu", "h100"}}});
  EXPECT_TRUE(p.x_categories.empty());
  EXPECT_EQ(p.matched, 6);
  EXPECT_EQ(p.plotted, 6);
  ASSERT_EQ(p.series.size(), 2u);
  EXPECT_EQ(p.series[0].label, "budget=64");
  EXPECT_EQ(p.series[0].x, (std::vector<double>{2, 5.5, 10}));
  EXPECT_EQ(p.series[0].y, (std::vector<double>{64 / 1000.0 + 2, 64 / 1000.0 + 5.5, 64 / 1000.0 + 10}));  // as stored
  EXPECT_EQ(p.series[0].rows, (std::vector<size_t>{7, 8, 6}));
  // b200 at budget 512 holds the failed point: matched, not plotted. "512.0" matches 512.
  const SweepPlot f = select_sweep(t, {"rate", "lat_s", "", {{"gpu", "b200"}, {"budget", "512.0"}}});
  EXPECT_EQ(f.matched, 3);
  EXPECT_EQ(f.plotted, 2);
  ASSERT_EQ(f.series.size(), 1u);
  EXPECT_EQ(f.series[0].label, "lat_s");
  EXPECT_EQ(f.series[0].x, (std::vector<double>{2, 10}));
  // A text axis on x: categories in point order, x the index.
  const SweepPlot c = select_sweep(t, {"gpu", "tps", "", {{"budget", "64"}, {"rate", "2"}}});
  EXPECT_EQ(c.x_categories, (std::vector<std::string>{"h100", "b200"}));
  ASSERT_EQ(c.series.size(), 1u);
  EXPECT_EQ(c.series[0].x, (std::vector<double>{0, 1}));
  EXPECT_EQ(c.series[0].y, (std::vector<double>{700, 1000}));

  auto flag_of = [&](const SweepSelection& s) {
    try {
      select_sweep(t, s);
    } catch (const FlagError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(flag_of({"rat", "lat_s", "", {}}).find("--x"), std::string::npos);
  EXPECT_NE(flag_of({"rat", "lat_s", "", {}}).find("budget, gpu, rate"), std::string::npos);
  EXPECT_NE(flag_of({"rate", "ttft", "", {}}).find("--y"), std::string::npos);
  EXPECT_NE(flag_of({"rate", "lat_s", "rate", {}}).find("--series"), std::string::npos);
  EXPECT_NE(flag_of({"rate", "lat_s", "", {{"gpu", "a100"}}}).find("h100, b200"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(SweepTable, ReadsWhatIsCommittedWhileAnotherConnectionWrites) {
  const std::string path = store::temp_db("sweep_live");
  store::SweepStore w = store::SweepStore::open(path, true);
  const int64_t id = w.ensure_sweep(info());
  w.add_points(id, {point(0), point(1)});
  for (int64_t next = 2; next <= 12; next += 5) {
    // A reader opened between two batches sees the batches committed so far, whole.
    const store::SweepStore r = store::SweepStore::open(path, false);
    const SweepTable t = read_sweep_table(r, r.sweeps().front());
    EXPECT_EQ(static_cast<int64_t>(t.rows.size()), next);
    std::vector<store::SweepPointRow> batch;
    for (int64_t p = next; p < std::min<int64_t>(next + 5, 12); ++p) batch.push_back(point(p));
    if (!batch.empty()) w.add_points(id, batch);
    // The same connection, read again, sees the new batch too.
    EXPECT_EQ(static_cast<int64_t>(read_sweep_table(r, r.sweeps().front()).rows.size()), std::min<int64_t>(next + 5, 12));
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
}

}  // namespace fathom::plan
