// `fathom validate fitting`: the Chinchilla and data-constrained fits against the papers.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "cli/table.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/suggest.h"
#include "common/version.h"
#include "fit/expr.h"
#include "fit/fitter.h"
#include "fit/law.h"
#include "fit/optimal.h"
#include "fit/result.h"
#include "fit/validate.h"
#include "sim/model/model_catalog.h"
#include "sim/model/params.h"

namespace fathom::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string g(double v, int digits = 6) { return fmt::format("{:.{}g}", v, digits); }

std::string shared_dataset(const std::string& sub) {
  // ../shared/datasets beside the project (data_dir() is <project>/data).
  return (fs::path(data_dir()).parent_path().parent_path() / "shared" / "datasets" / sub).string();
}

json fit_json(const fit::Law& law, const fit::FitResult& r, const fit::BootstrapResult* b) {
  json p = json::object();
  for (size_t j = 0; j < law.params.size(); ++j) {
    json q = {{"value", r.params[j]}, {"fixed", !r.free[j]}};
    if (b && r.free[j]) q["interval"] = {b->params[j].low, b->params[j].high};
    if (b && r.free[j]) q["bootstrap_sd"] = b->params[j].sd;
    p[law.params[j].name] = q;
  }
  return {{"objective", r.objective}, {"termination", r.termination}, {"starts", r.starts},
          {"starts_at_best", r.starts_at_best}, {"parameters", p}};
}

}  // namespace

int cmd_validate_fitting(const std::string& chinchilla, const std::string& datablations, int64_t random_starts,
                         int64_t resamples, int64_t threads, const CommonFlags& f) {
  const Format fmt = parse_format(f.format);
  if (fmt == Format::kCsv) throw FlagError("--format", "expected table or json for validate fitting, found 'csv'");
  // Progress counts the two validations (fit/validate.h runs each as one call).
  ProgressLine line("validate fitting", "validations", parse_progress_mode(f.progress));
  if (random_starts < 1 || random_starts > 10000000) throw FlagError("--random-starts", "expected 1 to 10000000");
  if (resamples < 0 || resamples > 1000000) throw FlagError("--bootstrap", "expected 0 to 1000000");
  if (threads < 0 || threads > 1024) throw FlagError("--threads", "expected 0 (all cores) to 1024");
  const std::string cpath = chinchilla.empty() ? shared_dataset("chinchilla/svg_extracted_data.csv") : chinchilla;
  const std::string mpath =
      datablations.empty() ? shared_dataset("muennighoff2023_datablations/datablations_c4_fitset182_derived.csv") : datablations;
  const auto chin = fit::make_law("chinchilla");
  const auto dc = fit::make_law("data_constrained");
  std::ostringstream os;
  json out = {{"context", context("validate fitting")}};
  const int th = static_cast<int>(threads);

  line.update(0, 2);
  if (std::error_code ec; !fs::exists(cpath, ec)) {
    if (!chinchilla.empty()) throw FlagError("--chinchilla", "expected a readable file, found none at '" + cpath + "'");
    os << "Chinchilla: skipped, " << cpath << " is absent\n\n";
    out["chinchilla"] = {{"skipped", cpath}};
  } else {
    const fit::Dataset d = fit::load_chinchilla(cpath);
    const fit::ChinchillaValidation v = fit::validate_chinchilla(d, static_cast<int>(random_starts), static_cast<int>(resamples), th);
    const auto pubs = fit::published_chinchilla_fits();
    const bool pass = v.gap >= -1e-9;
    if (fmt == Format::kJson) {
      json pj = json::array();
      for (size_t i = 0; i < pubs.size(); ++i) pj.push_back({{"who", pubs[i].who}, {"params", pubs[i].params}, {"objective", v.published_objective[i]}});
      out["chinchilla"] = {{"file", cpath},
                           {"points", v.points},
                           {"grid", fit_json(*chin, v.grid, resamples > 0 ? &v.boot : nullptr)},
                           {"random", fit_json(*chin, v.random, nullptr)},
                           {"relative_gap", v.gap},
                           {"global_optimum_check", pass},
                           {"loose_single_start", {{"start", v.loose_start}, {"tolerance", v.loose_tolerance}, {"fit", fit_json(*chin, v.loose, nullptr)}}},
                           {"published", pj},
                           {"seconds", {{"grid", v.grid_s}, {"random", v.random_s}, {"bootstrap", v.boot_s}}}};
    } else {
      os << "Chinchilla Approach 3 on " << v.points << " points of " << cpath << " (5 highest losses dropped)\n"
         << "objective: sum over points of Huber(delta 1e-3) of LSE(a - alpha log N, b - beta log D, e) - log L\n\n";
      Table t;
      t.header = {"fit", "a", "b", "e", "alpha", "beta", "A", "B", "E", "objective", "vs grid optimum"};
      t.right.assign(t.header.size(), true);
      t.right[0] = false;
      auto row = [&](const std::string& name, const std::vector<double>& p, double obj) {
        t.rows.push_back({name, g(p[0], 6), g(p[1], 6), g(p[2], 6), g(p[3], 6), g(p[4], 6), g(std::exp(p[0]), 5),
                          g(std::exp(p[1]), 5), g(std::exp(p[2]), 5), g(obj, 13),
                          fmt::format("{:+.3e}", (obj - v.grid.objective) / v.grid.objective)});
      };
      row(fmt::format("grid, {} starts", v.grid.starts), v.grid.params, v.grid.objective);
      row(fmt::format("random, {} starts", v.random.starts), v.random.params, v.random.objective);
      row(fmt::format("one start, tol {:g}", v.loose_tolerance), v.loose.params, v.loose.objective);
      for (size_t i = 0; i < pubs.size(); ++i) row(pubs[i].who, pubs[i].params, v.published_objective[i]);
      t.print(os);
      os << "\ncheck: the best of " << v.random.starts << " random starts (each to 1e-15) is "
         << fmt::format("{:+.3e}", v.gap) << " relative to the grid's best (limit >= -1e-9): " << (pass ? "PASS" : "FAIL")
         << "\n";
      os << "grid: " << v.grid.starts_at_best << " of " << v.grid.starts << " starts ended the 1e-6 screen within 1e-6 of the optimum; "
         << "the single start from (a, b, e, alpha, beta) = (5, 5, 0.5, 0.5, 0.5) stopped at " << v.loose.termination
         << " after " << v.loose.iterations << " iterations, "
         << fmt::format("{:.1f}", v.loose.objective / v.grid.objective) << "x the optimum\n";
      if (resamples > 0) {
        os << "\nbootstrap: " << v.boot.resamples << " resamples of the 240 points, each refitted (" << v.boot.failed
           << " failed, " << v.boot.not_converged << " stopped at the iteration limit and kept); 95% percentile intervals\n";
        Table b;
        b.header = {"parameter", "fathom", "95% low", "95% high", "bootstrap sd", "Besiroglu", "their se"};
        b.right.assign(b.header.size(), true);
        b.right[0] = false;
        const auto& bes = pubs[1];
        const char* names[] = {"A", "B", "E"};
        for (size_t q = 0; q < 3; ++q) {
          const double pub = std::exp(bes.params[q]);
          b.rows.push_back({names[q], g(v.grid.derived[q], 6), g(v.boot.derived[q].low, 6), g(v.boot.derived[q].high, 6),
                            g(v.boot.derived[q].sd, 3), g(pub, 6), g(bes.std_error[q] * pub, 3)});
        }
        for (size_t j = 3; j < 5; ++j) {
          b.rows.push_back({chin->params[j].name, g(v.grid.params[j], 6), g(v.boot.params[j].low, 6),
                            g(v.boot.params[j].high, 6), g(v.boot.params[j].sd, 3), g(bes.params[j], 6),
                            g(bes.std_error[j], 3)});
        }
        b.rows.push_back({"a_opt = beta/(alpha+beta)", g(v.grid.derived[3], 6), g(v.boot.derived[3].low, 6),
                          g(v.boot.derived[3].high, 6), g(v.boot.derived[3].sd, 3), "0.5126", "0.02"});
        b.print(os);
      }
      os << fmt::format("\ntime: grid {:.2f} s, random starts {:.2f} s, bootstrap {:.2f} s\n\n", v.grid_s, v.random_s, v.boot_s);
    }
  }

  line.update(1, 2);
  if (std::error_code ec; !fs::exists(mpath, ec)) {
    if (!datablations.empty()) throw FlagError("--muennighoff", "expected a readable file, found none at '" + mpath + "'");
    os << "Data-constrained: skipped, " << mpath << " is absent\n";
    out["data_constrained"] = {{"skipped", mpath}};
  } else {
    const fit::Dataset d = fit::load_datablations(mpath);
    const int res = static_cast<int>(std::min<int64_t>(resamples, 1000));
    const fit::DatablationsValidation v = fit::validate_datablations(d, res, th);
    if (fmt == Format::kJson) {
      out["data_constrained"] = {{"file", mpath},
                                 {"points", v.points},
                                 {"paper", {{"rd_star", v.paper_decay[0]}, {"rn_star", v.paper_decay[1]}, {"objective", v.paper_objective}}},
                                 {"stage2", fit_json(*dc, v.stage2, res > 0 ? &v.stage2_boot : nullptr)},
                                 {"joint", fit_json(*dc, v.joint, res > 0 ? &v.joint_boot : nullptr)}};
    } else {
      os << "Data-constrained law (Muennighoff et al. 2023) on the " << v.points << " runs of " << mpath << "\n"
         << "objective: sum of Huber(delta 1e-3) of log-space residuals; " << res << " bootstrap resamples\n\n";
      Table t;
      t.header = {"fit", "parameter", "value", "95% low", "95% high", "objective"};
      t.right = {false, false, true, true, true, true};
      t.rows.push_back({"paper (stage 1 held)", "rd_star", g(v.paper_decay[0], 6), "", "", g(v.paper_objective, 9)});
      t.rows.push_back({"", "rn_star", g(v.paper_decay[1], 6), "", "", ""});
      auto add = [&](const std::string& name, const fit::FitResult& r, const fit::BootstrapResult& b) {
        bool first = true;
        for (size_t j = 0; j < dc->params.size(); ++j) {
          if (!r.free[j]) continue;
          t.rows.push_back({first ? name : "", dc->params[j].name, g(r.params[j], 6), res > 0 ? g(b.params[j].low, 5) : "",
                            res > 0 ? g(b.params[j].high, 5) : "", first ? g(r.objective, 9) : ""});
          first = false;
        }
      };
      add("fathom, stage 2 (stage 1 held)", v.stage2, v.stage2_boot);
      add("fathom, all seven jointly", v.joint, v.joint_boot);
      t.print(os);
      if (!v.joint.covariance_note.empty()) os << "\njoint fit: " << v.joint.covariance_note << "\n";
      os << "\nthe paper's reported stage-2 objective is 0.0158259; fathom's at the paper's values: "
         << g(v.paper_objective, 9) << "; fathom's optimum of the same objective: " << g(v.stage2.objective, 9) << " ("
         << fmt::format("{:+.2f}%", 100 * (v.stage2.objective / v.paper_objective - 1)) << ")\n";
    }
  }
  line.update(2, 2);
  line.finish();
  if (fmt == Format::kJson) os << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  emit(os.str(), f);
  return 0;
}

}  // namespace fathom::cli
