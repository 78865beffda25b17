// Training predictions against published measurements (sim/train/validate.h): Megatron-LM
// Table 1, vTrain's measured iteration times, and the at-scale set.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "catalog_fixture.h"
#include "common/version.h"
#include "sim/train/validate.h"

namespace fathom::train {
namespace {

using test::hardware;

TEST(TrainValidation, MegatronTable1WithinTenPercent) {
  ValidationTable t = validate_megatron(data_dir() + "/validation/megatron_table1.csv", hardware());
  std::printf("%-12s %-22s %9s %9s %8s\n", "model", "layout", "measured", "predicted", "error");
  for (const auto& r : t.rows) {
    std::printf("%-12s %-22s %9.1f %9.1f %+7.1f%%\n", r.label.c_str(), r.config.c_str(), r.measured, r.predicted, 100 * r.error);
  }
  std::printf("median |error| %.1f%%, max %.1f%%\n", 100 * t.median_abs_error, 100 * t.max_abs_error);
  ASSERT_EQ(t.rows.size(), 10u);
  EXPECT_LE(t.median_abs_error, 0.10);
}

TEST(TrainValidation, VTrainIterationTimesWithinTwelvePercent) {
  const std::string dir = FATHOM_VTRAIN_DIR;
  if (!std::filesystem::exists(dir + "/ground_truth_single.csv")) GTEST_SKIP() << "vTrain files absent: " << dir;
  ValidationTable t = validate_vtrain(dir, hardware());
  size_t shown = 0;
  for (const auto& r : t.rows) {
    if (shown++ % 50 == 0) {
      std::printf("%-28s %-34s %9.1f %9.1f %+7.1f%%\n", r.label.c_str(), r.config.c_str(), r.measured, r.predicted, 100 * r.error);
    }
  }
  std::printf("%zu rows (every 50th shown): median |error| %.1f%%, mean %.1f%%\n", t.rows.size(), 100 * t.median_abs_error,
              100 * t.mean_abs_error);
  EXPECT_EQ(t.rows.size(), 1549u);
  EXPECT_LE(t.median_abs_error, 0.12);
}

}  // namespace
}  // namespace fathom::train
