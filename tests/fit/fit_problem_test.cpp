// What the Scaling laws page and `fathom-plot fit` call besides the engine: prepare_fit (the
// inputs of `fathom fit`), the multi-start's progress and cancellation (FitControl), result_csv,
// the result file's plotting fields, and the fitted curve with its band (fit/curve.h).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "fit/curve.h"
#include "fit/fitter.h"
#include "fit/optimal.h"
#include "fit/problem.h"
#include "fit/result.h"

namespace fathom::fit {
namespace {

const std::string kData = FATHOM_TEST_DATA_DIR;

std::string error_of(const FitSpec& s) {
  try {
    prepare_fit(s);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

FitSpec latency_spec() {
  FitSpec s;
  s.data = kData + "/fit/latency_small.csv";
  s.law = "latency_load";
  s.columns = {"lambda=rate", "W=latency"};
  s.threads = 2;
  return s;
}

TEST(FitProblem, PreparesTheLawThePointsAndTheOptionsOfTheSpec) {
  FitSpec s = latency_spec();
  s.columns.push_back("rho=rate/40");
  s.seed = 7;
  s.fix = {"l0=0.05"};
  const FitProblem p = prepare_fit(s);
  EXPECT_EQ(p.law->name, "latency_load");
  ASSERT_EQ(p.data.size(), 19u);  // the file's rows
  EXPECT_EQ(p.data.x[0][0], 2);   // first row: rate 2, latency 0.050959
  EXPECT_EQ(p.data.y[0], 0.050959);
  EXPECT_EQ(p.data.lines[0], 3);  // a comment line, the header, then the row
  EXPECT_EQ(p.options.seed, 7u);
  EXPECT_EQ(p.options.fixed.at("l0"), 0.05);
  EXPECT_EQ(p.options.space, Space::Data);  // the law's own
  EXPECT_EQ(p.columns, (std::vector<std::string>{"rate", "latency", "lambda", "W", "rho"}));
  const std::vector<double> rho = column_at_points(p, "rho", "--series");
  EXPECT_DOUBLE_EQ(rho[0], 2.0 / 40);
  EXPECT_EQ(column_text_at_points(p, "rate", "--series")[1], "4");
}

TEST(FitProblem, DropHighestKeepsTheRowsOfThePoints) {
  FitSpec s = latency_spec();
  s.drop_highest = 2;
  const FitProblem p = prepare_fit(s);
  EXPECT_EQ(p.data.size(), 17u);
  EXPECT_EQ(p.dropped, 2u);
  ASSERT_EQ(p.rows.size(), 17u);
  for (size_t i = 0; i < p.rows.size(); ++i) EXPECT_EQ(p.data.lines[i], p.table.line(p.rows[i]));
}

TEST(FitProblem, ErrorsNameTheFlagOrTheFileAsTheCommandDoes) {
  FitSpec s = latency_spec();
  s.law.clear();
  s.formula = "latency = l0 + c*(rate/mu)/(1 - rate/mu";
  EXPECT_EQ(error_of(s).rfind("--formula: column 40: expected ')'", 0), 0u) << error_of(s);
  s = latency_spec();
  s.columns = {};
  EXPECT_NE(error_of(s).find("latency_small.csv: expected a column 'lambda' for the variable of the latency_load law"),
            std::string::npos)
      << error_of(s);
  s = latency_spec();
  s.grid = {"mux=1,2"};
  EXPECT_NE(error_of(s).find("--grid: expected a parameter of latency_load"), std::string::npos) << error_of(s);
  EXPECT_NE(error_of(s).find("did you mean 'mu'"), std::string::npos) << error_of(s);
  s = latency_spec();
  s.formula = "y = a*x";
  EXPECT_EQ(error_of(s).rfind("--law: expected exactly one of", 0), 0u) << error_of(s);
  s = latency_spec();
  s.columns = {"lambda=rates"};
  EXPECT_EQ(error_of(s).rfind("--column: expected columns of", 0), 0u) << error_of(s);
}

// The multi-start's progress and cancellation (FitControl), like the bootstrap's.
TEST(FitControl, ProgressRisesToTheStartCountAndLeavesTheFitUnchanged) {
  FitSpec s;
  s.data = kData + "/fit/scaling_small.csv";
  s.law = "compute";
  s.columns = {"C=6*N*D"};
  s.threads = 2;
  const FitProblem p = prepare_fit(s);
  const FitResult plain = fit(*p.law, p.data, p.options);
  std::vector<std::pair<int64_t, int64_t>> calls;
  FitControl c;
  c.on_progress = [&](int64_t done, int64_t total) { calls.emplace_back(done, total); };
  const FitResult watched = fit(*p.law, p.data, p.options, c);
  EXPECT_EQ(plain.params, watched.params);
  EXPECT_EQ(plain.objective, watched.objective);
  const auto starts = static_cast<int64_t>(plain.starts);
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls.front(), std::make_pair(int64_t{0}, starts));
  EXPECT_EQ(calls.back(), std::make_pair(starts, starts));
  for (size_t i = 1; i < calls.size(); ++i) EXPECT_GT(calls[i].first, calls[i - 1].first);
}

TEST(FitControl, ATokenSetDuringTheMultiStartStopsItWithinASecond) {
  FitSpec s;
  s.data = kData + "/fit/scaling_small.csv";
  s.law = "chinchilla";
  s.random_starts = 200000;  // minutes of starts unless stopped
  s.threads = 2;
  const FitProblem p = prepare_fit(s);
  std::atomic<bool> cancel{false};
  FitControl c;
  c.cancel = &cancel;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  std::string message;
  try {
    fit(*p.law, p.data, p.options, c);
  } catch (const Cancelled& e) {
    message = e.what();
  }
  const double s_total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stopper.join();
  EXPECT_EQ(message.rfind("fit: cancelled in the multi-start after ", 0), 0u) << message;
  EXPECT_LT(s_total, 1.3) << "300 ms, then at most one start per thread";
}

TEST(FitResultCsv, HasTheColumnsOfFitFormatCsvAndReadsBackTheValues) {
  const FitProblem p = prepare_fit(latency_spec());
  FitRecord rec;
  rec.options = p.options;
  rec.result = fit(*p.law, p.data, p.options);
  rec.boot = bootstrap(*p.law, p.data, p.options, rec.result, 50, 0.9);
  const std::string csv = result_csv(*p.law, rec);
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "name,kind,value,std_error,low,high");
  for (size_t j = 0; j < p.law->params.size(); ++j) {
    ASSERT_TRUE(std::getline(in, line));
    std::istringstream row(line);
    std::string name, kind, value, se, low, high;
    std::getline(row, name, ',');
    std::getline(row, kind, ',');
    std::getline(row, value, ',');
    std::getline(row, se, ',');
    std::getline(row, low, ',');
    std::getline(row, high, ',');
    EXPECT_EQ(name, p.law->params[j].name);
    EXPECT_EQ(kind, "parameter");
    EXPECT_EQ(std::stod(value), rec.result.params[j]);  // 17 digits: the double itself
    EXPECT_EQ(std::stod(se), rec.result.std_error[j]);
    EXPECT_EQ(std::stod(low), rec.boot->params[j].low);
    EXPECT_EQ(std::stod(high), rec.boot->params[j].high);
  }
}

TEST(FitResultFile, KeepsWhatAPlotOfTheFitNeeds) {
  FitSpec s = latency_spec();
  s.drop_highest = 1;
  const FitProblem p = prepare_fit(s);
  FitRecord rec;
  rec.data_file = s.data;
  rec.points = p.data.size();
  rec.dropped = p.dropped;
  rec.columns = s.columns;
  rec.options = p.options;
  rec.result = fit(*p.law, p.data, p.options);
  rec.boot = bootstrap(*p.law, p.data, p.options, rec.result, 20, 0.8);
  const auto path = std::filesystem::temp_directory_path() / "fathom_fit_problem_test.yaml";
  std::ofstream(path) << result_yaml(*p.law, rec);
  const LoadedFit f = load_fit(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(f.columns, s.columns);
  EXPECT_EQ(f.dropped, 1u);
  EXPECT_EQ(f.space, Space::Data);
  EXPECT_DOUBLE_EQ(f.level, 0.8);
}

TEST(FitCurve, NormalQuantileMatchesTables) {
  // Abramowitz & Stegun table 26.5 / the usual 1.96 and 2.576.
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-14);
  EXPECT_NEAR(normal_quantile(0.995), 2.5758293035489004, 1e-13);
  EXPECT_NEAR(normal_quantile(0.5), 0, 1e-15);
  EXPECT_NEAR(normal_quantile(0.001), -3.090232306167813, 1e-12);
  EXPECT_THROW(normal_quantile(1.0), FlagError);
}

TEST(FitCurve, FollowsTheLawAlongAnAxisWithOtherVariablesInterpolatedInLog) {
  auto law = make_law("chinchilla");
  const std::vector<double> params = {6.17, 7.67, 0.597, 0.347, 0.367};
  // An iso-FLOP run: C = 6ND fixed, so D = C/(6N) at every N; the curve follows it exactly.
  const double c = 1e21;
  std::vector<double> axis;
  std::vector<std::vector<double>> vars(2);
  for (double n : {1e8, 1e9, 1e10}) {
    axis.push_back(n);
    vars[0].push_back(n);
    vars[1].push_back(c / (6 * n));
  }
  FittedLaw f{law.get(), params, {true, true, true, true, true}, {}, Space::Log};
  const auto curve = fitted_curve(f, axis, vars, 21, 0.95);
  ASSERT_EQ(curve.size(), 21u);
  EXPECT_DOUBLE_EQ(curve.front().axis, 1e8);
  EXPECT_DOUBLE_EQ(curve.back().axis, 1e10);
  for (const auto& b : curve) {
    EXPECT_NEAR(6 * b.variables[0] * b.variables[1] / c, 1, 1e-12);
    EXPECT_NEAR(b.value, predict(*law, params, b.variables), 1e-15 * b.value);
    EXPECT_TRUE(std::isnan(b.low));  // no covariance, no band
  }
}

TEST(FitCurve, BandIsTheDeltaMethodIntervalOnLogFInLogSpace) {
  auto law = make_law("compute");
  const std::vector<double> params = {std::log(1.5), 8.0, 0.15};
  // A diagonal covariance: se of log f = sqrt(g' Σ g) / f.
  const std::vector<double> cov = {0.01, 0, 0, 0, 0.04, 0, 0, 0, 1e-4};
  FittedLaw f{law.get(), params, {true, true, true}, cov, Space::Log};
  const auto curve = fitted_curve(f, {1e20, 1e22}, {{1e20, 1e22}}, 3, 0.95);
  ASSERT_EQ(curve.size(), 3u);
  for (const auto& b : curve) {
    const Prediction p = predict_with_error(*law, params, f.free, cov, b.variables);
    const double z = 1.959963984540054;
    EXPECT_NEAR(std::log(b.high / b.value), z * p.std_error / p.value, 1e-12);
    EXPECT_NEAR(std::log(b.value / b.low), z * p.std_error / p.value, 1e-12);
  }
}

TEST(FitCurve, ResidualsAreInTheFitsSpace) {
  const FitProblem p = prepare_fit(latency_spec());
  const FitResult r = fit(*p.law, p.data, p.options);
  const auto data_r = point_residuals(*p.law, r.params, Space::Data, p.data);
  const auto log_r = point_residuals(*p.law, r.params, Space::Log, p.data);
  double ss = 0;
  for (size_t i = 0; i < p.data.size(); ++i) {
    const double f = predict(*p.law, r.params, {p.data.x[0][i]});
    EXPECT_DOUBLE_EQ(data_r[i], f - p.data.y[i]);
    EXPECT_DOUBLE_EQ(log_r[i], std::log(f) - std::log(p.data.y[i]));
    ss += data_r[i] * data_r[i];
  }
  // The objective of a data-space fit without a robust loss is ½ Σ r².
  EXPECT_NEAR(0.5 * ss / r.objective, 1, 1e-12);
}

TEST(FitAllocation, ProblemFromTheFlagsOfOptimalNamesAMissingVariable) {
  auto law = make_law("data_constrained");
  const std::vector<double> params(law->params.size(), 1.0);
  try {
    make_allocation_problem(*law, params, 6, {});
    ADD_FAILURE() << "no error";
  } catch (const FlagError& e) {
    EXPECT_STREQ(e.what(), "--at: expected --at U=VALUE for the data_constrained law's variable U");
  }
  const AllocationProblem p = make_allocation_problem(*law, params, 8, {"U=1e11"});
  EXPECT_EQ(p.others, std::vector<double>{1e11});
  EXPECT_EQ(p.flops_per_param_token, 8);
  EXPECT_THROW(make_allocation_problem(*make_law("compute"), {1, 1, 1}, 6, {}), FlagError);
  EXPECT_THROW(check_budgets({1e21, -1}), FlagError);
  EXPECT_THROW(check_budgets({}), FlagError);
}

TEST(FitAllocation, CsvHasTheColumnsOfOptimalAndReadsBackTheValues) {
  auto law = make_law("chinchilla");
  const AllocationProblem p = make_allocation_problem(*law, {6.17, 7.67, 0.597, 0.347, 0.367}, 6, {});
  const Allocation a = optimal_allocation(p, 5.76e23);
  const std::string csv = allocations_csv({a}, "L");
  std::istringstream in(csv);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  EXPECT_EQ(header, "compute,N,D,tokens_per_param,L");
  std::istringstream cells(row);
  std::string c;
  std::vector<double> v;
  while (std::getline(cells, c, ',')) v.push_back(std::stod(c));
  EXPECT_EQ(v, (std::vector<double>{a.compute, a.n, a.d, a.tokens_per_param, a.loss}));
  const auto curve = isoflop_curve(p, 1e21);
  EXPECT_EQ(isoflop_csv({curve, curve}, "L").find("compute,N,D,tokens_per_param,L\n"), 0u);
}

}  // namespace
}  // namespace fathom::fit
