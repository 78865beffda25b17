// fathom calib: run the GPU suite, generate synthetic measurements, import PyTorch traces, fit a
// hardware profile and report measured against predicted (docs/calibration.md).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <map>
#include <sstream>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "calib/measure.h"
#include "calib/profile_fit.h"
#include "calib/report.h"
#include "calib/suite.h"
#include "calib/synthetic.h"
#include "calib/torch_trace.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "common/error.h"
#include "common/interrupt.h"
#include "common/version.h"
#include "hw/catalog.h"
#include "hw/profile.h"
#include "sim/model/model_catalog.h"
#include "sim/model/ops_builder.h"
#include "store/calib_store.h"

namespace fathom::cli {

namespace fs = std::filesystem;

namespace {

hw::HardwareCatalog hardware_catalog() { return hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string()); }

// A database file this command created is removed again when the command fails or is
// interrupted, so that a failed command leaves no partial output.
class NewFileGuard {
 public:
  explicit NewFileGuard(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    existed_ = fs::exists(path_, ec);
    if (!existed_) {
      for (const char* suffix : kSuffixes) cleanup_.push_back(std::make_unique<interrupt::CleanupPath>(path_ + suffix));
    }
  }
  ~NewFileGuard() {
    if (keep_ || existed_) return;
    std::error_code ec;
    for (const char* suffix : kSuffixes) fs::remove(path_ + suffix, ec);
  }
  void keep() {
    keep_ = true;
    cleanup_.clear();
  }
  bool existed() const { return existed_; }

 private:
  static constexpr const char* kSuffixes[] = {"", "-wal", "-shm", "-journal"};
  std::string path_;
  bool existed_ = false, keep_ = false;
  std::vector<std::unique_ptr<interrupt::CleanupPath>> cleanup_;
};

void require_db_flag(const std::string& db) {
  if (db.empty()) throw FlagError("--db", "expected a database file (--db FILE.sqlite)");
}

// A file to read: anything that exists and is not a folder (a FIFO or /dev/stdin too; readers
// cap what they read, docs/reliability.md).
void require_existing(const std::string& path, const std::string& what) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw InputError(path, "expected an existing " + what + ", found none");
  if (fs::is_directory(st)) throw InputError(path, "expected an existing " + what + ", found a directory");
}

std::string pct(double v) { return std::isnan(v) ? "-" : fmt::format("{:.1f}%", 100 * v); }

std::string seconds(double s) {
  if (std::isnan(s)) return "-";
  if (s < 1e-3) return fmt::format("{:.2f} us", s * 1e6);
  if (s < 1) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    try {
      size_t used = 0;
      const long long v = std::stoll(part, &used);
      if (used != part.size() || v < 1) throw std::invalid_argument(part);
      out.push_back(v);
    } catch (const std::exception&) {
      throw FlagError(flag, "expected positive integers separated by commas, found '" + part + "'");
    }
  }
  if (out.empty()) throw FlagError(flag, "expected at least one value");
  return out;
}

// The devices of a database, and the one a command works on: --device (UUID or name), or the
// only device, or the one with the most measurements is not guessed: several devices need a flag.
store::DeviceRecord pick_device(const store::CalibStore& db, const std::string& want, const std::string& path) {
  const auto devices = db.devices();
  if (devices.empty()) throw InputError(path, "expected a calibration database with measurements, found no device");
  if (want.empty()) {
    if (devices.size() == 1) return devices[0];
    std::string names;
    for (const auto& d : devices) names += (names.empty() ? "" : ", ") + d.uuid + " (" + d.name + ")";
    throw FlagError("--device", "expected one of the database's devices, it has " + std::to_string(devices.size()) + ": " + names);
  }
  for (const auto& d : devices) {
    if (d.uuid == want || d.name == want) return d;
  }
  throw FlagError("--device", "expected a UUID or name of a device in " + path + ", found '" + want + "'");
}

std::vector<store::MeasurementRecord> device_measurements(const store::CalibStore& db, int64_t device_id,
                                                          bool* any_synthetic) {
  std::set<int64_t> runs;
  for (const auto& r : db.runs()) {
    if (r.device_id == device_id) {
      runs.insert(r.id);
      if (any_synthetic && r.kind == "synthetic") *any_synthetic = true;
    }
  }
  std::vector<store::MeasurementRecord> out;
  for (auto& m : db.measurements()) {
    if (runs.count(m.run_id)) out.push_back(std::move(m));
  }
  return out;
}

hw::GpuSpec resolve_gpu(const hw::HardwareCatalog& cat, const store::DeviceRecord& d, const std::string& gpu_flag) {
  const hw::GpuSpec* g = nullptr;
  if (!gpu_flag.empty()) {
    g = &cat.gpu(gpu_flag, "--gpu");
  } else {
    g = calib::match_catalog_gpu(d.name, cat.gpus());
    if (!g) {
      throw FlagError("--gpu", "expected the catalog GPU that '" + d.name +
                                   "' is (its datasheet peaks are the reference), found no match; pass --gpu NAME "
                                   "(fathom catalog gpus)");
    }
  }
  return calib::fitting_gpu(*g, d);
}

// What fit and report work on: one device of a database, its catalog GPU and its measurements.
struct DeviceData {
  store::CalibStore db;
  store::DeviceRecord dev;
  hw::GpuSpec gpu;
  std::vector<store::MeasurementRecord> ms;
  bool synthetic = false;
};

// `write`: the command adds to the database (fit records its profile); report only reads it.
DeviceData open_device_data(const std::string& path, const CalibFlags& f, bool write) {
  require_existing(path, "calibration database");
  DeviceData d{write ? store::CalibStore::open(path) : store::CalibStore::open_read(path), {}, {}, {}, false};
  d.dev = pick_device(d.db, f.device_uuid, path);
  d.gpu = resolve_gpu(hardware_catalog(), d.dev, f.gpu);
  d.ms = device_measurements(d.db, d.dev.id, &d.synthetic);
  return d;
}

}  // namespace

std::vector<calib::GemmShape> model_gemm_shapes(const std::vector<std::string>& names,
                                                const std::vector<int64_t>& tokens, const std::vector<int64_t>& tps) {
  const model::ModelCatalog mc = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());
  std::vector<calib::GemmShape> out;
  for (const std::string& name : names) {
    const model::ModelSpec& m = [&]() -> const model::ModelSpec& {
      const model::ModelSpec* p = mc.find(name);
      if (!p) throw FlagError("--models", "expected catalog model names (fathom catalog models), found '" + name + "'");
      return *p;
    }();
    for (int64_t tp : tps) {
      model::Layout layout;
      layout.tp = static_cast<int>(tp);
      if (model::layout_problem(m, layout, false)) continue;  // heads not divisible by this TP
      for (int64_t t : tokens) {
        model::Batch b;
        b.sequences = 1;
        b.seq_len = t;
        model::OpsOptions o;
        o.include_communication = false;
        for (const hw::Op& op : model::build_ops(m, model::Phase::kPrefill, b, layout, {}, o)) {
          if (op.kind == hw::OpKind::kGemm && op.m > 0 && op.n > 0 && op.k > 0) {
            out.push_back({op.m, op.n, op.k, std::max<int64_t>(1, op.batch)});
          }
        }
      }
    }
  }
  return out;
}

calib::SuitePlan calib_plan(const CalibFlags& f) {
  calib::SuitePlan plan = calib::default_plan(f.quick);
  std::vector<std::string> names;
  if (!f.models.empty()) {
    std::stringstream ss(f.models);
    std::string part;
    while (std::getline(ss, part, ',')) {
      if (!part.empty()) names.push_back(part);
    }
  } else if (f.quick) {
    names = {"llama-3.1-8b"};
  } else {
    names = {"llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "mixtral-8x7b"};
  }
  const std::vector<int64_t> tokens = !f.tokens.empty() ? parse_int_list(f.tokens, "--tokens")
                                      : f.quick ? std::vector<int64_t>{1, 256, 4096}
                                                : std::vector<int64_t>{1, 16, 128, 1024, 4096, 16384};
  const std::vector<int64_t> tps = !f.tp.empty() ? parse_int_list(f.tp, "--tp")
                                   : f.quick ? std::vector<int64_t>{1, 8} : std::vector<int64_t>{1, 2, 4, 8};
  for (int64_t t : tokens) {
    if (t > 16384 * 4) throw FlagError("--tokens", fmt::format("expected at most 65536 tokens, found {}", t));
  }
  calib::add_gemm_shapes(plan, model_gemm_shapes(names, tokens, tps));
  if (f.budget_s < 0) throw FlagError("--budget", "expected seconds >= 0");
  plan.time_budget_s = f.budget_s;
  plan.seed = static_cast<uint64_t>(f.seed);
  return plan;
}

int cmd_calib_plan(const CalibFlags& f, const CommonFlags& c) {
  const calib::SuitePlan plan = calib_plan(f);
  if (c.format == "json") {
    nlohmann::json j = context("calib plan");
    nlohmann::json g = nlohmann::json::array();
    for (const auto& s : plan.gemms) g.push_back(calib::gemm_shape_text(s));
    j["gemm_dtypes"] = plan.gemm_dtypes;
    j["gemms"] = g;
    j["memory_bytes"] = plan.memory_bytes;
    nlohmann::json rw = nlohmann::json::array();
    for (const auto& r : plan.rowwise) rw.push_back(calib::format_shape({{"rows", r.rows}, {"cols", r.cols}}));
    j["rowwise"] = rw;
    nlohmann::json at = nlohmann::json::array();
    for (const auto& a : plan.attention) at.push_back(calib::attention_shape_text(a));
    j["attention"] = at;
    j["benchmarks"] = plan.benchmark_count();
    j["repeats"] = plan.repeats;
    j["warmup"] = plan.warmup;
    emit(j.dump(2) + "\n", c);
    return 0;
  }
  std::ostringstream os;
  os << fmt::format("calibration plan ({}): {} benchmarks, warm-up {}, median of {} repeats\n",
                    f.quick ? "quick" : "full", plan.benchmark_count(), plan.warmup, plan.repeats);
  os << fmt::format("  GEMMs: {} shapes x {} ({})\n", plan.gemms.size(), plan.gemm_dtypes.size(),
                    fmt::join(plan.gemm_dtypes, ", "));
  os << fmt::format("  memory: copy, read, write, triad over {} sizes from {:.0f} B to {:.0f} B\n",
                    plan.memory_bytes.size(), plan.memory_bytes.front(), plan.memory_bytes.back());
  os << fmt::format("  rowwise: silu_mul, add, rmsnorm, softmax over {} shapes\n", plan.rowwise.size());
  os << fmt::format("  attention (Fathom's own tiled kernel): {} shapes\n", plan.attention.size());
  os << fmt::format("  launch gap: {} back-to-back empty kernels\n", plan.launch_samples);
  if (plan.time_budget_s > 0) os << fmt::format("  GEMM time budget: {:.0f} s\n", plan.time_budget_s);
  emit(os.str(), c);
  return 0;
}

int cmd_calib_run(const CalibFlags& f, const CommonFlags& c) {
  require_db_flag(f.db);
  const calib::SuitePlan plan = calib_plan(f);
  if (f.device < 0) throw FlagError("--device-index", "expected a CUDA device index >= 0");
  check_db_flag(f.db);
  // SIGINT/SIGTERM stop the suite between benchmarks (the progress callback says so), then the
  // database is closed and, if this run created it, removed, and the process exits 130/143.
  interrupt::Defer defer;
  NewFileGuard guard(f.db);
  store::CalibStore db = store::CalibStore::open(f.db);
  int64_t run_id = 0;
  try {
    const bool tty = ::isatty(2);
    // Not a terminal (a log): one line every 10 s, so that a log shows the rate of each section.
    const auto start = std::chrono::steady_clock::now();
    auto next_line = start;
    run_id = calib::run_suite(plan, db, static_cast<int>(f.device), [&](const std::string& what, size_t done, size_t total) {
      if (tty) {
        std::cerr << fmt::format("\r[{}/{}] {:<60.60}", done, total, what) << std::flush;
      } else if (const auto now = std::chrono::steady_clock::now(); now >= next_line) {
        const std::chrono::duration<double> t = now - start;
        std::cerr << fmt::format("[{}/{}] {:.0f} s: {}\n", done, total, t.count(), what);
        next_line = now + std::chrono::seconds(10);
      }
      return interrupt::received() == 0;
    });
    if (interrupt::received() != 0) return 128 + interrupt::received();
    if (tty) std::cerr << "\n";
  } catch (const calib::NoGpuError& e) {
    std::cerr << "fathom: calib run: " << e.what() << "\n";
    return 3;
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const Error*>(&e)) throw;
    // A CUDA, CUPTI or cuBLASLt failure mid-run: what was measured stays in the database.
    guard.keep();
    std::cerr << "fathom: calib run: " << e.what() << "\n";
    return 1;
  }
  guard.keep();
  size_t n = 0;
  for (const auto& m : db.measurements()) n += m.run_id == run_id;
  emit(fmt::format("calib run {}: {} measurements in {}\n", run_id, n, f.db), c);
  return 0;
}

int cmd_calib_synth(const CalibFlags& f, const CommonFlags& c) {
  require_db_flag(f.db);
  const hw::HardwareCatalog cat = hardware_catalog();
  const hw::GpuSpec& gpu = cat.gpu(f.gpu.empty() ? "h200-sxm" : f.gpu, "--gpu");
  const calib::SuitePlan plan = calib_plan(f);
  calib::SyntheticOptions o;
  if (f.seed < 0) throw FlagError("--seed", "expected a seed >= 0");
  o.seed = static_cast<uint64_t>(f.seed);
  o.noise = f.noise;
  check_db_flag(f.db);
  interrupt::Defer defer;
  NewFileGuard guard(f.db);
  store::CalibStore db = store::CalibStore::open(f.db);
  const int64_t run = calib::generate_synthetic(plan, gpu, db, o);
  guard.keep();
  size_t n = 0;
  for (const auto& m : db.measurements()) n += m.run_id == run;
  emit(fmt::format("calib synth: run {} (synthetic, {}), {} measurements in {}\n", run, gpu.name, n, f.db), c);
  return 0;
}

int cmd_calib_import_torch(const std::string& trace, const CalibFlags& f, const CommonFlags& c) {
  require_db_flag(f.db);
  require_existing(trace, "PyTorch profiler trace (JSON)");
  const calib::TorchTraceImport imp = calib::import_torch_trace(trace);  // all checks before the db is touched
  check_db_flag(f.db);
  interrupt::Defer defer;
  NewFileGuard guard(f.db);
  store::CalibStore db = store::CalibStore::open(f.db);
  const int64_t dev = db.add_device(imp.device);
  store::CalibRunRecord run;
  run.device_id = dev;
  run.kind = "torch-trace";
  run.source = fs::absolute(trace).string();
  run.host = host_name();
  run.fathom_version = version();
  run.notes = fmt::format("{} kernels, {} operators, {} kernels without an operator", imp.kernels, imp.ops,
                          imp.unmatched_kernels);
  const int64_t run_id = db.add_run(run);
  std::vector<store::MeasurementRecord> ms = imp.measurements;
  for (auto& m : ms) m.run_id = run_id;
  db.add_measurements(ms);
  db.finish_run(run_id, std::nullopt);
  guard.keep();
  for (const auto& w : imp.warnings) std::cerr << "fathom: calib import-torch: " << w << "\n";
  std::map<std::string, size_t> per_kind;
  for (const auto& m : ms) ++per_kind[m.kind];
  std::string kinds;
  for (const auto& [k, n] : per_kind) kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", n, k);
  emit(fmt::format("calib import-torch: run {} ({}), {} measurements ({}) from {} kernels in {}\n", run_id,
                   imp.device.name, ms.size(), kinds.empty() ? "none" : kinds, imp.kernels, f.db),
       c);
  return 0;
}

int cmd_calib_fit(const std::string& path, const CalibFlags& f, const CommonFlags& c) {
  if (f.out.empty()) throw FlagError("--out", "expected a profile file to write (--out PROFILE.yaml)");
  if (f.folds < 2 || f.folds > 20) throw FlagError("--folds", fmt::format("expected 2 to 20 folds, found {}", f.folds));
  DeviceData data = open_device_data(path, f, true);
  store::CalibStore& db = data.db;
  const store::DeviceRecord& dev = data.dev;
  const hw::GpuSpec& gpu = data.gpu;
  const bool synthetic = data.synthetic;
  const auto& ms = data.ms;
  calib::ProfileFitOptions o;
  o.folds = static_cast<int>(f.folds);
  o.seed = static_cast<uint64_t>(f.seed);
  o.threads = static_cast<int>(f.threads);
  calib::ProfileFit pf = calib::fit_profile(ms, gpu, dev, o, path);
  pf.profile.synthetic = synthetic;
  pf.profile.database = fs::path(path).filename().string();
  const std::string yaml = hw::profile_to_yaml(pf.profile);
  stage_file(f.out, yaml, "--out");

  nlohmann::json summary;
  for (const auto& g : pf.groups) {
    summary[g.group] = {{"points", g.quality.points},
                        {"heldout_median", g.quality.heldout_median},
                        {"heldout_p90", g.quality.heldout_p90}};
  }
  store::ProfileRecord rec;
  rec.device_id = dev.id;
  rec.fathom_version = version();
  rec.profile_yaml = yaml;
  rec.summary_json = summary.dump();
  db.add_profile(rec);

  if (c.format == "json") {
    nlohmann::json j = context("calib fit");
    j["database"] = path;
    j["device"] = {{"name", dev.name}, {"uuid", dev.uuid}, {"gpu", gpu.name}, {"synthetic", synthetic}};
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : pf.groups) {
      nlohmann::json params;
      for (size_t i = 0; i < g.params.size(); ++i) params[g.param_names[i]] = g.params[i];
      groups.push_back({{"group", g.group},
                        {"formula", g.formula},
                        {"params", params},
                        {"points", g.quality.points},
                        {"folds", g.quality.folds},
                        {"heldout_median", g.quality.heldout_median},
                        {"heldout_p90", g.quality.heldout_p90},
                        {"insample_median", g.quality.insample_median},
                        {"converged", g.converged}});
    }
    j["groups"] = groups;
    j["launch_gap_s"] = pf.profile.launch_gap_s ? nlohmann::json(*pf.profile.launch_gap_s) : nlohmann::json();
    j["notes"] = pf.notes;
    j["profile"] = f.out;
    emit(j.dump(2) + "\n", c);
    return 0;
  }
  std::ostringstream os;
  os << fmt::format("calibrated profile of {} ({}{}), {} measurements, fitted as {}\n", dev.name, dev.uuid,
                    synthetic ? ", SYNTHETIC data" : "", ms.size(), gpu.name);
  Table t;
  t.header = {"kind", "points", "peak frac", "k_half", "mem frac", "fixed", "held-out med", "held-out p90", "in-sample"};
  t.right = {false, true, true, true, true, true, true, true, true};
  for (const auto& g : pf.groups) {
    auto get = [&](const char* n) -> std::string {
      for (size_t i = 0; i < g.param_names.size(); ++i) {
        if (g.param_names[i] == n) {
          if (std::string(n) == "t0us") return fmt::format("{:.2f} us", g.params[i]);
          if (std::string(n) == "kh") return fmt::format("{:.0f}", g.params[i]);
          return fmt::format("{:.3f}", g.params[i]);
        }
      }
      return "-";
    };
    t.rows.push_back({g.group, std::to_string(g.quality.points), get("eta"), get("kh"), get("em"), get("t0us"),
                      pct(g.quality.heldout_median), pct(g.quality.heldout_p90), pct(g.quality.insample_median)});
  }
  t.print(os);
  if (pf.profile.launch_gap_s) os << fmt::format("launch gap: {}\n", seconds(*pf.profile.launch_gap_s));
  for (const auto& n : pf.notes) os << "note: " << n << "\n";
  os << fmt::format("held-out: {}-fold cross-validation, |predicted/measured - 1|\n", f.folds);
  os << "profile written to " << f.out << "\n";
  emit(os.str(), c);
  return 0;
}

int cmd_calib_report(const std::string& path, const CalibFlags& f, const CommonFlags& c) {
  DeviceData data = open_device_data(path, f, false);
  const store::CalibStore& db = data.db;
  const store::DeviceRecord& dev = data.dev;
  const hw::GpuSpec& gpu = data.gpu;
  const bool synthetic = data.synthetic;
  const auto& ms = data.ms;
  std::optional<hw::CalibratedProfile> profile;
  std::string profile_from;
  if (!f.profile.empty()) {
    profile = hw::load_profile(f.profile);
    profile_from = f.profile;
  } else {
    for (const auto& p : db.profiles()) {
      if (p.device_id == dev.id) {
        profile = hw::parse_profile(parse_yaml(p.profile_yaml, path + " (profile " + std::to_string(p.id) + ")"));
        profile_from = fmt::format("{} (profile {}, {})", path, p.id, p.created_at);
      }
    }
  }
  const calib::CalibReport r = calib::make_report(ms, gpu, profile ? &*profile : nullptr);
  if (c.format == "json") {
    nlohmann::json j = context("calib report");
    j["database"] = path;
    j["device"] = {{"name", dev.name}, {"uuid", dev.uuid}, {"gpu", gpu.name}, {"synthetic", synthetic}};
    j["profile"] = profile_from;
    nlohmann::json rows = nlohmann::json::array();
    auto num = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
    for (const auto& row : r.rows) {
      rows.push_back({{"group", row.group},
                      {"points", row.points},
                      {"measured_median_s", num(row.measured_median_s)},
                      {"default_median", num(row.default_median)},
                      {"default_p90", num(row.default_p90)},
                      {"calibrated_median", num(row.calibrated_median)},
                      {"calibrated_p90", num(row.calibrated_p90)},
                      {"heldout_median", num(row.heldout_median)},
                      {row.rate_is_flops ? "best_flops_per_s" : "best_bytes_per_s", num(row.best_rate)},
                      {row.rate_is_flops ? "datasheet_flops_per_s" : "datasheet_bytes_per_s", num(row.datasheet_rate)}});
    }
    j["rows"] = rows;
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& run : db.runs()) {
      if (run.device_id != dev.id) continue;
      runs.push_back({{"id", run.id}, {"kind", run.kind}, {"source", run.source}, {"host", run.host},
                      {"started_at", run.started_at}, {"driver", run.driver_version}, {"cuda", run.cuda_version}});
    }
    j["runs"] = runs;
    emit(j.dump(2) + "\n", c);
    return 0;
  }
  std::ostringstream os;
  os << fmt::format("{} ({}), {} measurements{}; datasheet: {}\n", dev.name, dev.uuid, ms.size(),
                    synthetic ? " (SYNTHETIC data)" : "", gpu.name);
  for (const auto& run : db.runs()) {
    if (run.device_id != dev.id) continue;
    std::string clocks;
    if (run.sm_clock_start_mhz) clocks += fmt::format(", SM clock {:.0f}", *run.sm_clock_start_mhz);
    if (run.sm_clock_end_mhz) clocks += fmt::format("->{:.0f} MHz", *run.sm_clock_end_mhz);
    os << fmt::format("  run {}: {} '{}' on {} at {}, driver {}, CUDA {}{}\n", run.id, run.kind, run.source, run.host,
                      run.started_at, run.driver_version.empty() ? "-" : run.driver_version,
                      run.cuda_version.empty() ? "-" : run.cuda_version, clocks);
  }
  os << "profile: " << (profile ? profile_from : std::string("none (fathom calib fit writes one)")) << "\n";
  Table t;
  t.header = {"kind", "points", "measured median", "default med err", "default p90", "calibrated med err",
              "calibrated p90", "held-out med", "best reached (of datasheet)"};
  t.right = {false, true, true, true, true, true, true, true, true};
  for (const auto& row : r.rows) {
    std::string best = "-";
    if (!std::isnan(row.best_rate)) {
      best = (row.rate_is_flops ? format_flop_rate(row.best_rate) : format_rate(row.best_rate)) +
             (row.datasheet_rate > 0 ? fmt::format(" ({:.0f}%)", 100 * row.best_rate / row.datasheet_rate) : "");
    }
    t.rows.push_back({row.group, std::to_string(row.points), seconds(row.measured_median_s), pct(row.default_median),
                      pct(row.default_p90), pct(row.calibrated_median), pct(row.calibrated_p90),
                      pct(row.heldout_median), best});
  }
  t.print(os);
  if (r.unpredicted) os << fmt::format("{} measurements of kinds the cost chain does not price (kernel) are listed by count only\n", r.unpredicted);
  os << "error: |predicted/measured - 1| of each kernel's own duration (launch gap excluded); best reached: the "
        "fastest measurement's FLOP/s (GEMMs, attention) or bytes/s (the rest) against the datasheet peak\n";
  emit(os.str(), c);
  return 0;
}

}  // namespace fathom::cli

namespace fathom::cli {

int cmd_calib_record(const CalibFlags& f, const std::vector<std::string>& command, const CommonFlags&) {
  require_db_flag(f.db);
  if (command.empty()) throw FlagError("record", "expected a program to run after '--' (fathom calib record --db F -- python serve.py)");
#ifndef FATHOM_HAVE_INJECTION
  std::cerr << "fathom: calib record: this fathom was built without the CUDA toolkit (FATHOM_WITH_CUDA=OFF); "
               "the injection library needs CUPTI\n";
  return 3;
#else
  // The injection library is built next to this executable.
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const fs::path inject = (ec ? fs::path(".") : self.parent_path()) / "libfathom_inject.so";
  if (!fs::is_regular_file(inject, ec)) {
    throw InputError(inject.string(), "expected the injection library next to fathom, found none (rebuild with CUDA)");
  }
  const fs::path db = fs::absolute(f.db);
  if (!fs::is_directory(db.parent_path(), ec)) {
    throw FlagError("--db", "expected a path in an existing folder, found '" + f.db + "'");
  }
  ::setenv("CUDA_INJECTION64_PATH", inject.c_str(), 1);
  // NVTX_INJECTION64_PATH is left to the injection library, which sets it to the CUPTI it is
  // bound to in the program (a program may bring its own libcupti); a value set here wins.
  ::setenv("FATHOM_CALIB_DB", db.c_str(), 1);
  std::vector<char*> argv;
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  throw FlagError("record", "could not run '" + command[0] + "': " + std::strerror(errno));
#endif
}

}  // namespace fathom::cli
