// plan::prices_yaml writes what plan::load_prices (the --prices reader) reads back exactly.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "plan/plan_report.h"
#include "store/temp_db.h"

namespace fathom::plan {
namespace {

TEST(Prices, YamlReadsBackExactly) {
  const std::map<std::string, double> prices = {{"h100-sxm", 2.99}, {"B200", 5.2}, {"odd \"name\"", 0.1 + 0.2},
                                                {"mi300x", 1e-3}, {"tpu-v5e", 12345.678901234567}};
  const std::string path = store::temp_db("prices") + ".yaml";
  {
    std::ofstream f(path);
    f << prices_yaml(prices);
  }
  const auto back = load_prices(path);
  std::filesystem::remove(path);
  EXPECT_EQ(back, prices);
  EXPECT_NE(prices_yaml({{"h100-sxm", 2.99}}).find("\"h100-sxm\": 2.99\n"), std::string::npos);
}

TEST(Prices, AnEmptyTableIsRefusedOnReading) {
  const std::string path = store::temp_db("prices_empty") + ".yaml";
  {
    std::ofstream f(path);
    f << prices_yaml({});
  }
  EXPECT_THROW(load_prices(path), Error);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace fathom::plan
