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
#include "cli/calib_common.h"
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

}  // namespace

hw::HardwareCatalog hardware_catalog() { return hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string()); }

// A file to read: anything that exists and is not a folder (a FIFO or /dev/stdin too; readers
// cap what they read, docs/reliability.md).
void require_existing(const std::string& path, const std::string& what) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw InputError(path, "expected an existing " + what + ", found none");
  if (fs::is_directory(st)) throw InputError(path, "expected an existing " + what + ", found a directory");
}

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
    emit(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", c);
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
