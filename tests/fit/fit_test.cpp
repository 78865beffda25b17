// Tests of the fitting engine (fit/fitter.h), the law catalog (fit/law.h), compute-optimal
// allocation (fit/optimal.h) and the result file (fit/result.h).
#include "fit/fitter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
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
  // Widest 99% interval accepted, relative to the true value (see expect_recovery); over 32
  // noise draws the widest seen was 0.24 (chinchilla's a and alpha).
  double width = 0.3;
};

// One design per catalog law: parameters typical of the law's source and a data range that
// identifies every parameter.
std::map<std::string, Design> designs() {
  std::map<std::string, Design> m;
  auto fewer_starts = [](Law&, Options& o) {
    o.grid = false;
    o.random_starts = scaled(20, 10);
    // Under Huber 1e-3, L-BFGS can crawl: about one bootstrap resample in 16 runs to the cap of
    // 10000 iterations (ending within 1e-5 of the optimum's objective). The sanitized build
    // cannot afford that.
    if (kSanitized) o.max_iterations = 500;
  };
  // Besiroglu et al.'s refit of Chinchilla (A 482, B 2085, E 1.82), N and D spread log-uniformly.
  m["chinchilla"] = {{6.17, 7.67, 0.597, 0.347, 0.367}, scaled(size_t{150}, size_t{60}),
                     [](Rng& r) { return std::vector<double>{log_uniform(r, 1e8, 1e10), log_uniform(r, 1e9, 3e11)}; },
                     0.005, scaled(200, 16), fewer_starts};
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
                           0.005, scaled(100, 10), fewer_starts};
  // R_D* and R_N* show only through the curvature of the decay with repetition: with 200 points
  // at 0.5% noise their 99% intervals are up to 0.64 of their value wide (0.5 to 0.8 with other
  // spreads of epochs and N tried), so they are held to "narrower than the value itself".
  m["data_constrained"].width = 1.0;
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

// The noise of every recovery design is one fixed draw. Over draws 0 to 31 the 99% intervals
// below missed the truth in 14 of 1056 parameter checks (1.3%, spread over eight laws and the
// formula), about the rate a 99% percentile interval should have; draw 6 is one where none
// misses, so a failure here means the fit or the bootstrap changed, not bad luck. (Those counts
// are for the Release designs; the sanitized build's smaller ones also pass on draw 6.)
// FATHOM_FIT_TEST_VERBOSE=1 prints each fit, its timing and its intervals.
constexpr uint64_t kNoiseStream = 6;

// The rule: every free true parameter lies inside the 99% percentile-bootstrap interval of its
// fit (the asymptotic standard errors are not used: under the Huber losses of chinchilla and
// data_constrained they are only an approximation). And the interval is informative: narrower
// than des.width × max(|truth|, 0.01), so that a parameter the data cannot pin down does not pass
// by having a huge interval.
void expect_recovery(Law& law, const Design& des, uint64_t stream) {
  const double width = des.width;
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
    EXPECT_LT(iv.high - iv.low, width * std::max(std::abs(t), 0.01))
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
  expect_recovery(*law, it->second, kNoiseStream);
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
  expect_recovery(*law, des, kNoiseStream);
}

// ---- shared fixtures for the tests below ----

const std::vector<double> kChinchilla = {6.17, 7.67, 0.597, 0.347, 0.367};  // a, b, e, alpha, beta

std::vector<double> chinchilla_point(Rng& r) { return {log_uniform(r, 1e8, 1e10), log_uniform(r, 1e9, 3e11)}; }

// Chinchilla's own procedure (log space, Huber 1e-3, L-BFGS) with random starts in place of the
// 4500-start grid.
Options chinchilla_options(const Law& law, int starts, int threads) {
  Options o = default_options(law);
  o.grid = false;
  o.random_starts = starts;
  o.threads = threads;
  return o;
}

// Bitwise equality of doubles (NaN equal to NaN with the same bits).
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same_bits(a[i], b[i])) return false;
  return true;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- the laws' formulas ----

// Each catalog law written out independently of fit/laws.cpp, from its docs/fitting.md formula.
double reference_value(const std::string& law, const std::vector<double>& p, const std::vector<double>& x) {
  using std::exp;
  using std::pow;
  if (law == "chinchilla") return exp(p[2]) + exp(p[0]) / pow(x[0], p[3]) + exp(p[1]) / pow(x[1], p[4]);
  if (law == "kaplan") return pow(pow(exp(p[0]) / x[0], p[2] / p[3]) + exp(p[1]) / x[1], p[3]);
  if (law == "compute") return exp(p[0]) + exp(p[1]) / pow(x[0], p[2]);
  if (law == "data_constrained") {
    const double A = exp(p[0]), B = exp(p[1]), E = exp(p[2]), alpha = p[3], beta = p[4];
    const double n = x[0], d = x[1], u = x[2];
    const double g = pow(alpha * A / (beta * B), 1 / (alpha + beta));
    const double un = std::min(n, g * pow(g * u, beta / alpha));  // N_opt for U tokens, or N
    const double rn = n / un - 1, rd = std::max(d / u - 1, 0.0);
    const double n_eff = un + un * p[6] * (1 - exp(-rn / p[6]));
    const double d_eff = u + u * p[5] * (1 - exp(-rd / p[5]));
    return E + A / pow(n_eff, alpha) + B / pow(d_eff, beta);
  }
  if (law == "critical_batch") return exp(p[0]) / pow(x[0], 1 / p[1]);
  if (law == "batch_size" || law == "learning_rate") return exp(p[0]) * pow(x[0], p[1]);
  if (law == "throughput") return p[0] * x[0] / (x[0] + p[1]);
  if (law == "latency_load") {
    const double rho = x[0] / p[2];
    return p[0] + p[1] * rho / (1 - rho);
  }
  ADD_FAILURE() << "no reference formula for " << law;
  return 0;
}

// Points of each law (data_constrained: N below and above N_opt(U) = 0.05 U, D = U and D = 40 U).
std::vector<std::vector<double>> probe_points(const std::string& law) {
  if (law == "chinchilla" || law == "kaplan") return {{1e8, 1e9}, {7e10, 1.4e12}, {3e6, 5e13}};
  if (law == "data_constrained") return {{1e8, 1e10, 1e10}, {2e9, 4e11, 1e10}, {1e10, 1e11, 1e10}, {5e8, 2e10, 1e10}};
  if (law == "compute" || law == "batch_size" || law == "learning_rate") return {{1e18}, {3.3e21}, {1e25}};
  if (law == "critical_batch") return {{1.7}, {2.5}, {5.0}};
  if (law == "throughput") return {{1}, {24}, {500}};
  return {{2}, {20}, {39}};  // latency_load
}

TEST(FitLaws, ValuesMatchTheirFormulas) {
  const std::map<std::string, Design> all = designs();
  for (const auto& name : law_names()) {
    auto law = make_law(name);
    // The design's parameters, and the same moved apart (alpha ≠ beta in data_constrained).
    std::vector<double> moved = all.at(name).truth;
    for (size_t j = 0; j < moved.size(); ++j) moved[j] *= 1 + 0.05 * static_cast<double>(j + 1);
    for (const std::vector<double>& p : {all.at(name).truth, moved}) {
      for (const auto& x : probe_points(name)) {
        std::vector<double> lx;
        for (double v : x) lx.push_back(std::log(v));
        const double want = reference_value(name, p, x);
        ASSERT_TRUE(std::isfinite(want) && want > 0) << name;
        EXPECT_NEAR(law->value(p.data(), x.data(), lx.data()) / want, 1, 1e-12) << name << " at x[0] = " << x[0];
        EXPECT_NEAR(law->log_value(p.data(), x.data(), lx.data()) - std::log(want), 0, 1e-12)
            << name << " at x[0] = " << x[0];
        EXPECT_NEAR(predict(*law, p, x) / want, 1, 1e-12) << name;
      }
    }
  }
  // Past saturation the latency is not a number (so a fit never goes there).
  auto lat = make_law("latency_load");
  EXPECT_TRUE(std::isnan(predict(*lat, {0.05, 0.02, 40}, {40})));
  EXPECT_TRUE(std::isnan(predict(*lat, {0.05, 0.02, 40}, {50})));
}

// The exact (Jet) derivatives of f by each parameter against central differences, read through
// predict_with_error: with the covariance v·vᵀ its standard error is |v·∇f|.
TEST(FitLaws, DerivativesMatchFiniteDifferences) {
  const std::map<std::string, Design> all = designs();
  std::vector<std::pair<std::string, std::unique_ptr<Law>>> laws;
  for (const auto& name : law_names()) laws.emplace_back(name, make_law(name));
  laws.emplace_back("formula", make_formula_law("y = a*exp(-b*x) + c", {"x", "y"}, "", "test"));
  for (auto& [name, law] : laws) {
    const std::vector<double> p = name == "formula" ? std::vector<double>{2.0, 0.8, 0.5} : all.at(name).truth;
    const auto points = name == "formula" ? std::vector<std::vector<double>>{{0.3}, {2.0}} : probe_points(name);
    const size_t k = p.size();
    for (const auto& x : points) {
      std::vector<double> g(k);
      for (size_t j = 0; j < k; ++j) {
        const double h = 1e-6 * std::max(1.0, std::abs(p[j]));
        std::vector<double> up = p, down = p;
        up[j] += h;
        down[j] -= h;
        g[j] = (predict(*law, up, x) - predict(*law, down, x)) / (2 * h);
      }
      LoadedFit f;
      f.params = p;
      f.free.assign(k, true);
      // v = e_j for each j, then v = (1, −2, 3, ...) for the signs.
      std::vector<std::vector<double>> vs;
      for (size_t j = 0; j < k; ++j) {
        vs.emplace_back(k, 0.0);
        vs.back()[j] = 1;
      }
      vs.emplace_back();
      for (size_t j = 0; j < k; ++j) vs.back().push_back((j % 2 ? -1.0 : 1.0) * static_cast<double>(j + 1));
      for (const auto& v : vs) {
        f.covariance.assign(k * k, 0);
        double want = 0;
        for (size_t i = 0; i < k; ++i) {
          want += v[i] * g[i];
          for (size_t j = 0; j < k; ++j) f.covariance[i * k + j] = v[i] * v[j];
        }
        f.law = std::move(law);
        const Prediction pr = predict_with_error(f, x);
        law = std::move(f.law);
        // 1e-6 relative, plus the rounding of the differences (~1e-10 of f per unit of v).
        double norm = 0;
        for (double vi : v) norm += std::abs(vi);
        EXPECT_NEAR(pr.std_error, std::abs(want), 1e-6 * std::abs(want) + 1e-9 * norm * std::abs(pr.value))
            << name << " at x[0] = " << x[0] << ", v[0] = " << v[0] << ", v[1] = " << v[1];
      }
    }
  }
}

// ---- determinism ----

TEST(FitDeterminism, FitIsBitIdenticalOnOneAndSeveralThreads) {
  auto law = make_law("chinchilla");
  const Dataset data = synthesize(*law, kChinchilla, scaled(size_t{100}, size_t{40}), chinchilla_point, 0.005, 11);
  const FitResult one = fit(*law, data, chinchilla_options(*law, 12, 1));
  for (int threads : {2, 5}) {
    const FitResult many = fit(*law, data, chinchilla_options(*law, 12, threads));
    EXPECT_TRUE(same_bits(one.params, many.params)) << threads << " threads";
    EXPECT_TRUE(same_bits(one.objective, many.objective)) << threads << " threads";
    EXPECT_EQ(one.best_start, many.best_start) << threads << " threads";
    EXPECT_TRUE(same_bits(one.start_objectives, many.start_objectives)) << threads << " threads";
    EXPECT_TRUE(same_bits(one.covariance, many.covariance)) << threads << " threads";
    EXPECT_EQ(one.iterations, many.iterations) << threads << " threads";
  }
  EXPECT_EQ(one.starts, 12u);
  EXPECT_EQ(one.start_objectives.size(), 12u);
}

TEST(FitDeterminism, BootstrapIsBitIdenticalOnOneAndTwoThreads) {
  auto law = make_law("chinchilla");
  const Dataset data = synthesize(*law, kChinchilla, scaled(size_t{80}, size_t{40}), chinchilla_point, 0.005, 12);
  const Options o1 = chinchilla_options(*law, 8, 1);
  const Options o2 = chinchilla_options(*law, 8, 2);
  const FitResult best = fit(*law, data, o2);
  const int resamples = scaled(40, 8);
  const BootstrapResult b1 = bootstrap(*law, data, o1, best, resamples, 0.9);
  const BootstrapResult b2 = bootstrap(*law, data, o2, best, resamples, 0.9);
  ASSERT_EQ(b1.params.size(), law->params.size());
  ASSERT_EQ(b2.params.size(), law->params.size());
  ASSERT_EQ(b1.derived.size(), law->derived.size());
  ASSERT_EQ(b2.derived.size(), law->derived.size());
  EXPECT_EQ(b1.failed, b2.failed);
  auto same = [](const Interval& x, const Interval& y) {
    return same_bits(x.low, y.low) && same_bits(x.high, y.high) && same_bits(x.median, y.median) &&
           same_bits(x.sd, y.sd);
  };
  for (size_t j = 0; j < b1.params.size(); ++j) {
    EXPECT_TRUE(same(b1.params[j], b2.params[j])) << law->params[j].name;
    EXPECT_GT(b1.params[j].sd, 0) << law->params[j].name;  // resamples really differ
  }
  for (size_t d = 0; d < b1.derived.size(); ++d)
    EXPECT_TRUE(same(b1.derived[d], b2.derived[d])) << law->derived[d].name;
  // Another seed draws other resamples.
  Options o3 = o2;
  o3.seed = 2;
  const BootstrapResult b3 = bootstrap(*law, data, o3, best, resamples, 0.9);
  EXPECT_FALSE(same(b1.params[0], b3.params[0]));
}

TEST(FitDeterminism, RandomStartsFollowTheSeed) {
  auto law = make_law("chinchilla");
  Options o = default_options(*law);
  o.grid = false;
  o.random_starts = 5;
  o.seed = 1;
  const auto s1 = make_starts(*law, o);
  const auto again = make_starts(*law, o);
  o.seed = 2;
  const auto s2 = make_starts(*law, o);
  ASSERT_EQ(s1.size(), 5u);
  ASSERT_EQ(s2.size(), 5u);
  for (size_t s = 0; s < s1.size(); ++s) {
    EXPECT_TRUE(same_bits(s1[s], again[s]));
    ASSERT_EQ(s1[s].size(), law->params.size());
    for (size_t j = 0; j < law->params.size(); ++j) {
      EXPECT_NE(s1[s][j], s2[s][j]) << "start " << s << ", " << law->params[j].name;
      EXPECT_GE(s1[s][j], law->params[j].start_low);
      EXPECT_LE(s1[s][j], law->params[j].start_high);
    }
    if (s > 0) {
      EXPECT_NE(s1[s], s1[s - 1]);  // each start its own stream
    }
  }
  // The grid comes first, does not depend on the seed, and fixed parameters stay at their value.
  o.grid = true;
  o.random_starts = 2;
  o.fixed = {{"e", 0.25}};
  const auto g2 = make_starts(*law, o);
  o.seed = 1;
  const auto g1 = make_starts(*law, o);
  ASSERT_EQ(g1.size(), 6u * 6 * 5 * 5 + 2);  // a, b: 6 values; alpha, beta: 5; e fixed
  for (size_t s = 0; s + 2 < g1.size(); ++s) EXPECT_TRUE(same_bits(g1[s], g2[s]));
  EXPECT_FALSE(same_bits(g1.back(), g2.back()));
  for (const auto& st : g1) EXPECT_EQ(st[2], 0.25);
  EXPECT_EQ(g1.front(), (std::vector<double>{0, 0, 0.25, 0, 0}));
  EXPECT_EQ(g1[1], (std::vector<double>{0, 0, 0.25, 0, 0.5}));  // the last parameter varies fastest
}

// ---- multi-start ----

TEST(FitMultiStart, BeatsASingleLooseStart) {
  auto law = make_law("chinchilla");
  const Dataset data = synthesize(*law, kChinchilla, scaled(size_t{100}, size_t{40}), chinchilla_point, 0.005, 13);
  const Options multi = chinchilla_options(*law, 20, 2);
  const FitResult best = fit(*law, data, multi);
  Options loose = multi;
  loose.function_tolerance = 1e-4;
  loose.parameter_tolerance = 1e-4;
  loose.screen_tolerance = 0;
  const FitResult single = fit_from(*law, data, loose, {5, 5, 0.5, 0.5, 0.5});
  EXPECT_GE(single.objective, 1.01 * best.objective)
      << "single start: " << single.objective << ", multi-start: " << best.objective;
  ASSERT_EQ(best.start_objectives.size(), 20u);
  size_t finite = 0;
  for (double v : best.start_objectives) {
    if (std::isnan(v)) continue;
    ++finite;
    EXPECT_LE(best.objective, v);
  }
  EXPECT_GT(finite, 0u);
  EXPECT_TRUE(same_bits(best.objective, best.start_objectives[best.best_start]));
  EXPECT_NEAR(best.objective, objective(*law, data, multi, best.params), 1e-15);
  EXPECT_GE(best.starts_at_best, 1u);
  EXPECT_LE(best.starts_at_best, best.starts);
  // Polishing runs on at most the starts there are.
  EXPECT_GE(best.polished, 1u);
  EXPECT_LE(best.polished, best.starts);
}

TEST(FitMultiStart, PolishedCountNeverExceedsTheStarts) {
  auto law = make_law("chinchilla");
  const Dataset data = synthesize(*law, kChinchilla, 40, chinchilla_point, 0.005, 14);
  Options o = chinchilla_options(*law, 3, 2);
  o.polish = 10;
  const FitResult r = fit(*law, data, o);
  EXPECT_EQ(r.starts, 3u);
  EXPECT_GE(r.polished, 1u);
  EXPECT_LE(r.polished, 3u);
  // Without the screen nothing is polished, and the fit is the start that ended lowest (loose
  // tolerances, so that the starts end in different places).
  o.screen_tolerance = 0;
  o.random_starts = 8;
  o.function_tolerance = 1e-4;
  o.parameter_tolerance = 1e-4;
  const FitResult u = fit(*law, data, o);
  EXPECT_EQ(u.polished, 0u);
  ASSERT_EQ(u.start_objectives.size(), 8u);
  size_t lowest = 0;
  for (size_t s = 1; s < u.start_objectives.size(); ++s)
    if (u.start_objectives[s] < u.start_objectives[lowest]) lowest = s;
  EXPECT_EQ(u.best_start, lowest);
  EXPECT_TRUE(same_bits(u.objective, u.start_objectives[lowest]));
  EXPECT_GT(*std::max_element(u.start_objectives.begin(), u.start_objectives.end()), 1.01 * u.objective);
}

// ---- compute-optimal allocation ----

// N_opt = G·(C/k)^(β/(α+β)), G = (αA/(βB))^(1/(α+β)), D_opt = C/(k·N_opt).
double closed_form_n(const std::vector<double>& p, double compute, double k) {
  const double a = std::exp(p[0]), b = std::exp(p[1]), alpha = p[3], beta = p[4];
  const double g = std::pow(alpha * a / (beta * b), 1 / (alpha + beta));
  return g * std::pow(compute / k, beta / (alpha + beta));
}

TEST(FitOptimal, MatchesTheChinchillaClosedForm) {
  auto law = make_law("chinchilla");
  const std::vector<std::vector<double>> sets = {kChinchilla, {5.0, 9.0, 0.3, 0.5, 0.28}};
  for (const auto& p : sets) {
    for (double k : {6.0, 8.0}) {
      AllocationProblem prob;
      prob.law = law.get();
      prob.params = p;
      prob.flops_per_param_token = k;
      for (double c : {1e21, 5.76e23, 1e25}) {
        const Allocation al = optimal_allocation(prob, c);
        const double n = closed_form_n(p, c, k), d = c / (k * n);
        EXPECT_NEAR(al.n / n, 1, 1e-6) << "C = " << c << ", k = " << k;
        EXPECT_NEAR(al.d / d, 1, 1e-6) << "C = " << c << ", k = " << k;
        EXPECT_NEAR(al.tokens_per_param / (d / n), 1, 1e-6);
        EXPECT_DOUBLE_EQ(al.compute, c);
        EXPECT_NEAR(k * al.n * al.d / c, 1, 1e-12);
        EXPECT_DOUBLE_EQ(al.loss, predict(*law, p, {al.n, al.d}));
      }
    }
  }
}

TEST(FitOptimal, IsoflopMinimumIsInTheMiddle) {
  auto law = make_law("chinchilla");
  AllocationProblem prob;
  prob.law = law.get();
  prob.params = kChinchilla;
  for (double c : {1e21, 5.76e23}) {
    const std::vector<CurvePoint> curve = isoflop_curve(prob, c, 41, 30);
    ASSERT_EQ(curve.size(), 41u);
    size_t best = 0;
    for (size_t i = 0; i < curve.size(); ++i) {
      if (curve[i].loss < curve[best].loss) best = i;
      EXPECT_NEAR(6 * curve[i].n * curve[i].d / c, 1, 1e-12);
      if (i > 0) {
        EXPECT_GT(curve[i].n, curve[i - 1].n);
      }
    }
    EXPECT_EQ(best, 20u);
    EXPECT_NEAR(curve.front().n * 30 / curve[20].n, 1, 1e-9);
    EXPECT_NEAR(curve.back().n / (30 * curve[20].n), 1, 1e-9);
    EXPECT_NEAR(curve[20].n / closed_form_n(kChinchilla, c, 6), 1, 1e-6);
  }
}

TEST(FitOptimal, IsolossPointsReachTheLoss) {
  auto law = make_law("chinchilla");
  AllocationProblem prob;
  prob.law = law.get();
  prob.params = kChinchilla;
  const double target = 2.2;
  const std::vector<CurvePoint> curve = isoloss_curve(prob, target, 1e9, 1e12, 41);
  ASSERT_EQ(curve.size(), 41u);  // every N in the range can reach 2.2
  for (size_t i = 0; i < curve.size(); ++i) {
    EXPECT_NEAR(curve[i].loss, target, 1e-9) << "N = " << curve[i].n;
    EXPECT_NEAR(predict(*law, kChinchilla, {curve[i].n, curve[i].d}), target, 1e-9);
    EXPECT_NEAR(curve[i].compute / (6 * curve[i].n * curve[i].d), 1, 1e-12);
    if (i > 0) {
      EXPECT_LT(curve[i].d, curve[i - 1].d);  // more parameters, fewer tokens
    }
  }
  // N too small to reach the loss with any data (E + A/N^alpha ≥ loss) are left out.
  const double e = std::exp(kChinchilla[2]), a = std::exp(kChinchilla[0]);
  const std::vector<CurvePoint> part = isoloss_curve(prob, 2.4, 1e7, 1e11, 41);
  ASSERT_FALSE(part.empty());
  EXPECT_LT(part.size(), 41u);
  for (const auto& pt : part) {
    EXPECT_LT(e + a * std::pow(pt.n, -kChinchilla[3]), 2.4);
    EXPECT_NEAR(pt.loss, 2.4, 1e-9);
  }
}

TEST(FitOptimal, LawWithoutNAndDIsAFlagError) {
  auto law = make_law("latency_load");
  AllocationProblem prob;
  prob.law = law.get();
  prob.params = {0.05, 0.02, 40};
  EXPECT_THROW(check_allocation(prob), FlagError);
  EXPECT_THROW(optimal_allocation(prob, 1e21), FlagError);
  // data_constrained needs U as well.
  auto dc = make_law("data_constrained");
  AllocationProblem p2;
  p2.law = dc.get();
  p2.params = {6.2554, 7.3050, 0.6255, 0.3527, 0.3527, 15.4, 5.3};
  EXPECT_THROW(check_allocation(p2), FlagError);
  p2.others = {1e11};
  EXPECT_NO_THROW(check_allocation(p2));
}

// ---- result file ----

std::string temp_path(const std::string& tag) {
  return (std::filesystem::temp_directory_path() /
          ("fathom_fit_test_" + tag + "_" + std::to_string(::getpid()) + ".yaml"))
      .string();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

// The delta-method standard error √(gᵀΣg) with g by central differences of predict().
double finite_difference_error(const Law& law, const std::vector<double>& p, const std::vector<bool>& free,
                               const std::vector<double>& cov, const std::vector<double>& x) {
  std::vector<double> g;
  for (size_t j = 0; j < p.size(); ++j) {
    if (!free[j]) continue;
    const double h = 1e-6 * std::max(1.0, std::abs(p[j]));
    std::vector<double> up = p, down = p;
    up[j] += h;
    down[j] -= h;
    g.push_back((predict(law, up, x) - predict(law, down, x)) / (2 * h));
  }
  const size_t k = g.size();
  double var = 0;
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j) var += g[i] * cov[i * k + j] * g[j];
  return std::sqrt(var);
}

// Fits, writes the result file, loads it back and checks predictions at `xs`.
void round_trip(const Law& law, const Dataset& data, const Options& o, const std::vector<std::vector<double>>& xs,
                const std::string& tag) {
  FitRecord rec;
  rec.data_file = data.source;
  rec.points = data.size();
  rec.options = o;
  rec.result = fit(law, data, o);
  ASSERT_FALSE(rec.result.covariance.empty()) << rec.result.covariance_note;
  rec.boot = bootstrap(law, data, o, rec.result, scaled(20, 5));
  const std::string path = temp_path(tag);
  write_file(path, result_yaml(law, rec));
  const LoadedFit f = load_fit(path);
  std::filesystem::remove(path);
  EXPECT_EQ(f.file, path);
  EXPECT_EQ(f.law->name, law.name);
  EXPECT_EQ(f.law->variables, law.variables);
  EXPECT_TRUE(same_bits(f.params, rec.result.params));
  EXPECT_EQ(f.free, rec.result.free);
  EXPECT_TRUE(same_bits(f.covariance, rec.result.covariance));
  for (const auto& x : xs) {
    const double direct = predict(law, rec.result.params, x);
    EXPECT_TRUE(same_bits(predict(*f.law, f.params, x), direct));
    const Prediction pr = predict_with_error(f, x);
    EXPECT_TRUE(same_bits(pr.value, direct));
    EXPECT_TRUE(std::isfinite(pr.std_error));
    EXPECT_GT(pr.std_error, 0);
    const double fd = finite_difference_error(law, rec.result.params, rec.result.free, rec.result.covariance, x);
    EXPECT_NEAR(pr.std_error / fd, 1, 1e-4) << "at x[0] = " << x[0];
  }
}

TEST(FitResultFile, CatalogLawRoundTrips) {
  auto law = make_law("chinchilla");
  const Dataset data = synthesize(*law, kChinchilla, 60, chinchilla_point, 0.005, 21);
  Options o = chinchilla_options(*law, 6, 2);
  o.fixed = {{"e", kChinchilla[2]}};  // a fixed parameter is written and read back as fixed
  round_trip(*law, data, o, {{1e9, 2e10}, {7e10, 1.4e12}, {1e8, 1e9}}, "chinchilla");
}

TEST(FitResultFile, FormulaLawRoundTrips) {
  auto law = make_formula_law("y = a*exp(-b*x) + c", {"x", "y"}, "", "test");
  const Dataset data =
      synthesize(*law, {2.0, 0.8, 0.5}, 50, [](Rng& r) { return std::vector<double>{5 * r.uniform()}; }, 0.005, 22);
  Options o = default_options(*law);
  o.threads = 2;
  round_trip(*law, data, o, {{0.0}, {1.5}, {8.0}}, "formula");
}

class FitResultFileErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    auto law = make_law("compute");
    const Dataset data = synthesize(*law, {std::log(1.5), 8.0, 0.15}, 30,
                                    [](Rng& r) { return std::vector<double>{log_uniform(r, 1e18, 1e24)}; }, 0.005, 23);
    FitRecord rec;
    rec.data_file = data.source;
    rec.points = data.size();
    rec.options = default_options(*law);
    rec.options.threads = 2;
    rec.result = fit(*law, data, rec.options);
    good_ = result_yaml(*law, rec);
    path_ = temp_path("bad");
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // 1-based number of the first line that starts with `prefix`.
  int line_of(const std::string& prefix) const {
    std::istringstream in(good_);
    std::string l;
    for (int n = 1; std::getline(in, l); ++n)
      if (l.rfind(prefix, 0) == 0) return n;
    ADD_FAILURE() << "no line starting with '" << prefix << "'";
    return 0;
  }
  // The file with the line starting with `prefix` replaced by `with` (removed when empty).
  std::string edited(const std::string& prefix, const std::string& with) const {
    std::istringstream in(good_);
    std::string out, l;
    bool done = false;
    while (std::getline(in, l)) {
      if (!done && l.rfind(prefix, 0) == 0) {
        done = true;
        if (!with.empty()) out += with + "\n";
      } else {
        out += l + "\n";
      }
    }
    EXPECT_TRUE(done) << prefix;
    return out;
  }
  std::string load_error(const std::string& text) {
    write_file(path_, text);
    try {
      load_fit(path_);
    } catch (const InputError& e) {
      return e.what();
    }
    return "(no error)";
  }

  std::string good_, path_;
};

TEST_F(FitResultFileErrors, GoodFileLoads) {
  write_file(path_, good_);
  const LoadedFit f = load_fit(path_);
  EXPECT_EQ(f.law->name, "compute");
  EXPECT_EQ(f.covariance.size(), 9u);
}

TEST_F(FitResultFileErrors, WrongVersion) {
  const std::string m = load_error(edited("fathom_fit_result:", "fathom_fit_result: 2"));
  EXPECT_NE(m.find(path_ + ":" + std::to_string(line_of("fathom_fit_result:")) + ":"), std::string::npos) << m;
  EXPECT_NE(m.find("version 1"), std::string::npos) << m;
}

TEST_F(FitResultFileErrors, MissingParameter) {
  const std::string m = load_error(edited("  alpha: {", ""));
  // The parameters map, whose first entry is on the line after 'parameters:'.
  EXPECT_NE(m.find(path_ + ":" + std::to_string(line_of("parameters:") + 1) + ":"), std::string::npos) << m;
  EXPECT_NE(m.find("'alpha'"), std::string::npos) << m;
}

TEST_F(FitResultFileErrors, ParameterWithoutValue) {
  const int line = line_of("  alpha: {");
  const std::string m = load_error(edited("  alpha: {", "  alpha: {fixed: false}"));
  EXPECT_NE(m.find(path_ + ":" + std::to_string(line) + ":"), std::string::npos) << m;
  EXPECT_NE(m.find("value"), std::string::npos) << m;
}

TEST_F(FitResultFileErrors, CovarianceRowCount) {
  const int first_row = line_of("covariance:") + 1;
  const std::string m = load_error(edited("  - [", ""));  // drops the first row
  EXPECT_NE(m.find(path_ + ":" + std::to_string(first_row) + ":"), std::string::npos) << m;
  EXPECT_NE(m.find("3 rows"), std::string::npos) << m;
}

TEST_F(FitResultFileErrors, CovarianceRowLength) {
  const int first_row = line_of("covariance:") + 1;
  const std::string m = load_error(edited("  - [", "  - [1, 2]"));
  EXPECT_NE(m.find(path_ + ":" + std::to_string(first_row) + ":"), std::string::npos) << m;
  EXPECT_NE(m.find("3 numbers"), std::string::npos) << m;
}

TEST_F(FitResultFileErrors, UnknownLaw) {
  const std::string m = load_error(edited("law:", "law: \"chinchila\""));
  EXPECT_NE(m.find(path_ + ":" + std::to_string(line_of("law:")) + ":"), std::string::npos) << m;
}

// ---- input errors ----

Dataset chinchilla_data(size_t n) {
  auto law = make_law("chinchilla");
  return synthesize(*law, kChinchilla, n, chinchilla_point, 0.005, 31);
}

TEST(FitErrors, NonPositiveValueInALogSpaceLawNamesFileAndLine) {
  auto law = make_law("chinchilla");
  Dataset data = chinchilla_data(20);
  data.x[0][2] = 0;  // N = 0 at point 3, line 4
  const Options o = chinchilla_options(*law, 2, 1);
  EXPECT_THROW(check_problem(*law, data, o), InputError);
  std::string m = message_of([&] { fit(*law, data, o); });
  EXPECT_NE(m.find("synthetic.csv:4:"), std::string::npos) << m;
  EXPECT_NE(m.find("'N'"), std::string::npos) << m;
  // A non-positive response in log space.
  data = chinchilla_data(20);
  data.y[6] = -1;
  m = message_of([&] { check_problem(*law, data, o); });
  EXPECT_NE(m.find("synthetic.csv:8:"), std::string::npos) << m;
  EXPECT_NE(m.find("'L'"), std::string::npos) << m;
  // Without line numbers the file alone is named.
  data.lines.clear();
  m = message_of([&] { check_problem(*law, data, o); });
  EXPECT_EQ(m.rfind("synthetic.csv: ", 0), 0u) << m;
}

TEST(FitErrors, NotANumberNamesFileAndLine) {
  auto law = make_law("chinchilla");
  Dataset data = chinchilla_data(20);
  data.y[4] = std::nan("");
  const Options o = chinchilla_options(*law, 2, 1);
  std::string m = message_of([&] { check_problem(*law, data, o); });
  EXPECT_NE(m.find("synthetic.csv:6:"), std::string::npos) << m;
  data = chinchilla_data(20);
  data.x[1][9] = std::numeric_limits<double>::infinity();
  m = message_of([&] { fit(*law, data, o); });
  EXPECT_NE(m.find("synthetic.csv:11:"), std::string::npos) << m;
  EXPECT_NE(m.find("'D'"), std::string::npos) << m;
  // In a data-space law, zero and negative values are fine but NaN is not.
  auto lat = make_law("latency_load");
  Dataset d = synthesize(*lat, {0.05, 0.02, 40}, 10, [](Rng& r) { return std::vector<double>{36 * r.uniform()}; }, 0,
                         32);
  d.x[0][0] = 0;
  d.y[1] = -0.5;
  const Options lo = default_options(*lat);
  EXPECT_NO_THROW(check_problem(*lat, d, lo));
  d.x[0][3] = std::nan("");
  m = message_of([&] { check_problem(*lat, d, lo); });
  EXPECT_NE(m.find("synthetic.csv:5:"), std::string::npos) << m;
}

TEST(FitErrors, TooFewPoints) {
  auto law = make_law("chinchilla");
  Options o = chinchilla_options(*law, 2, 1);
  const Dataset five = chinchilla_data(5);  // 5 free parameters need 6 points
  EXPECT_THROW(check_problem(*law, five, o), InputError);
  const std::string m = message_of([&] { fit(*law, five, o); });
  EXPECT_NE(m.find("expected at least 6"), std::string::npos) << m;
  EXPECT_NO_THROW(check_problem(*law, chinchilla_data(6), o));
  o.fixed = {{"e", 0.5}};  // 4 free parameters: 5 points are enough
  EXPECT_NO_THROW(check_problem(*law, five, o));
  EXPECT_THROW(check_problem(*law, chinchilla_data(4), o), InputError);
}

TEST(FitErrors, UnknownFixedParameterIsAFlagError) {
  auto law = make_law("chinchilla");
  Options o = chinchilla_options(*law, 2, 1);
  o.fixed = {{"gamma", 0.5}};
  EXPECT_THROW(check_problem(*law, chinchilla_data(20), o), FlagError);
  EXPECT_THROW(fit(*law, chinchilla_data(20), o), FlagError);
  const std::string m = message_of([&] { check_problem(*law, chinchilla_data(20), o); });
  EXPECT_NE(m.find("--fix"), std::string::npos) << m;
  EXPECT_NE(m.find("'gamma'"), std::string::npos) << m;
  o.fixed = {{"alpha", std::nan("")}};
  EXPECT_THROW(check_problem(*law, chinchilla_data(20), o), FlagError);
}

TEST(FitErrors, ParseRejectsBadSpellings) {
  for (const char* bad : {"huber", "huber:-1", "huber:0", "huber:", "huber:1e-3x", "cauchy:x", "cauchy:nan", "l2",
                          "none:1", "Huber:1", ""})
    EXPECT_THROW(parse_loss(bad, "--loss"), FlagError) << "'" << bad << "'";
  for (const char* bad : {"lin", "logs", "", "LOG"}) EXPECT_THROW(parse_space(bad, "--space"), FlagError) << bad;
  for (const char* bad : {"lbfg", "LM", "", "bfgs"}) EXPECT_THROW(parse_method(bad, "--method"), FlagError) << bad;
  EXPECT_NE(message_of([] { parse_loss("huber:-1", "--loss"); }).find("--loss"), std::string::npos);
  // Good spellings parse, and to_string gives them back.
  const Loss h = parse_loss("huber:1e-3", "--loss");
  EXPECT_EQ(h.kind, LossKind::Huber);
  EXPECT_EQ(h.scale, 1e-3);
  EXPECT_EQ(to_string(h), "huber:0.001");
  const Loss c = parse_loss("cauchy:0.5", "--loss");
  EXPECT_EQ(c.kind, LossKind::Cauchy);
  EXPECT_EQ(c.scale, 0.5);
  EXPECT_EQ(parse_loss("none", "--loss").kind, LossKind::None);
  EXPECT_EQ(parse_loss(to_string(h), "--loss").scale, 1e-3);
  EXPECT_EQ(parse_space("log", "--space"), Space::Log);
  EXPECT_EQ(parse_space("data", "--space"), Space::Data);
  EXPECT_EQ(parse_space("linear", "--space"), Space::Data);
  EXPECT_EQ(parse_method("lm", "--method"), Method::Lm);
  EXPECT_EQ(parse_method("lbfgs", "--method"), Method::Lbfgs);
  EXPECT_EQ(parse_method(to_string(Method::Lbfgs), "--method"), Method::Lbfgs);
  EXPECT_EQ(parse_space(to_string(Space::Log), "--space"), Space::Log);
}

TEST(FitErrors, UnknownLawSuggestsTheClosest) {
  EXPECT_THROW(make_law("chinchila"), FlagError);
  const std::string m = message_of([] { make_law("chinchila"); });
  EXPECT_NE(m.find("did you mean 'chinchilla'"), std::string::npos) << m;
  EXPECT_NE(m.find("--law"), std::string::npos) << m;
  for (const auto& name : law_names()) EXPECT_EQ(make_law(name)->name, name);
}

// ---- metrics ----

TEST(FitMetrics, ExactDataFitsPerfectly) {
  auto law = make_law("chinchilla");
  const Dataset data = synthesize(*law, kChinchilla, 30, chinchilla_point, 0, 41);
  const Metrics m = metrics(*law, data, default_options(*law), kChinchilla);
  EXPECT_EQ(m.n, 30u);
  EXPECT_EQ(m.k, 5u);
  EXPECT_EQ(m.r2, 1.0);
  EXPECT_EQ(m.rmse, 0.0);
  EXPECT_EQ(m.rmse_log, 0.0);
  EXPECT_EQ(m.mape, 0.0);
  // Off the truth they are not.
  std::vector<double> off = kChinchilla;
  off[2] += 0.01;
  const Metrics w = metrics(*law, data, default_options(*law), off);
  EXPECT_LT(w.r2, 1.0);
  EXPECT_GT(w.rmse, 0.0);
}

TEST(FitMetrics, HandComputedTinyCase) {
  // y = a·x (data space) at a = 1 on (1, 1), (2, 2), (3, 4): residuals 0, 0, −1.
  auto law = make_formula_law("y = a*x", {"x", "y"}, "", "test");
  Dataset d;
  d.source = "tiny.csv";
  d.x = {{1, 2, 3}};
  d.y = {1, 2, 4};
  const Metrics m = metrics(*law, d, default_options(*law), {1.0});
  const double ln3 = std::log(3.0);
  EXPECT_EQ(m.n, 3u);
  EXPECT_EQ(m.k, 1u);
  EXPECT_NEAR(m.rmse, std::sqrt(1.0 / 3), 1e-15);
  EXPECT_NEAR(m.mape, 0.25 / 3, 1e-15);
  EXPECT_NEAR(m.r2, 1 - 9.0 / 42, 1e-15);  // SS_tot = (16 + 1 + 25)/9
  EXPECT_NEAR(m.aic, 3 * std::log(1.0 / 3) + 2, 1e-12);
  EXPECT_NEAR(m.bic, 3 * std::log(1.0 / 3) + ln3, 1e-12);
  // A log-space law: y = k·C^p at log k = 0, p = 1 on (1, 1), (2, 2), (4, 8): log residuals
  // 0, 0, −log 2; with p fixed, one free parameter.
  auto pl = make_law("batch_size");
  Dataset e;
  e.source = "tiny.csv";
  e.x = {{1, 2, 4}};
  e.y = {1, 2, 8};
  Options o = default_options(*pl);
  const double ss = std::log(2.0) * std::log(2.0);
  Metrics ml = metrics(*pl, e, o, {0.0, 1.0});
  EXPECT_EQ(ml.k, 2u);
  EXPECT_NEAR(ml.rmse_log, std::sqrt(ss / 3), 1e-15);
  EXPECT_NEAR(ml.rmse, std::sqrt(16.0 / 3), 1e-14);
  EXPECT_NEAR(ml.aic, 3 * std::log(ss / 3) + 4, 1e-12);
  EXPECT_NEAR(ml.bic, 3 * std::log(ss / 3) + 2 * ln3, 1e-12);
  o.fixed = {{"p", 1.0}};
  ml = metrics(*pl, e, o, {0.0, 1.0});
  EXPECT_EQ(ml.k, 1u);
  EXPECT_NEAR(ml.aic, 3 * std::log(ss / 3) + 2, 1e-12);
  EXPECT_NEAR(ml.bic, 3 * std::log(ss / 3) + ln3, 1e-12);
  // The same points in data space use the data-space residuals.
  o.space = Space::Data;
  ml = metrics(*pl, e, o, {0.0, 1.0});
  EXPECT_NEAR(ml.aic, 3 * std::log(16.0 / 3) + 2, 1e-12);
}

// ---- objective and covariance ----

TEST(FitObjective, RobustLossesMatchTheirDefinitions) {
  // y = a·x at a = 1 on (1, 1), (2, 2.5), (3, 1): residuals f − y = 0, −0.5, 2.
  auto law = make_formula_law("y = a*x", {"x", "y"}, "", "test");
  Dataset d;
  d.source = "tiny.csv";
  d.x = {{1, 2, 3}};
  d.y = {1, 2.5, 1};
  Options o = default_options(*law);
  EXPECT_NEAR(objective(*law, d, o, {1.0}), 0.5 * (0.25 + 4), 1e-15);
  o.loss = {LossKind::Huber, 1.0};  // ½r² within δ, δ(|r| − ½δ) beyond
  EXPECT_NEAR(objective(*law, d, o, {1.0}), 0.125 + 1.5, 1e-15);
  o.loss = {LossKind::Cauchy, 1.0};  // ½c²·log(1 + (r/c)²)
  EXPECT_NEAR(objective(*law, d, o, {1.0}), 0.5 * std::log(1.25) + 0.5 * std::log(5.0), 1e-15);
  o.loss = {LossKind::Cauchy, 2.0};
  EXPECT_NEAR(objective(*law, d, o, {1.0}), 2 * std::log(1.0625) + 2 * std::log(2.0), 1e-15);
  // Log space: residuals log f − log y.
  o.loss = {};
  o.space = Space::Log;
  EXPECT_NEAR(objective(*law, d, o, {1.0}), 0.5 * (std::log(0.8) * std::log(0.8) + std::log(3.0) * std::log(3.0)),
              1e-15);
}

TEST(FitCovariance, LinearModelMatchesTheClosedForm) {
  // y = a + b·x by least squares: Cov = s²(XᵀX)⁻¹ with s² = RSS/(n − 2).
  auto law = make_formula_law("y = a + b*x", {"x", "y"}, "", "test");
  Dataset d;
  d.source = "line.csv";
  d.x = {{0, 1, 2, 3, 4, 5}};
  d.y = {1.1, 2.9, 5.2, 6.8, 9.3, 10.9};
  const double n = 6;
  double mx = 0, my = 0;
  for (size_t i = 0; i < 6; ++i) {
    mx += d.x[0][i] / n;
    my += d.y[i] / n;
  }
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < 6; ++i) {
    sxx += (d.x[0][i] - mx) * (d.x[0][i] - mx);
    sxy += (d.x[0][i] - mx) * (d.y[i] - my);
  }
  const double b = sxy / sxx, a = my - b * mx;
  double rss = 0;
  for (size_t i = 0; i < 6; ++i) rss += (a + b * d.x[0][i] - d.y[i]) * (a + b * d.x[0][i] - d.y[i]);
  const double s2 = rss / (n - 2);
  Options o = default_options(*law);
  o.threads = 1;
  const FitResult r = fit(*law, d, o);
  ASSERT_EQ(r.covariance.size(), 4u) << r.covariance_note;
  // Tolerances of the optimiser (function tolerance 1e-15 of the cost) leave ~1e-9 in the
  // parameters; the covariance of a linear model does not depend on them.
  EXPECT_NEAR(r.params[0], a, 1e-8);
  EXPECT_NEAR(r.params[1], b, 1e-8);
  EXPECT_NEAR(r.objective, 0.5 * rss, 1e-12);
  EXPECT_NEAR(r.covariance[0] / (s2 * (1 / n + mx * mx / sxx)), 1, 1e-8);
  EXPECT_NEAR(r.covariance[1] / (-s2 * mx / sxx), 1, 1e-8);
  EXPECT_NEAR(r.covariance[2] / (-s2 * mx / sxx), 1, 1e-8);
  EXPECT_NEAR(r.covariance[3] / (s2 / sxx), 1, 1e-8);
  EXPECT_NEAR(r.std_error[0], std::sqrt(r.covariance[0]), 1e-15);
  EXPECT_NEAR(r.std_error[1], std::sqrt(r.covariance[3]), 1e-15);
  EXPECT_EQ(r.covariance_note, "");
  // With b fixed, only a is free: Var(a) = s'²/n with s'² = RSS'/(n − 1).
  o.fixed = {{"b", 2.0}};
  const FitResult f = fit(*law, d, o);
  ASSERT_EQ(f.covariance.size(), 1u);
  EXPECT_TRUE(std::isnan(f.std_error[1]));
  EXPECT_FALSE(f.free[1]);
  EXPECT_EQ(f.params[1], 2.0);
  double a1 = 0;
  for (size_t i = 0; i < 6; ++i) a1 += (d.y[i] - 2 * d.x[0][i]) / n;
  double rss1 = 0;
  for (size_t i = 0; i < 6; ++i) rss1 += (a1 + 2 * d.x[0][i] - d.y[i]) * (a1 + 2 * d.x[0][i] - d.y[i]);
  EXPECT_NEAR(f.params[0], a1, 1e-8);
  EXPECT_NEAR(f.covariance[0] / (rss1 / (n - 1) / n), 1, 1e-8);
}

// ---- extrapolation ----

TEST(FitExtrapolate, ExactChinchillaDataPredictsTheHeldOutPoints) {
  auto law = make_law("chinchilla");
  const size_t n = scaled(size_t{100}, size_t{50});
  const Dataset data = synthesize(*law, kChinchilla, n, chinchilla_point, 0, 51);
  const Options o = chinchilla_options(*law, scaled(20, 10), 2);
  const ExtrapolationResult e = extrapolate(*law, data, o, 0, 0.1);
  EXPECT_EQ(e.variable, "N");
  EXPECT_EQ(e.held_out.size(), n / 10);
  EXPECT_EQ(e.fitted + e.held_out.size(), n);
  size_t above = 0;
  for (double v : data.x[0]) above += v >= e.threshold ? 1 : 0;
  EXPECT_EQ(above, e.held_out.size());
  for (const auto& p : e.held_out) EXPECT_GE(p.x[0], e.threshold);
  EXPECT_LT(e.mean_abs_error, 1e-6);
  EXPECT_LT(e.max_abs_error, 1e-5);
  EXPECT_THROW(extrapolate(*law, data, o, 2, 0.1), FlagError);
  EXPECT_THROW(extrapolate(*law, data, o, 0, 1.0), FlagError);
}

}  // namespace

}  // namespace fathom::fit
