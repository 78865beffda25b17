// Tests of the fitting engine (fit/fitter.h), the law catalog (fit/law.h), compute-optimal
// allocation (fit/optimal.h) and the result file (fit/result.h).
#include "fit/fitter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "common/error.h"
#include "common/rng.h"
#include "fit/law.h"
#include "fit/optimal.h"
#include "fit/result.h"

namespace fathom::fit {

namespace {

#ifdef FATHOM_SANITIZED
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Fewer points and resamples in the (about ten times slower) sanitized Debug build.
size_t scaled(size_t release, size_t sanitized) { return kSanitized ? sanitized : release; }
int scaled(int release, int sanitized) { return kSanitized ? sanitized : release; }

double log_uniform(Rng& rng, double lo, double hi) {
  return std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * rng.uniform());
}

std::vector<double> at(const Dataset& d, size_t i) {
  std::vector<double> x;
  for (const auto& col : d.x) x.push_back(col[i]);
  return x;
}

// `points` points from draw(rng) → the law's variables, y = f(truth; x) with noise: a factor
// exp(sd·z) in log space, an additive sd·mean(f)·z in data space (sd = 0 gives exact data).
// Lines are numbered as in a CSV file with a header (point i on line i + 2).
Dataset synthesize(const Law& law, const std::vector<double>& truth, size_t points,
                   const std::function<std::vector<double>(Rng&)>& draw, double sd, uint64_t stream) {
  Rng rng(20240611, stream);
  Dataset d;
  d.source = "synthetic.csv";
  d.x.resize(law.variables.size());
  std::vector<double> f;
  for (size_t i = 0; i < points; ++i) {
    const std::vector<double> x = draw(rng);
    for (size_t v = 0; v < x.size(); ++v) d.x[v].push_back(x[v]);
    f.push_back(predict(law, truth, x));
    d.lines.push_back(static_cast<int>(i) + 2);
  }
  double mean = 0;
  for (double v : f) mean += v / static_cast<double>(points);
  for (double v : f) {
    const double z = sd > 0 ? rng.normal() : 0.0;
    d.y.push_back(law.space == Space::Log ? v * std::exp(sd * z) : v + sd * mean * z);
  }
  return d;
}

// ---- synthetic recovery ----

struct Design {
  std::vector<double> truth;  // in the law's parameter order
  size_t points = 100;
  std::function<std::vector<double>(Rng&)> draw;
  double sd = 0.005;
  int resamples = 400;
  // Adjusts the law (grids) and the options (starts) after scale_to_data, for laws whose
  // default grid is large; the default grids are exercised by the CLI tests.
  std::function<void(Law&, Options&)> tune;
};

// One design per catalog law: parameters typical of the law's source and a data range that
// identifies every parameter.
std::map<std::string, Design> designs() {
  std::map<std::string, Design> m;
  auto fewer_starts = [](Law&, Options& o) {
    o.grid = false;
    o.random_starts = 20;
  };
  // Besiroglu et al.'s refit of Chinchilla (A 482, B 2085, E 1.82), N and D spread log-uniformly.
  m["chinchilla"] = {{6.17, 7.67, 0.597, 0.347, 0.367}, scaled(size_t{150}, size_t{60}),
                     [](Rng& r) { return std::vector<double>{log_uniform(r, 1e8, 1e10), log_uniform(r, 1e9, 3e11)}; },
                     0.005, scaled(200, 40), fewer_starts};
  // Kaplan et al.'s eq. 1.5 fit; N and D span the crossover of the two terms.
  m["kaplan"] = {{std::log(6.4e13), std::log(1.8e13), 0.076, 0.103}, scaled(size_t{150}, size_t{60}),
                 [](Rng& r) { return std::vector<double>{log_uniform(r, 1e6, 1e10), log_uniform(r, 1e7, 1e11)}; },
                 0.005, scaled(400, 60), nullptr};
  // E 1.5, A e^8, alpha 0.15 over six decades of compute: the reducible loss falls eightfold.
  m["compute"] = {{std::log(1.5), 8.0, 0.15}, scaled(size_t{100}, size_t{40}),
                  [](Rng& r) { return std::vector<double>{log_uniform(r, 1e18, 1e24)}; }, 0.005, scaled(400, 60),
                  nullptr};
  // Muennighoff et al.'s published fit. U unique tokens, D = U × (1 to 50 epochs), N on both
  // sides of the compute-optimal size for U (0.05 U here), so both decays are seen.
  m["data_constrained"] = {{6.2554, 7.3050, 0.6255, 0.3527, 0.3527, 15.4, 5.3}, scaled(size_t{200}, size_t{80}),
                           [](Rng& r) {
                             const double u = log_uniform(r, 1e9, 1e11);
                             const double epochs = log_uniform(r, 1, 50);
                             return std::vector<double>{log_uniform(r, 1e7, 1e10), u * epochs, u};
                           },
                           0.005, scaled(100, 20), fewer_starts};
  // Kaplan et al.'s eq. 1.4: B* 2e8 tokens, alpha_B 0.21, over losses 1.5 to 6.
  m["critical_batch"] = {{std::log(2e8), 0.21}, scaled(size_t{80}, size_t{30}),
                         [](Rng& r) { return std::vector<double>{log_uniform(r, 1.5, 6)}; }, 0.01, scaled(400, 60),
                         nullptr};
  // DeepSeek LLM's B_opt = 0.2920 C^0.3271 and eta_opt = 0.3118 C^-0.1250.
  m["batch_size"] = {{std::log(0.2920), 0.3271}, scaled(size_t{80}, size_t{30}),
                     [](Rng& r) { return std::vector<double>{log_uniform(r, 1e17, 1e24)}; }, 0.01, scaled(400, 60),
                     nullptr};
  m["learning_rate"] = {{std::log(0.3118), -0.1250}, scaled(size_t{80}, size_t{30}),
                        [](Rng& r) { return std::vector<double>{log_uniform(r, 1e17, 1e24)}; }, 0.01,
                        scaled(400, 60), nullptr};
  // X_max 5000 tokens/s, B_half 24, batches 1 to 512.
  m["throughput"] = {{5000, 24}, scaled(size_t{80}, size_t{30}),
                     [](Rng& r) { return std::vector<double>{std::round(log_uniform(r, 1, 512))}; }, 0.005,
                     scaled(400, 60), nullptr};
  // L0 50 ms, c 20 ms, saturation at 40 requests/s, offered loads 2 to 38 (rho up to 0.95).
  m["latency_load"] = {{0.05, 0.02, 40}, scaled(size_t{80}, size_t{30}),
                       [](Rng& r) { return std::vector<double>{2 + 36 * r.uniform()}; }, 0.005, scaled(400, 60),
                       nullptr};
  return m;
}

// The rule: every free true parameter lies inside the 99% percentile-bootstrap interval of its
// fit. And the interval is informative: narrower than `width` × max(|truth|, 0.1), so that a
// parameter the data cannot pin down does not pass by having a huge interval.
void expect_recovery(Law& law, const Design& des, uint64_t stream, double width = 0.5) {
  const Dataset data = synthesize(law, des.truth, des.points, des.draw, des.sd, stream);
  law.scale_to_data(data.x, data.y);  // as the CLI does
  Options o = default_options(law);
  o.threads = 2;
  if (des.tune) des.tune(law, o);
  const auto t0 = std::chrono::steady_clock::now();
  const FitResult res = fit(law, data, o);
  const auto t1 = std::chrono::steady_clock::now();
  const BootstrapResult boot = bootstrap(law, data, o, res, des.resamples, 0.99);
  const auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(boot.failed, 0);
  ASSERT_EQ(boot.params.size(), law.params.size());
  ASSERT_EQ(res.params.size(), law.params.size());
  for (size_t j = 0; j < law.params.size(); ++j) {
    const Interval& iv = boot.params[j];
    const double t = des.truth[j];
    EXPECT_TRUE(res.free[j]);
    EXPECT_LE(iv.low, t) << law.name << "." << law.params[j].name << " fit " << res.params[j];
    EXPECT_GE(iv.high, t) << law.name << "." << law.params[j].name << " fit " << res.params[j];
    EXPECT_LT(iv.high - iv.low, width * std::max(std::abs(t), 0.1))
        << law.name << "." << law.params[j].name << ": interval [" << iv.low << ", " << iv.high << "]";
  }
  if (std::getenv("FATHOM_FIT_TEST_VERBOSE")) {
    std::printf("%s: objective %.6g, starts %zu, fit %.3f s, bootstrap(%d) %.3f s, %s\n", law.name.c_str(),
                res.objective, res.starts, std::chrono::duration<double>(t1 - t0).count(), des.resamples,
                std::chrono::duration<double>(t2 - t1).count(), res.termination.c_str());
    for (size_t j = 0; j < law.params.size(); ++j)
      std::printf("  %-10s true %-10.5g fit %-10.5g se %-10.3g boot [%.5g, %.5g]\n", law.params[j].name.c_str(),
                  des.truth[j], res.params[j], res.std_error[j], boot.params[j].low, boot.params[j].high);
  }
}

class FitRecovery : public ::testing::TestWithParam<std::string> {};

TEST_P(FitRecovery, CatalogLawRecoversItsParameters) {
  const auto all = designs();
  const auto it = all.find(GetParam());
  ASSERT_NE(it, all.end()) << "no recovery design for the catalog law '" << GetParam() << "'";
  auto law = make_law(GetParam());
  ASSERT_EQ(it->second.truth.size(), law->params.size());
  const auto names = law_names();
  const auto pos = std::find(names.begin(), names.end(), GetParam());
  expect_recovery(*law, it->second, static_cast<uint64_t>(pos - names.begin()));
}

INSTANTIATE_TEST_SUITE_P(Fit, FitRecovery, ::testing::ValuesIn(law_names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(FitRecoveryCatalog, HasTheNineLaws) {
  const std::vector<std::string> expected = {"batch_size",    "chinchilla",    "compute",
                                             "critical_batch", "data_constrained", "kaplan",
                                             "latency_load",   "learning_rate", "throughput"};
  std::vector<std::string> names = law_names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, expected);
}

TEST(FitRecoveryFormula, ExponentialDecayRecoversItsParameters) {
  auto law = make_formula_law("y = a*exp(-b*x) + c", {"x", "y"}, "", "test");
  ASSERT_EQ(law->variables, std::vector<std::string>{"x"});
  ASSERT_EQ(law->params.size(), 3u);
  EXPECT_EQ(law->params[0].name, "a");
  EXPECT_EQ(law->params[1].name, "b");
  EXPECT_EQ(law->params[2].name, "c");
  Design des;
  des.truth = {2.0, 0.8, 0.5};
  des.points = scaled(size_t{100}, size_t{40});
  des.draw = [](Rng& r) { return std::vector<double>{5 * r.uniform()}; };
  des.sd = 0.005;
  des.resamples = scaled(400, 60);
  expect_recovery(*law, des, 99);
}

}  // namespace


}  // namespace fathom::fit
