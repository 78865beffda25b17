#pragma once
// The `fathom` subcommands. Each returns the process exit status; bad input throws
// fathom::Error, which main() turns into one line on stderr and status 2.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fathom::hw {
class HardwareCatalog;
}
namespace fathom::sim {
struct Scenario;
struct ResolveOptions;
}
namespace fathom::store {
struct RunRecord;
}
namespace fathom {
class OutputSet;
}

namespace fathom::cli {

struct CommonFlags {
  std::string format = "table";
  std::string output;  // empty: standard output
  std::string profile;  // estimate/train/serve: a calibrated profile replacing the scenario's efficiencies
  std::vector<std::string> sets;  // estimate/train/serve: --set PATH=VALUE overrides, in order
  // train, fit, validate: auto (a line on a terminal), jsonl (JSON lines on stderr) or none
  // (cli/progress.h); checked by the command before any work.
  std::string progress = "auto";
};

int cmd_catalog(const std::string& what, const CommonFlags& f);
int cmd_model_show(const std::string& name, double context, const CommonFlags& f);
int cmd_model_import(const std::string& file, const std::string& name, const std::string& output);
int cmd_estimate(const std::string& scenario, const std::string& phase, size_t top, const std::string& db,
                 const CommonFlags& f);

struct TrainFlags {
  std::string scenario;
  bool search = false;
  std::string gpus;  // search: "1024", "512-2048", "256,512"
  std::string rank;  // search: time, cost, mfu
  std::string fix;   // search: "tp=8,pp=16" (train::parse_search_fix)
  std::string headroom;  // search: fraction of HBM kept free, "0.1" (default train::kDefaultMemoryHeadroom)
  int64_t top = 10;
  bool top_given = false;
  std::string db;
};
int cmd_train(const TrainFlags& flags, const CommonFlags& f);
int cmd_validate_training(const std::string& megatron_csv, const std::string& vtrain_dir, const std::string& at_scale_csv,
                          const CommonFlags& f);

struct ServeFlags {
  std::string scenario;
  std::string requests_out;
  std::string timeseries_out;
  std::string db;
  int64_t seed = -1;  // −1: the workload's seed
};
int cmd_serve(const ServeFlags& flags, const CommonFlags& f);
int cmd_validate_serving(const std::string& csv, bool queueing, int64_t requests, const CommonFlags& f);

struct SweepFlags {
  std::string spec;
  std::string db;        // default: SPEC's stem + .sqlite in the current folder
  int64_t jobs = 0;      // 0: every core
  std::string shard;     // i/N
  std::string progress = "auto";  // auto (a line on a terminal), jsonl, none
};
int cmd_sweep(const SweepFlags& flags);
int cmd_sweep_export(const std::string& db, const std::string& which, const CommonFlags& f);
int cmd_sweep_curve(const std::string& db, const std::string& which, const std::string& metric, double slo_s,
                    const CommonFlags& f);
int cmd_sweep_merge(const std::string& out, const std::vector<std::string>& inputs);

struct FitFlags {
  std::string data;
  std::string law, formula, response;
  std::vector<std::string> columns;  // NAME=EXPR
  std::string space, loss, method;   // empty: the law's own
  std::vector<std::string> fix, grid, bounds, ranges;  // NAME=VALUE, NAME=v1,v2, NAME=LO:HI
  bool no_grid = false;
  int64_t random_starts = 0;
  int64_t polish = 10;
  double screen_tolerance = 1e-6;
  double tolerance = 1e-15;
  int64_t bootstrap = 0;
  double level = 0.95;
  int64_t seed = 1;
  int64_t threads = 0;
  int64_t drop_highest = 0;
  std::string extrapolate;  // VAR[:FRACTION]
  std::string result;       // YAML result file
  bool list = false;
};
int cmd_fit(const FitFlags& flags, const CommonFlags& f);
int cmd_predict(const std::string& result, const std::vector<std::string>& values, const CommonFlags& f);
struct OptimalFlags {
  std::string result;
  std::vector<double> compute;
  double flops_per_param_token = 0;  // 0: 6, or the architecture's
  std::string architecture;
  double context = 4096;
  std::vector<std::string> at;  // other variables, NAME=VALUE
  std::string isoflop_out, isoloss_out;
  std::vector<double> losses;
};
int cmd_optimal(const OptimalFlags& flags, const CommonFlags& f);
int cmd_validate_fitting(const std::string& chinchilla, const std::string& datablations, int64_t random_starts,
                         int64_t resamples, int64_t threads, const CommonFlags& f);

struct CalibFlags {
  std::string db;
  bool quick = false;
  int64_t device = 0;        // CUDA device index (calib run)
  std::string device_uuid;   // --device: which device of a database (fit, report)
  std::string gpu;           // catalog GPU (synth; fit/report when the name does not match)
  std::string models, tokens, tp;  // model GEMM shapes of the plan
  double budget_s = 0;
  int64_t seed = 1;
  double noise = 0.02;
  std::string out;      // fit: the profile YAML
  std::string profile;  // report: a profile YAML instead of the database's latest
  int64_t folds = 5;
  int64_t threads = 0;
};
int cmd_calib_plan(const CalibFlags& f, const CommonFlags& c);
int cmd_calib_run(const CalibFlags& f, const CommonFlags& c);
int cmd_calib_synth(const CalibFlags& f, const CommonFlags& c);
int cmd_calib_import_torch(const std::string& trace, const CalibFlags& f, const CommonFlags& c);
int cmd_calib_fit(const std::string& db, const CalibFlags& f, const CommonFlags& c);
int cmd_calib_report(const std::string& db, const CalibFlags& f, const CommonFlags& c);
// Runs `command` with the injection library loaded (CUDA_INJECTION64_PATH, NVTX through CUPTI,
// FATHOM_CALIB_DB); replaces this process. Exit 3 in a build without CUDA.
int cmd_calib_record(const CalibFlags& f, const std::vector<std::string>& command, const CommonFlags& c);

// The flags that shape how a scenario resolves (--profile), as the library takes them.
sim::ResolveOptions resolve_options(const CommonFlags& f);

// The command's output files (common/output.h): staged as the command goes, committed by
// main() once the command has succeeded (or by record_run, inside its database transaction),
// discarded when it fails.
OutputSet& outputs();

// Stages `text` for standard output, or for --output.
void emit(const std::string& text, const CommonFlags& f);

// Stages `text` for `path` (named `flag` in errors).
void stage_file(const std::string& path, const std::string& text, const std::string& flag);

// Checks a --db path before any work: an existing regular file (or a link to one), or an absent
// file in an existing folder.
void check_db_flag(const std::string& path, const std::string& flag = "--db");

// Runs `write`, which opens the database at `path`, writes to it and commits the staged outputs
// inside its transaction; a database this call created (with its -wal, -shm and -journal) is
// removed again when anything fails or the process is interrupted.
void write_database(const std::string& path, const std::function<void()>& write);

// Records a run in the database at `path` and commits the staged outputs inside the same
// transaction: both appear, or neither. A database this call created is removed again when
// anything fails or the run is interrupted.
void record_run(const std::string& path, const store::RunRecord& rec);

}  // namespace fathom::cli
