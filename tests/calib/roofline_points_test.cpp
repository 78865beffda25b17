// calib::roofline_points against calib::make_report on a synthetic database: the same groups,
// one point per priced measurement, and each group's fastest point is the report's best rate.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "calib/report.h"
#include "calib/suite.h"
#include "calib/synthetic.h"
#include "catalog_fixture.h"
#include "store/temp_db.h"

namespace fathom::calib {
namespace {

TEST(RooflinePoints, AreTheReportsMeasurementsWithTheirBestRates) {
  const hw::GpuSpec& g = *test::hardware().find_gpu("h200-sxm");
  const std::string path = store::temp_db("roofline_points");
  std::vector<store::MeasurementRecord> ms;
  {
    store::CalibStore db = store::CalibStore::open(path);
    generate_synthetic(default_plan(true), g, db, {});
    ms = db.measurements();
  }
  std::filesystem::remove(path);
  const auto points = roofline_points(ms);
  const CalibReport report = make_report(ms, g, nullptr);

  std::map<std::string, size_t> count;
  std::map<std::string, double> best;
  size_t launch = 0;
  for (const auto& m : ms) launch += m.kind == "launch";
  for (const auto& p : points) {
    ++count[p.group];
    const double rate = p.rate_is_flops ? p.flops_per_s : p.bytes_per_s;
    best[p.group] = std::max(best[p.group], rate);
    EXPECT_DOUBLE_EQ(p.flops_per_s, p.flops / p.time_s);
    if (p.flops > 0 && p.bytes > 0) EXPECT_DOUBLE_EQ(p.intensity, p.flops / p.bytes);
    else EXPECT_TRUE(std::isnan(p.intensity));
  }
  EXPECT_EQ(points.size() + launch + report.unpredicted, ms.size());
  size_t groups = 0;
  for (const auto& row : report.rows) {
    if (row.group == "launch") continue;
    ++groups;
    EXPECT_EQ(count[row.group], row.points) << row.group;
    EXPECT_EQ(best[row.group], row.best_rate) << row.group;
  }
  EXPECT_EQ(groups, count.size());
  EXPECT_GT(count["gemm bf16"], 0u);
  EXPECT_GT(count["attention"], 0u);
}

}  // namespace
}  // namespace fathom::calib
