#include "fit/validate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "common/csv.h"
#include "common/error.h"

namespace fathom::fit {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

Dataset load_chinchilla(const std::string& path, size_t drop_highest) {
  const CsvTable t = CsvTable::load(path);
  const size_t cn = t.column("Model Size"), cc = t.column("Training FLOP"), cl = t.column("loss");
  std::vector<size_t> rows(t.rows());
  std::iota(rows.begin(), rows.end(), 0);
  std::vector<double> loss(t.rows());
  for (size_t r = 0; r < t.rows(); ++r) loss[r] = t.number(r, cl);
  if (drop_highest >= rows.size()) throw InputError(path, "expected more rows than the points to drop");
  std::vector<size_t> by_loss = rows;
  std::stable_sort(by_loss.begin(), by_loss.end(), [&](size_t a, size_t b) { return loss[a] > loss[b]; });
  std::vector<bool> drop(rows.size(), false);
  for (size_t i = 0; i < drop_highest; ++i) drop[by_loss[i]] = true;
  Dataset d;
  d.source = path;
  d.x.resize(2);
  for (size_t r : rows) {
    if (drop[r]) continue;
    const double n = t.number(r, cn), c = t.number(r, cc);
    d.x[0].push_back(n);
    d.x[1].push_back(c / (6 * n));
    d.y.push_back(loss[r]);
    d.lines.push_back(t.line(r));
  }
  return d;
}

Dataset load_datablations(const std::string& path) {
  const CsvTable t = CsvTable::load(path);
  const size_t cn = t.column("N_params"), cd = t.column("D_total_tokens"), cu = t.column("U_unique_tokens"),
               cl = t.column("val_loss_c4");
  Dataset d;
  d.source = path;
  d.x.resize(3);
  for (size_t r = 0; r < t.rows(); ++r) {
    d.x[0].push_back(t.number(r, cn));
    d.x[1].push_back(t.number(r, cd));
    d.x[2].push_back(t.number(r, cu));
    d.y.push_back(t.number(r, cl));
    d.lines.push_back(t.line(r));
  }
  return d;
}

std::vector<PublishedFit> published_chinchilla_fits() {
  // Hoffmann et al. 2022, eq. 10 (rounded): E 1.69, A 406.4, B 410.7, alpha 0.34, beta 0.28.
  // Besiroglu et al. 2024, Table 1: E 1.8172 (0.03), A 482.01 (124.58), B 2085.43 (1293.23),
  // alpha 0.3478 (0.02), beta 0.3658 (0.02); standard errors of a and b by the delta method.
  return {
      {"Hoffmann et al. 2022 (published, rounded)", {std::log(406.4), std::log(410.7), std::log(1.69), 0.34, 0.28}, {}},
      {"Besiroglu et al. 2024 (replication)",
       {std::log(482.01), std::log(2085.43), std::log(1.8172), 0.3478, 0.3658},
       {124.58 / 482.01, 1293.23 / 2085.43, 0.03 / 1.8172, 0.02, 0.02}},
  };
}

namespace {
void thin_grids(Law& law) {
  for (auto& p : law.params) {
    std::vector<double> g;
    for (size_t i = 0; i < p.grid.size(); i += 2) g.push_back(p.grid[i]);
    p.grid = g;
  }
}
}  // namespace

ChinchillaValidation validate_chinchilla(const Dataset& data, int random_starts, int resamples, int threads,
                                         bool coarse) {
  ChinchillaValidation v;
  v.points = data.size();
  const auto law = make_law("chinchilla");
  if (coarse) thin_grids(*law);
  Options o = default_options(*law);
  o.threads = threads;
  auto t0 = std::chrono::steady_clock::now();
  v.grid = fit(*law, data, o);
  v.grid_s = seconds_since(t0);

  Options r = o;
  r.grid = false;
  r.random_starts = random_starts;
  r.seed = 20221;  // a stream of its own, apart from the bootstrap's seed
  r.screen_tolerance = 0;  // every random start to the tight tolerance: no shortcut in the check
  t0 = std::chrono::steady_clock::now();
  v.random = fit(*law, data, r);
  v.random_s = seconds_since(t0);
  v.gap = (v.random.objective - v.grid.objective) / v.grid.objective;

  Options loose = o;
  loose.screen_tolerance = 0;
  loose.function_tolerance = loose.gradient_tolerance = loose.parameter_tolerance = v.loose_tolerance;
  v.loose_start = {5, 5, 0.5, 0.5, 0.5};
  v.loose = fit_from(*law, data, loose, v.loose_start);

  for (const auto& p : published_chinchilla_fits()) v.published_objective.push_back(objective(*law, data, o, p.params));

  t0 = std::chrono::steady_clock::now();
  if (resamples > 0) v.boot = bootstrap(*law, data, o, v.grid, resamples);
  v.boot_s = seconds_since(t0);
  return v;
}

DatablationsValidation validate_datablations(const Dataset& data, int resamples, int threads, bool coarse) {
  DatablationsValidation v;
  v.points = data.size();
  const auto law = make_law("data_constrained");
  if (coarse) thin_grids(*law);
  // Stage 1 of the paper (datablations utils/parametric_fit.ipynb): fitted on Chinchilla's C4
  // runs with alpha = beta; a, b, e, alpha printed there.
  v.stage1 = {6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596};
  v.paper_decay = {15.387756, 5.309743};
  Options o = default_options(*law);
  o.threads = threads;
  const char* names[] = {"a", "b", "e", "alpha", "beta"};
  for (int i = 0; i < 5; ++i) o.fixed[names[i]] = v.stage1[static_cast<size_t>(i)];
  std::vector<double> paper = v.stage1;
  paper.push_back(v.paper_decay[0]);
  paper.push_back(v.paper_decay[1]);
  v.paper_objective = objective(*law, data, o, paper);
  // The paper's stage-2 grid, linspace(0, 20, 4), with 0 moved onto the lower bound.
  auto law2 = make_law("data_constrained");
  law2->params[5].grid = law2->params[6].grid = {1e-3, 20.0 / 3, 40.0 / 3, 20};
  v.stage2 = fit(*law2, data, o);
  if (resamples > 0) v.stage2_boot = bootstrap(*law2, data, o, v.stage2, resamples);
  Options j = default_options(*law);
  j.threads = threads;
  v.joint = fit(*law, data, j);
  if (resamples > 0) v.joint_boot = bootstrap(*law, data, j, v.joint, resamples);
  return v;
}

}  // namespace fathom::fit
