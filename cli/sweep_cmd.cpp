// fathom sweep SPEC (run or resume into a database), sweep export, sweep merge (docs/sweeps.md).
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "common/error.h"
#include "common/interrupt.h"
#include "common/output.h"
#include "common/version.h"
#include "hw/catalog.h"
#include "plan/mpi_module.h"
#include "plan/sweep.h"
#include "plan/sweep_curve.h"
#include "plan/sweep_export.h"
#include "sim/model/model_catalog.h"

namespace fathom::cli {

namespace fs = std::filesystem;

namespace {

// "i/N" → (i, N).
std::pair<int64_t, int64_t> parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  auto num = [&](const std::string& s) -> int64_t {
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoll(s);
  };
  const int64_t i = slash == std::string::npos ? -1 : num(text.substr(0, slash));
  const int64_t n = slash == std::string::npos ? -1 : num(text.substr(slash + 1));
  if (i < 0 || n < 1 || i >= n) throw FlagError("--shard", "expected i/N with 0 <= i < N (e.g. 0/4), found '" + text + "'");
  return {i, n};
}

void report_summary(const plan::SweepSpec& spec, const plan::SweepSummary& sum, const plan::SweepOptions& o,
                    const std::string& db_path) {
  std::cout << fmt::format("sweep '{}' ({}, spec {}): {} points", spec.name, to_string(spec.command), spec.hash.substr(0, 12),
                           sum.points);
  if (o.shard_count > 1) std::cout << fmt::format(", shard {}/{} has {}", o.shard_index, o.shard_count, sum.in_shard);
  std::cout << fmt::format("; {} stored before, {} computed ({} failed) into {}\n", sum.stored_before, sum.computed, sum.failed,
                           db_path);
  if (sum.failed > 0) {
    std::cerr << fmt::format("fathom: warning: {} point(s) failed and are stored with their message; the first: {}\n", sum.failed,
                             sum.first_failure);
  }
  if (sum.computed > 0 && sum.failed == sum.computed && sum.stored_before == 0) {
    throw InputError(spec.file, "expected at least one point to run, found every one failing; the first: " + sum.first_failure);
  }
}

// Under mpirun: rank r of N runs shard r/N into its own database (DB.rank-r-of-N, kept between
// runs, so a killed MPI sweep resumes like any other); then rank 0 merges every rank's file into
// DB and removes them. An error on any rank ends every rank (MPI_Abort), so none waits forever.
int run_under_mpi(const plan::SweepSpec& spec, const std::string& db_path, const hw::HardwareCatalog& hwc,
                  const model::ModelCatalog& mc, plan::SweepOptions o) {
  const plan::MpiTable& mpi = plan::mpi();
  mpi.init();
  const int rank = mpi.rank(), size = mpi.size();
  auto rank_file = [&](int r) { return fmt::format("{}.rank-{}-of-{}", db_path, r, size); };
  try {
    o.shard_index = rank;
    o.shard_count = size;
    if (rank != 0) o.on_progress = nullptr;
    plan::SweepSummary sum;
    {
      store::SweepStore db = store::SweepStore::open(rank_file(rank), true);
      sum = plan::run_sweep(spec, db, hwc, mc, o);
    }
    plan::SweepSummary all = sum;
    all.in_shard = mpi.sum(sum.in_shard);
    all.stored_before = mpi.sum(sum.stored_before);
    all.computed = mpi.sum(sum.computed);
    all.failed = mpi.sum(sum.failed);
    mpi.barrier();
    if (rank == 0) {
      {
        interrupt::Defer defer;
        store::SweepStore db = store::SweepStore::open(db_path, true);
        for (int r = 0; r < size; ++r) db.merge_from(rank_file(r));
      }
      for (int r = 0; r < size; ++r) {
        std::error_code ec;
        fs::remove(rank_file(r), ec);
      }
      plan::SweepOptions shown = o;
      shown.shard_count = 1;
      if (all.failed > 0 && sum.failed == 0) all.first_failure = "(on another rank; see the database)";
      std::cout << fmt::format("mpi: {} ranks, ", size);
      report_summary(spec, all, shown, db_path);
    }
    mpi.barrier();
    mpi.finalize();
    return 0;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (char& c : msg) if (c == '\n') c = ' ';
    std::cerr << "fathom: rank " << rank << ": " << msg << "\n";
    mpi.abort(2);  // does not return
    return 2;
  }
}

}  // namespace

int cmd_sweep(const SweepFlags& sf) {
  if (sf.jobs < 0 || sf.jobs > 4096) throw FlagError("--jobs", fmt::format("expected 1 to 4096 threads (0: all cores), found {}", sf.jobs));
  const ProgressMode mode = parse_progress_mode(sf.progress);
  plan::SweepOptions o;
  o.jobs = static_cast<int>(sf.jobs);
  if (!sf.shard.empty()) std::tie(o.shard_index, o.shard_count) = parse_shard(sf.shard);
  const plan::SweepSpec spec = plan::load_sweep_spec(sf.spec);
  const std::string db_path = sf.db.empty() ? fs::path(sf.spec).stem().string() + ".sqlite" : sf.db;
  check_db_flag(db_path, "--db");
  auto hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
  auto mc = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());

  const bool tty = mode == ProgressMode::kAuto && ::isatty(2) == 1;
  std::atomic<bool> stop{false};
  o.cancel = &stop;
  o.on_progress = [&](const plan::SweepProgress& p) {
    if (interrupt::received() != 0) stop = true;  // stop after this batch, keeping what is done
    const double rate = p.elapsed_s > 0 ? static_cast<double>(p.done) / p.elapsed_s : 0;
    const double eta = rate > 0 ? static_cast<double>(p.total - p.done) / rate : -1;
    if (mode == ProgressMode::kJsonl) {
      std::cerr << fmt::format("{{\"done\":{},\"total\":{},\"failed\":{},\"elapsed_s\":{:.3f},\"points_per_s\":{:.3f},\"eta_s\":{:.1f}}}\n",
                               p.done, p.total, p.failed, p.elapsed_s, rate, eta < 0 ? 0.0 : eta);
    } else if (tty) {
      std::cerr << fmt::format("\rsweep {}: {}/{} points ({:.1f}%), {:.1f} points/s, ETA {}, {} failed\033[K", spec.name, p.done,
                               p.total, p.total ? 100.0 * static_cast<double>(p.done) / static_cast<double>(p.total) : 100.0,
                               rate, clock_text(eta), p.failed)
                << std::flush;
    }
  };

  plan::SweepSummary sum;
  if (plan::launched_by_mpi()) {
    if (!sf.shard.empty()) throw FlagError("--shard", "expected either --shard or mpirun, found both");
    return run_under_mpi(spec, db_path, hwc, mc, o);
  }
  {
    // A signal stops the sweep after the batch under way (its points are kept: run the same
    // command again to go on); the process then ends with 130/143 once the database is closed.
    interrupt::Defer defer;
    store::SweepStore db = store::SweepStore::open(db_path, true);
    try {
      sum = plan::run_sweep(spec, db, hwc, mc, o);
    } catch (const Cancelled& e) {
      if (tty) std::cerr << "\n";
      std::cerr << "fathom: interrupted: " << e.what() << " (" << db_path << ")\n";
      return 130;  // the Defer's end exits with the signal's own status
    }
  }
  if (tty) std::cerr << "\n";
  report_summary(spec, sum, o, db_path);
  return 0;
}

int cmd_sweep_export(const std::string& db_path, const std::string& which, const CommonFlags& f) {
  if (f.format != "csv" && f.format != "json" && f.format != "table") {
    throw FlagError("--format", "expected csv or json, found '" + f.format + "'");
  }
  std::error_code ec;
  if (!fs::is_regular_file(db_path, ec)) throw InputError(db_path, "expected a sweep database, found no such file");
  const store::SweepStore db = store::SweepStore::open(db_path, false);
  const store::SweepInfo s = plan::pick_sweep(db, which, db_path);
  std::ostringstream os;
  if (f.format == "json") plan::export_json(os, db, s);
  else plan::export_csv(os, db, s);
  emit(os.str(), f);
  return 0;
}

int cmd_sweep_curve(const std::string& db_path, const std::string& which, const std::string& metric, double slo_s,
                    const CommonFlags& f) {
  if (f.format != "table" && f.format != "json" && f.format != "csv") {
    throw FlagError("--format", "expected table, json or csv, found '" + f.format + "'");
  }
  if (!(slo_s >= 0) || !std::isfinite(slo_s)) throw FlagError("--slo", fmt::format("expected seconds >= 0, found {}", slo_s));
  std::error_code ec;
  if (!fs::is_regular_file(db_path, ec)) throw InputError(db_path, "expected a sweep database, found no such file");
  const store::SweepStore db = store::SweepStore::open(db_path, false);
  const store::SweepInfo s = plan::pick_sweep(db, which, db_path);
  plan::CurveOptions o;
  o.metric = metric;
  o.slo_s = slo_s;
  const auto groups = plan::fit_curves(db, s, o, db_path);
  std::ostringstream os;
  auto num = [](double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : std::string("-"); };
  if (f.format == "json") {
    nlohmann::ordered_json doc = nlohmann::ordered_json::object();
    doc["sweep"] = s.name;
    doc["metric"] = metric;
    doc["law"] = "latency_load: W = L0 + c*rho/(1 - rho), rho = lambda/mu";
    if (slo_s > 0) doc["slo_s"] = slo_s;
    doc["groups"] = nlohmann::ordered_json::array();
    for (const auto& g : groups) {
      nlohmann::ordered_json j = {{"group", g.label}, {"points", g.points}, {"fitted", g.fitted}, {"ok", g.ok}};
      if (g.ok) {
        j["l0_s"] = g.l0;
        j["c_s"] = g.c;
        j["mu_req_per_s"] = g.mu;
        j["r2"] = g.r2;
        j["knee_req_per_s"] = {g.knee, g.knee_lo, g.knee_hi};
        if (slo_s > 0) j["max_rate_meeting_slo_req_per_s"] = {g.slo_rate, g.slo_lo, g.slo_hi};
        j["slo_rate_capped_by_overload"] = g.slo_capped;
      }
      j["overloaded_from_req_per_s"] = g.overloaded_from;
      j["capacity_req_per_s"] = g.capacity_req_per_s;
      j["message"] = g.message;
      doc["groups"].push_back(j);
    }
    os << doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (f.format == "csv") {
    os << "group,points,fitted,l0_s,c_s,mu_req_per_s,r2,knee,knee_lo,knee_hi,slo_rate,slo_lo,slo_hi,overloaded_from,capacity,message\n";
    for (const auto& g : groups) {
      os << fmt::format("\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\"\n", g.label, g.points, g.fitted, g.l0, g.c, g.mu, g.r2,
                        g.knee, g.knee_lo, g.knee_hi, g.slo_rate, g.slo_lo, g.slo_hi, g.overloaded_from, g.capacity_req_per_s,
                        g.message);
    }
  } else {
    os << fmt::format("sweep '{}': {} against arrival rate, fitted W = L0 + c·ρ/(1 − ρ), ρ = λ/μ on the stable points\n", s.name,
                      metric);
    os << fmt::format("{:<40} {:>6} {:>9} {:>9} {:>8} {:>6} {:>24}", "group", "fitted", "L0 (s)", "c (s)", "μ (req/s)", "R²",
                      "knee req/s [95%]");
    if (slo_s > 0) os << fmt::format(" {:>26}", fmt::format("≤ {} s req/s [95%]", slo_s));
    os << fmt::format(" {:>12}\n", "overload ≥");
    for (const auto& g : groups) {
      os << fmt::format("{:<40} {:>6}", g.label.empty() ? "(all)" : g.label, g.fitted);
      if (g.ok) {
        os << fmt::format(" {:>9} {:>9} {:>9} {:>6} {:>24}", num(g.l0), num(g.c), num(g.mu), num(g.r2),
                          fmt::format("{} [{}, {}]", num(g.knee), num(g.knee_lo), num(g.knee_hi)));
        if (slo_s > 0) {
          os << fmt::format(" {:>26}", g.slo_rate > 0 ? fmt::format("{}{} [{}, {}]", g.slo_capped ? "≤" : "", num(g.slo_rate),
                                                                    num(g.slo_lo), num(g.slo_hi))
                                                      : std::string("none"));
        }
      } else {
        os << "  " << g.message;
      }
      os << fmt::format(" {:>12}\n", g.overloaded_from > 0 ? num(g.overloaded_from) : std::string("-"));
      if (g.ok && !g.message.empty()) os << "  note: " << g.message << "\n";
    }
  }
  emit(os.str(), f);
  return 0;
}

int cmd_sweep_merge(const std::string& out, const std::vector<std::string>& inputs) {
  check_db_flag(out, "merge OUT");
  for (const auto& in : inputs) {
    std::error_code ec;
    if (!fs::is_regular_file(in, ec)) throw InputError(in, "expected a sweep database to merge, found no such file");
    if (fs::exists(out, ec) && fs::equivalent(in, out, ec)) throw FlagError("merge", "expected inputs other than the output, found " + in + " in both");
  }
  // One transaction per input: a failing input leaves the output as it was before it.
  interrupt::Defer defer;
  store::SweepStore db = store::SweepStore::open(out, true);
  int64_t added = 0;
  for (const auto& in : inputs) added += db.merge_from(in);
  std::cout << fmt::format("merged {} database(s) into {}: {} point(s) added\n", inputs.size(), out, added);
  return 0;
}

}  // namespace fathom::cli
