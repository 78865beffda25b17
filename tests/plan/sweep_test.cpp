// Sweep specs (expansion, errors) and runs: results depend only on the spec and the point, and
// every stored point reproduces from its stored scenario text alone.
#include "plan/sweep.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "catalog_fixture.h"
#include "common/error.h"
#include "common/version.h"
#include "plan/sweep_curve.h"
#include "plan/sweep_spec.h"

#include <fmt/format.h>

#include "common/yaml.h"

namespace fathom::plan {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("fathom_sweep_test_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

std::string scenario(const std::string& name) { return data_dir() + "/scenarios/" + name; }

std::string error_of(const std::string& spec_path) {
  try {
    load_sweep_spec(spec_path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SweepSpec, ExpandsListsRangesZipsAndRandomSamplesLastAxisFastest) {
  TempDir d;
  const std::string f = d.write("s.yaml", "name: t\ncommand: estimate\nscenario: " + scenario("llama3.1-70b-decode-h100.yaml") +
                                              "\naxes:\n"
                                              "  - {path: serve.parallel.tp, values: [2, 4]}\n"
                                              "  - {path: serve.iteration.context, range: {from: 100, to: 10000, steps: 3, scale: log}}\n"
                                              "  - zip:\n"
                                              "      - {path: a, values: [x, y]}\n"
                                              "      - {path: b, range: {from: 1, to: 2, steps: 2}}\n"
                                              "  - random: {samples: 3, seed: 9, fields: [{path: r, uniform: [0, 1]}, {path: c, choice: [p, q]}]}\n");
  const SweepSpec s = load_sweep_spec(f);
  EXPECT_EQ(s.points, 2 * 3 * 2 * 3);
  EXPECT_EQ(s.columns(), (std::vector<std::string>{"serve.parallel.tp", "serve.iteration.context", "a", "b", "r", "c"}));
  EXPECT_EQ(s.axes[1].values[0][0], "100");
  EXPECT_EQ(s.axes[1].values[1][0], "1000.0000000000007");  // exp/log in doubles, %.17g
  EXPECT_EQ(s.axes[1].values[2][0], "10000");
  const auto o = point_overrides(s, 1);  // the last axis moved first
  ASSERT_EQ(o.size(), 6u);
  EXPECT_EQ(o[0].value, "2");
  EXPECT_EQ(o[4].value, s.axes[3].values[1][0]);
  EXPECT_EQ(point_values_json(s, 0).rfind("{\"serve.parallel.tp\":2,\"serve.iteration.context\":100,\"a\":\"x\",\"b\":1", 0), 0u)
      << point_values_json(s, 0);
  // The same spec gives the same points and hash; another seed other samples and another hash.
  EXPECT_EQ(load_sweep_spec(f).axes[3].values, s.axes[3].values);
  EXPECT_EQ(load_sweep_spec(f).hash, s.hash);
  std::string text;
  {
    std::ifstream in(f);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("seed: 9"), 7, "seed: 8");
  const SweepSpec s8 = load_sweep_spec(d.write("s8.yaml", text));
  EXPECT_NE(s8.axes[3].values, s.axes[3].values);
  EXPECT_NE(s8.hash, s.hash);
}

TEST(SweepSpec, ErrorsNameTheLine) {
  TempDir d;
  const std::string head = "name: t\ncommand: serve\nscenario: " + scenario("llama3.1-8b-serve-h100.yaml") + "\naxes:\n";
  EXPECT_NE(error_of(d.write("a.yaml", head + "  - {path: x, values: []}\n")).find("a.yaml:5"), std::string::npos);
  EXPECT_NE(error_of(d.write("b.yaml", head + "  - {path: x, range: {from: 0, to: 2, steps: 3, scale: log}}\n")).find("log range"),
            std::string::npos);
  EXPECT_NE(error_of(d.write("c.yaml", head + "  - zip: [{path: a, values: [1, 2]}, {path: b, values: [1]}]\n")).find("expected 2 values"),
            std::string::npos);
  EXPECT_NE(error_of(d.write("e.yaml", head + "  - {path: 'a..b', values: [1]}\n")).find("empty key"), std::string::npos);
  EXPECT_NE(error_of(d.write("f.yaml", head + "  - {path: x, range: {from: 1, to: 3, steps: 5, integer: true}}\n")).find("repeat"),
            std::string::npos);
  EXPECT_NE(error_of(d.write("g.yaml", "name: t\ncommand: fly\nscenario: x\naxes: []\n")).find("g.yaml:2"), std::string::npos);
}

// Acceptance: every stored result reproduces its numbers from its stored scenario text alone
// (the scenario file and the spec deleted).
TEST(Sweep, StoredPointsReproduceFromTheirTextAlone) {
  TempDir d;
  std::string base;
  {
    std::ifstream in(scenario("llama3.1-8b-serve-h100.yaml"));
    base.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string sc = d.write("mine.yaml", base);
  const std::string spec_path = d.write("spec.yaml", "name: r\ncommand: serve\nscenario: mine.yaml\nset: {serve.workload.requests: 600}\n"
                                                     "axes:\n  - rate: [2, 30]\n  - {path: serve.parallel.tp, values: [1, 3]}\n");
  const SweepSpec spec = load_sweep_spec(spec_path);
  const std::string db_path = (d.path / "r.db").string();
  {
    store::SweepStore db = store::SweepStore::open(db_path, true);
    SweepOptions o;
    o.jobs = 2;
    const SweepSummary sum = run_sweep(spec, db, test::hardware(), test::models(), o);
    EXPECT_EQ(sum.computed, 4);
    EXPECT_EQ(sum.failed, 2);  // tp 3 does not divide the heads
    EXPECT_NE(sum.first_failure.find("point 1:"), std::string::npos) << sum.first_failure;
  }
  fs::remove(sc);
  fs::remove(spec_path);
  const store::SweepStore db = store::SweepStore::open(db_path, false);
  const auto rows = db.points(db.sweeps().at(0).id);
  ASSERT_EQ(rows.size(), 4u);
  int checked = 0;
  for (const auto& r : rows) {
    if (r.status != "ok") continue;
    const auto again = sim::resolve_scenario_text(r.scenario_text, "<stored>", test::hardware(), test::models());
    EXPECT_EQ(again.hash, r.scenario_hash);
    const PointResult p = run_scenario(SweepCommand::kServe, "", again.scenario);
    EXPECT_EQ(p.metrics_json, r.metrics_json) << "point " << r.point;
    EXPECT_EQ(p.verdict, r.verdict);
    EXPECT_EQ(p.seed, r.seed);
    ++checked;
  }
  EXPECT_EQ(checked, 2);
  // The overloaded point (30 req/s on one H100) and the stable one (2 req/s) say so.
  EXPECT_EQ(rows[0].verdict, "stable");
  EXPECT_EQ(rows[2].verdict, "overloaded");
}

}  // namespace fathom::plan

namespace fathom::plan {

// Curves: points that follow W = L0 + c·ρ/(1 − ρ) exactly give back L0, c, μ, the knee
// μ·L0/(L0 + c) and the SLO rate μ·(S − L0)/(S − L0 + c); overloaded points bound the SLO rate
// and do not enter the fit.
TEST(SweepCurve, RecoversTheLawAndItsKneeAndCapsAtOverload) {
  const std::string path = (std::filesystem::temp_directory_path() / ("fathom_curve_" + std::to_string(::getpid()) + ".db")).string();
  std::filesystem::remove(path);
  const double l0 = 0.2, c = 0.05, mu = 20;
  {
    store::SweepStore db = store::SweepStore::open(path, true);
    store::SweepInfo info;
    info.spec_hash = "curve";
    info.name = "curve";
    info.command = "serve";
    info.points = 24;
    info.axes_json = R"(["serve.scheduler.token_budget","serve.workload.arrival.rate_per_s"])";
    info.spec_text = "-";
    const int64_t id = db.ensure_sweep(info);
    std::vector<store::SweepPointRow> rows;
    for (int g = 0; g < 2; ++g) {
      for (int k = 0; k < 12; ++k) {
        const double rate = 2.0 * (k + 1);  // 2 .. 24: 20 and above overloaded
        store::SweepPointRow r;
        r.point = g * 12 + k;
        r.values_json = fmt::format(R"({{"serve.scheduler.token_budget":{},"serve.workload.arrival.rate_per_s":{}}})", 512 * (g + 1), rate);
        r.status = "ok";
        r.verdict = rate >= mu ? "overloaded" : "stable";
        const double rho = rate / mu;
        const double w = rate >= mu ? 100.0 : l0 + c * rho / (1 - rho);
        r.metrics_json = fmt::format(R"({{"ttft_p99_s":{},"served_req_per_s":{}}})", yaml_number(w), rate >= mu ? mu : rate);
        r.scenario_hash = "h";
        rows.push_back(r);
      }
    }
    db.add_points(id, rows);
  }
  const store::SweepStore db = store::SweepStore::open(path, false);
  CurveOptions o;
  o.slo_s = 0.5;
  const auto groups = fit_curves(db, db.sweeps().at(0), o, path);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].label, "serve.scheduler.token_budget=512");
  for (const auto& g : groups) {
    ASSERT_TRUE(g.ok) << g.message;
    EXPECT_EQ(g.fitted, 9);  // 2..18 req/s
    EXPECT_NEAR(g.l0, l0, 1e-6);
    EXPECT_NEAR(g.c, c, 1e-6);
    EXPECT_NEAR(g.mu, mu, 1e-5);
    EXPECT_NEAR(g.knee, mu * l0 / (l0 + c), 1e-5);
    EXPECT_NEAR(g.slo_rate, mu * (0.5 - l0) / (0.5 - l0 + c), 1e-5);
    EXPECT_FALSE(g.slo_capped);
    EXPECT_EQ(g.overloaded_from, 20);
    EXPECT_EQ(g.capacity_req_per_s, mu);
    EXPECT_LE(g.knee_lo, g.knee);
    EXPECT_GE(g.knee_hi, g.knee);
  }
  o.metric = "nope";
  EXPECT_THROW(fit_curves(db, db.sweeps().at(0), o, path), FlagError);
  std::filesystem::remove(path);
}

}  // namespace fathom::plan
