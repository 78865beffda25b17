// The `fathom` command: parse, call the library, print. Bad input: one line on stderr, exit 2.
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/plan_cmd.h"
#include "common/error.h"
#include "common/input_file.h"
#include "common/interrupt.h"
#include "common/output.h"
#include "common/version.h"

namespace {

const CLI::Option* find_option(const CLI::App& app, const std::string& name) {
  if (const CLI::Option* o = app.get_option_no_throw(name)) return o;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (const CLI::Option* o = find_option(*sub, name)) return o;
  }
  return nullptr;
}

std::string expected_of(const CLI::Option* o) {
  const std::string t = o != nullptr ? o->get_type_name() : "";
  if (t.rfind("INT", 0) == 0) return "an integer";
  if (t.rfind("UINT", 0) == 0) return "an integer >= 0";
  if (t.rfind("FLOAT", 0) == 0) return "a number";
  return "a value";
}

// CLI11's errors in Fathom's form: "FLAG: expected ..., found ...".
std::string explain(const CLI::ParseError& e, const CLI::App& app, const CLI::App* cmd, const std::string& first_arg) {
  const std::string msg = e.what();
  const std::string help = cmd != nullptr && cmd != &app ? " (fathom " + cmd->get_name() + " --help)" : " (fathom --help)";
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    const std::string prefix = "Could not convert: ";
    if (msg.rfind(prefix, 0) == 0) {
      const size_t eq = msg.find(" = ");
      const std::string name = msg.substr(prefix.size(), eq - prefix.size());
      const std::string value = eq == std::string::npos ? "" : msg.substr(eq + 3);
      return name + ": expected " + expected_of(find_option(app, name)) + ", found '" + value + "'" + help;
    }
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    const size_t colon = msg.find(": ");
    const std::string args = colon == std::string::npos ? msg : msg.substr(colon + 2);
    return args + ": expected an option or argument of this command, found an unknown one" + help;
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
    if (msg.rfind("A subcommand", 0) == 0) {
      const CLI::App& parent = cmd != nullptr ? *cmd : app;
      std::string names;
      for (const CLI::App* sub : parent.get_subcommands([](const CLI::App*) { return true; })) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
      }
      const bool top = cmd == nullptr || cmd == &app;
      const std::string found = top && !first_arg.empty() && first_arg[0] != '-' ? "'" + first_arg + "'" : "none";
      return "expected a command" + std::string(top ? "" : " after '" + cmd->get_name() + "'") + " (" + names +
             "), found " + found + help;
    }
    const size_t is = msg.find(" is required");
    if (is != std::string::npos) return msg.substr(0, is) + ": expected a value, found none" + help;
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    const size_t colon = msg.find(": ");
    if (colon != std::string::npos) return msg.substr(0, colon) + ": expected a value after the flag, found none" + help;
  }
  return msg + help;
}

// The deepest subcommand that was parsed (for the help hint).
const CLI::App* parsed_command(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) return parsed_command(*sub);
  return &app;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fathom;
  CLI::App app{"Fathom: predicts the time and cost of large-model training and serving"};
  app.require_subcommand(1);
  app.set_version_flag("--version", fathom::version());
  int64_t max_input_mb = 0;
  app.add_option("--max-input-mb", max_input_mb,
                 "Largest input file read, in MiB (default 64 for YAML/JSON, 1024 for CSV and traces)");
  app.fallthrough();  // --max-input-mb may also follow the subcommand
  cli::CommonFlags common;
  auto add_common = [&](CLI::App* c) {
    c->add_option("--format", common.format, "Output format: table, json or csv")->default_val("table");
    c->add_option("-o,--output", common.output, "Write to this file instead of standard output");
  };
  // Commands that read a scenario: the kernel profile and overrides of any of its values.
  auto add_scenario_flags = [&](CLI::App* c) {
    c->add_option("--profile", common.profile,
                  "Calibrated profile (fathom calib fit) to price kernels with, or 'defaults' (default: the catalog GPU's, if any)");
    c->add_option("--set", common.sets,
                  "Override a scenario value, PATH=VALUE with a dotted path (serve.parallel.tp=4); repeatable")
        ->allow_extra_args(false);
  };

  // Commands with a long library call (cli/progress.h).
  auto add_progress = [&](CLI::App* c) {
    c->add_option("--progress", common.progress, "auto (a line on a terminal), jsonl (JSON lines on stderr) or none");
  };

  std::string what;
  auto* catalog = app.add_subcommand("catalog", "List the catalog: gpus, clusters or models");
  catalog->add_option("what", what, "gpus, clusters or models")->required();
  add_common(catalog);

  auto* model = app.add_subcommand("model", "Show or import a model");
  model->require_subcommand(1);
  std::string model_name;
  double context = 4096;
  auto* show = model->add_subcommand("show", "Parameters, FLOPs per token, KV-cache and weight bytes of a model");
  show->add_option("name", model_name, "Catalog name, catalog YAML or HuggingFace config.json")->required();
  show->add_option("--context", context, "Context length for attention FLOPs per token")->default_val(4096);
  add_common(show);
  std::string import_file, import_name, import_out;
  auto* import = model->add_subcommand("import", "Convert a HuggingFace config.json into a catalog YAML");
  import->add_option("file", import_file, "config.json of a Llama, Mistral, Mixtral, Qwen2/Qwen3 or DeepseekV3 model")->required();
  import->add_option("--name", import_name, "Catalog name (default: the file or folder name)");
  import->add_option("-o,--output", import_out, "Output YAML (default: NAME.yaml in the current folder)");

  std::string scenario, phase, db;
  size_t top = 0;
  auto* est = app.add_subcommand("estimate", "Per-operation breakdown of one training step or serving iteration");
  est->add_option("scenario", scenario, "Scenario YAML (docs/scenario.md)")->required();
  est->add_option("--phase", phase, "train or serve, when the scenario has both sections");
  est->add_option("--top", top, "Show only the N most expensive operations in the table (0: all)")->default_val(0);
  est->add_option("--db", db, "Also record the run in this SQLite database");
  add_common(est);
  add_scenario_flags(est);

  cli::TrainFlags tflags;
  auto* trn = app.add_subcommand("train", "Training step time, memory per GPU and time to train; --search ranks every layout");
  trn->add_option("scenario", tflags.scenario, "Scenario YAML with a 'train' section (docs/scenario.md)")->required();
  trn->add_flag("--search", tflags.search, "Search every layout, microbatch, recomputation and ZeRO stage");
  trn->add_option("--gpus", tflags.gpus, "Search: GPU count, range A-B (multiples of the node size) or list");
  trn->add_option("--rank", tflags.rank, "Search: rank by time, cost or mfu (default time)");
  auto* top_opt = trn->add_option("--top", tflags.top, "Search: configurations to show (default 10)");
  trn->add_option("--fix", tflags.fix,
                  "Search: hold values fixed, e.g. tp=8,pp=16 (keys tp, pp, dp, cp, ep, v, mb, zero, recompute)");
  trn->add_option("--headroom", tflags.headroom,
                  "Search: fraction of HBM kept free beyond the fragmentation allowance (default 0.1, below 0.5)");
  trn->add_option("--db", tflags.db, "Also record the run in this SQLite database");
  add_common(trn);
  add_progress(trn);
  add_scenario_flags(trn);

  cli::ServeFlags sflags;
  auto* srv = app.add_subcommand("serve", "Simulate serving a workload: latency percentiles, throughput, goodput, cost");
  srv->add_option("scenario", sflags.scenario, "Scenario YAML with a 'serve' section and a workload (docs/scenario.md)")->required();
  srv->add_option("--requests-out", sflags.requests_out, "Write one CSV row per request (docs/metrics.md)");
  srv->add_option("--timeseries-out", sflags.timeseries_out, "Write queue, batch and KV-cache use over time as CSV");
  srv->add_option("--db", sflags.db, "Also record the run in this SQLite database");
  srv->add_option("--seed", sflags.seed, "Random seed (default: the workload's seed)")
      ->check(CLI::Validator(
          [](const std::string& v) {
            return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() <= 18
                       ? std::string()
                       : "expected an integer from 0 to 999999999999999999, found '" + v + "'";
          },
          "SEED"));
  add_common(srv);
  add_scenario_flags(srv);

  auto* validate = app.add_subcommand("validate", "Compare predictions with published measurements");
  validate->require_subcommand(1);
  std::string megatron_csv, vtrain_dir, at_scale_csv;
  auto* vtraining = validate->add_subcommand(
      "training", "Training step time against Megatron-LM, vTrain and the public at-scale runs");
  vtraining->add_option("--megatron", megatron_csv, "Megatron-LM table (default: data/validation/megatron_table1.csv)");
  vtraining->add_option("--vtrain", vtrain_dir,
                        "Folder with vTrain's ground_truth_single.csv and ground_truth_multi.csv "
                        "(default: shared/validation/vtrain beside the project)");
  vtraining->add_option("--at-scale", at_scale_csv,
                        "Published runs at scale with their layouts "
                        "(default: shared/validation/training_at_scale.csv beside the project)");
  add_common(vtraining);
  add_progress(vtraining);
  std::string serving_csv;
  bool queueing = false;
  int64_t queue_requests = 1000000;
  auto* vserving = validate->add_subcommand("serving", "Serving throughput against TensorRT-LLM; --queueing: queueing theory");
  vserving->add_option("--published", serving_csv, "Throughput table (default: data/validation/trtllm_throughput.csv)");
  vserving->add_flag("--queueing", queueing, "Also check M/D/1 and M/M/1 waiting times (four runs of --queue-requests)");
  vserving->add_option("--queue-requests", queue_requests, "Requests per queueing run (default 1000000)");
  vserving->add_option("--profile", common.profile,
                       "Calibrated profile for its GPU's rows, or 'defaults' for every row (default: the catalog's)");
  add_common(vserving);
  add_progress(vserving);

  std::string chin_csv, datab_csv;
  int64_t vf_random = 10000, vf_boot = 4000, vf_threads = 0;
  auto* vfitting = validate->add_subcommand("fitting", "Chinchilla and data-constrained scaling-law fits against the papers");
  vfitting->add_option("--chinchilla", chin_csv, "Epoch AI's svg_extracted_data.csv (default: shared/datasets/chinchilla beside the project)");
  vfitting->add_option("--muennighoff", datab_csv, "datablations_c4_fitset182_derived.csv (default: shared/datasets beside the project)");
  vfitting->add_option("--random-starts", vf_random, "Random starts that check the grid's optimum (default 10000)");
  vfitting->add_option("--bootstrap", vf_boot, "Bootstrap resamples (default 4000; at most 1000 for the data-constrained fits)");
  vfitting->add_option("--threads", vf_threads, "Threads (default 0: all cores)");
  add_common(vfitting);
  add_progress(vfitting);

  cli::FitFlags fflags;
  auto* fitc = app.add_subcommand("fit", "Fit a scaling law, serving curve or formula to a CSV with Ceres (docs/fitting.md)");
  fitc->add_option("data", fflags.data, "CSV file with a header row");
  fitc->add_flag("--list", fflags.list, "List the laws of the catalog and exit");
  fitc->add_option("--law", fflags.law, "A law of the catalog (--list shows them)");
  fitc->add_option("--formula", fflags.formula, "Your own law, e.g. 'L = E + A/N^alpha + B/D^beta'");
  fitc->add_option("--response", fflags.response, "The response column when --formula has no 'Y ='");
  fitc->add_option("--column", fflags.columns, "Define a column NAME=EXPRESSION of other columns (repeatable; `quote names with spaces`)");
  fitc->add_option("--space", fflags.space, "Residuals in 'log' or 'data' space (default: the law's)");
  fitc->add_option("--loss", fflags.loss, "none, huber:DELTA or cauchy:SCALE (default: the law's)");
  fitc->add_option("--method", fflags.method, "lm (Levenberg-Marquardt) or lbfgs (default: the law's)");
  fitc->add_option("--fix", fflags.fix, "Hold a parameter at a value, NAME=VALUE (repeatable)");
  fitc->add_option("--grid", fflags.grid, "Start values of a parameter, NAME=v1,v2,... (repeatable)");
  fitc->add_option("--bounds", fflags.bounds, "Bounds of a parameter, NAME=LOW:HIGH (repeatable)");
  fitc->add_option("--range", fflags.ranges, "Range of a parameter's random starts, NAME=LOW:HIGH (repeatable)");
  fitc->add_flag("--no-grid", fflags.no_grid, "Use only the random starts");
  fitc->add_option("--random-starts", fflags.random_starts, "Random starts in addition to the grid (default 0)");
  fitc->add_option("--polish", fflags.polish, "Best distinct starts refined to the tight tolerance (default 10)");
  fitc->add_option("--screen-tolerance", fflags.screen_tolerance, "Tolerance of the multi-start screen; 0: every start to the tight tolerance (default 1e-6)");
  fitc->add_option("--tolerance", fflags.tolerance, "Function and gradient tolerance of the final fit (default 1e-15)");
  fitc->add_option("--bootstrap", fflags.bootstrap, "Bootstrap resamples for parameter intervals (default 0)");
  fitc->add_option("--level", fflags.level, "Confidence level of the bootstrap intervals (default 0.95)");
  fitc->add_option("--seed", fflags.seed, "Seed of random starts and resamples (default 1)");
  fitc->add_option("--threads", fflags.threads, "Threads (default 0: all cores); results do not depend on it");
  fitc->add_option("--drop-highest", fflags.drop_highest, "Drop the K points with the highest response (outliers)");
  fitc->add_option("--extrapolate", fflags.extrapolate, "Fit the smaller points and report the error on the largest: VAR[:FRACTION] (default fraction 0.1)");
  fitc->add_option("--result", fflags.result, "Write the fitted law as YAML (for predict and optimal)");
  add_common(fitc);
  add_progress(fitc);

  std::string predict_result;
  std::vector<std::string> predict_values;
  auto* pred = app.add_subcommand("predict", "Evaluate a fitted law: fathom predict RESULT.yaml N=70e9 D=1.4e12");
  pred->add_option("result", predict_result, "YAML written by fathom fit --result")->required();
  pred->add_option("values", predict_values, "VARIABLE=VALUE[,VALUE...] for every variable of the law");
  add_common(pred);

  cli::OptimalFlags oflags;
  auto* opt = app.add_subcommand("optimal", "Compute-optimal N and D from a fitted L(N, D): fathom optimal RESULT.yaml --compute 1e24");
  opt->add_option("result", oflags.result, "YAML written by fathom fit --result")->required();
  opt->add_option("--compute", oflags.compute, "Training compute in FLOPs (comma-separated or repeated)")->delimiter(',');
  opt->add_option("--flops-per-param-token", oflags.flops_per_param_token, "k in C = k N D (default 6)");
  opt->add_option("--architecture", oflags.architecture, "Take k from a catalog model: 3 x forward FLOPs per token / parameters");
  opt->add_option("--context", oflags.context, "Context length for --architecture (default 4096)");
  opt->add_option("--at", oflags.at, "Value of another variable of the law, NAME=VALUE (e.g. U=1e11)");
  opt->add_option("--isoflop-out", oflags.isoflop_out, "Write iso-FLOP curves (L against N at each compute) as CSV");
  opt->add_option("--isoloss-out", oflags.isoloss_out, "Write iso-loss curves (N, D, compute at each --losses) as CSV");
  opt->add_option("--losses", oflags.losses, "Loss levels of the iso-loss curves")->delimiter(',');
  add_common(opt);

  cli::CalibFlags cflags;
  auto* calib = app.add_subcommand("calib", "Calibrate a GPU: measure kernels through CUPTI, fit a hardware profile (docs/calibration.md)");
  calib->require_subcommand(1);
  auto add_plan_flags = [&](CLI::App* c) {
    c->add_flag("--quick", cflags.quick, "The quick plan (about a minute on an H100-class GPU)");
    c->add_option("--models", cflags.models, "Catalog models whose GEMM shapes join the plan, comma-separated (default llama-3.1-8b,llama-3.1-70b,llama-3.1-405b,mixtral-8x7b; quick llama-3.1-8b)");
    c->add_option("--tokens", cflags.tokens, "Token counts of those GEMMs (default 1,16,128,1024,4096,16384; quick 1,256,4096)");
    c->add_option("--tp", cflags.tp, "Tensor-parallel degrees of those GEMMs (default 1,2,4,8; quick 1,8)");
  };
  auto* cplan = calib->add_subcommand("plan", "Print what calib run would measure");
  add_plan_flags(cplan);
  add_common(cplan);
  auto* crun = calib->add_subcommand("run", "Run the CUDA microbenchmark suite on a GPU into a database (exit 3 without a GPU)");
  crun->add_option("--db", cflags.db, "Calibration database (SQLite; created if absent)")->required();
  crun->add_option("--device-index", cflags.device, "CUDA device index (default 0)");
  crun->add_option("--budget", cflags.budget_s, "Stop starting GEMMs after this many seconds (0: no limit)");
  crun->add_option("--seed", cflags.seed, "Seed of the random inputs");
  add_plan_flags(crun);
  add_common(crun);
  auto* csynth = calib->add_subcommand("synth", "Generate SYNTHETIC measurements from a documented ground truth (for tests and demos)");
  csynth->add_option("--db", cflags.db, "Calibration database (SQLite; created if absent)")->required();
  csynth->add_option("--gpu", cflags.gpu, "Catalog GPU whose datasheet scales the ground truth (default h200-sxm)");
  csynth->add_option("--seed", cflags.seed, "Seed of the noise (default 1)");
  csynth->add_option("--noise", cflags.noise, "Standard deviation of log time per repeat (default 0.02)");
  add_plan_flags(csynth);
  add_common(csynth);
  std::string torch_trace;
  auto* cimport = calib->add_subcommand("import-torch", "Import a PyTorch profiler trace (Chrome JSON with shapes) into a database");
  cimport->add_option("trace", torch_trace, "Trace written by torch.profiler export_chrome_trace")->required();
  cimport->add_option("--db", cflags.db, "Calibration database (SQLite; created if absent)")->required();
  add_common(cimport);
  std::vector<std::string> record_command;
  auto* crecord = calib->add_subcommand("record", "Run a CUDA program with Fathom's injection library: every kernel into a database");
  crecord->add_option("--db", cflags.db, "Calibration database (SQLite; created by the program's exit)")->required();
  crecord->add_option("command", record_command, "The program and its arguments, after --")->required();
  add_common(crecord);
  std::string calib_db;
  auto* cfit = calib->add_subcommand("fit", "Fit per-kind efficiencies to a database's measurements; write a profile YAML");
  cfit->add_option("database", calib_db, "Calibration database")->required();
  cfit->add_option("--out", cflags.out, "Profile YAML to write")->required();
  cfit->add_option("--device", cflags.device_uuid, "Device UUID or name, when the database holds several");
  cfit->add_option("--gpu", cflags.gpu, "Catalog GPU of the device, when its name does not say");
  cfit->add_option("--folds", cflags.folds, "Folds of the held-out error (default 5)");
  cfit->add_option("--seed", cflags.seed, "Seed of the fold assignment (default 1)");
  cfit->add_option("--threads", cflags.threads, "Threads of the multi-start fits (default: all cores)");
  add_common(cfit);
  auto* creport = calib->add_subcommand("report", "Measured against predicted per kind: defaults and calibrated profile");
  creport->add_option("database", calib_db, "Calibration database")->required();
  creport->add_option("--profile", cflags.profile, "Profile YAML (default: the database's latest for the device)");
  creport->add_option("--device", cflags.device_uuid, "Device UUID or name, when the database holds several");
  creport->add_option("--gpu", cflags.gpu, "Catalog GPU of the device, when its name does not say");
  add_common(creport);

  cli::SweepFlags swflags;
  std::string sw_db, sw_which, merge_out;
  std::vector<std::string> merge_in;
  auto* swp = app.add_subcommand("sweep", "Run a sweep spec into a database; resumes where a previous run stopped (docs/sweeps.md)");
  swp->require_subcommand(0, 1);
  swp->add_option("spec", swflags.spec, "Sweep spec YAML");
  swp->add_option("--db", swflags.db, "Database of results (default: SPEC's name + .sqlite here)");
  swp->add_option("-j,--jobs", swflags.jobs, "Threads (default: every core)");
  swp->add_option("--shard", swflags.shard, "Run only the points p with p % N == i, as i/N");
  swp->add_option("--progress", swflags.progress, "auto (a line on a terminal), jsonl (JSON lines on stderr) or none");
  auto* swexp = swp->add_subcommand("export", "Write a stored sweep as tidy CSV or JSON: one row per point");
  swexp->add_option("database", sw_db, "Sweep database")->required();
  swexp->add_option("--sweep", sw_which, "The sweep's name or spec-hash prefix, when the file holds several");
  add_common(swexp);
  std::string curve_metric = "ttft_p99_s";
  double curve_slo = 0;
  auto* swcurve = swp->add_subcommand("curve", "Fit latency against arrival rate on a rate sweep: knee and highest rate meeting an SLO");
  swcurve->add_option("database", sw_db, "Sweep database")->required();
  swcurve->add_option("--sweep", sw_which, "The sweep's name or spec-hash prefix, when the file holds several");
  swcurve->add_option("--metric", curve_metric, "Latency metric to fit (default ttft_p99_s; docs/metrics.md)");
  swcurve->add_option("--slo", curve_slo, "Objective for the metric, seconds: report the highest rate meeting it");
  add_common(swcurve);
  auto* swmerge = swp->add_subcommand("merge", "Join sweep databases (shards, MPI ranks) into one");
  swmerge->add_option("output", merge_out, "Database to merge into (created if absent)")->required();
  swmerge->add_option("inputs", merge_in, "Databases to merge from")->required();

  auto plan_run = cli::add_plan_commands(app, common, add_common);
  const CLI::App* plan_cmd = app.get_subcommand("plan");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return app.exit(CLI::CallForHelp());
  } catch (const CLI::CallForAllHelp&) {
    return app.exit(CLI::CallForAllHelp());
  } catch (const CLI::CallForVersion&) {
    std::cout << fathom::version() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    std::string msg = explain(e, app, parsed_command(app), argc > 1 ? argv[1] : "");
    for (char& c : msg) if (c == '\n') c = ' ';
    std::cerr << "fathom: " << msg << "\n";
    return 2;
  }

  auto run_command = [&]() -> int {
    if (max_input_mb < 0 || max_input_mb > (int64_t{1} << 20)) {
      throw FlagError("--max-input-mb", "expected a size from 1 to 1048576 MiB, found " + std::to_string(max_input_mb));
    }
    set_input_limit(max_input_mb << 20);
    if (!common.output.empty()) OutputSet::check(common.output, "--output");
    if (catalog->parsed()) return cli::cmd_catalog(what, common);
    if (show->parsed()) return cli::cmd_model_show(model_name, context, common);
    if (import->parsed()) return cli::cmd_model_import(import_file, import_name, import_out);
    if (est->parsed()) return cli::cmd_estimate(scenario, phase, top, db, common);
    if (trn->parsed()) {
      tflags.top_given = top_opt->count() > 0;
      return cli::cmd_train(tflags, common);
    }
    if (vtraining->parsed()) return cli::cmd_validate_training(megatron_csv, vtrain_dir, at_scale_csv, common);
    if (srv->parsed()) return cli::cmd_serve(sflags, common);
    if (swexp->parsed()) {
      if (common.format == "table") common.format = "csv";
      return cli::cmd_sweep_export(sw_db, sw_which, common);
    }
    if (swmerge->parsed()) return cli::cmd_sweep_merge(merge_out, merge_in);
    if (swcurve->parsed()) return cli::cmd_sweep_curve(sw_db, sw_which, curve_metric, curve_slo, common);
    if (swp->parsed()) {
      if (swflags.spec.empty()) throw FlagError("sweep", "expected a sweep spec (fathom sweep SPEC.yaml), found none");
      return cli::cmd_sweep(swflags);
    }
    if (vfitting->parsed()) return cli::cmd_validate_fitting(chin_csv, datab_csv, vf_random, vf_boot, vf_threads, common);
    if (fitc->parsed()) {
      if (!fflags.list && fflags.data.empty()) throw FlagError("fit", "expected a CSV file (fathom fit DATA.csv --law NAME)");
      return cli::cmd_fit(fflags, common);
    }
    if (pred->parsed()) return cli::cmd_predict(predict_result, predict_values, common);
    if (opt->parsed()) return cli::cmd_optimal(oflags, common);
    if (calib->parsed()) {
      if (common.format != "table" && common.format != "json") {
        throw FlagError("--format", "expected table or json for calib commands, found '" + common.format + "'");
      }
      if (cplan->parsed()) return cli::cmd_calib_plan(cflags, common);
      if (crun->parsed()) return cli::cmd_calib_run(cflags, common);
      if (csynth->parsed()) return cli::cmd_calib_synth(cflags, common);
      if (cimport->parsed()) return cli::cmd_calib_import_torch(torch_trace, cflags, common);
      if (cfit->parsed()) return cli::cmd_calib_fit(calib_db, cflags, common);
      if (creport->parsed()) return cli::cmd_calib_report(calib_db, cflags, common);
      if (crecord->parsed()) return cli::cmd_calib_record(cflags, record_command, common);
    }
    if (vserving->parsed()) return cli::cmd_validate_serving(serving_csv, queueing, queue_requests, common);
    if (plan_cmd->parsed()) return plan_run();
    return 2;
  };

  interrupt::install();
  try {
    const int rc = run_command();
    // Outputs are committed only by a command that succeeded; signals wait for the commit.
    if (rc == 0) {
      interrupt::Defer defer;
      cli::outputs().commit();
    } else {
      cli::outputs().discard();
    }
    return rc;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the file system refuses (too long, a loop of links) that no check caught first:
    // still one line naming it, never an abort.
    cli::outputs().discard();
    std::cerr << "fathom: " << e.path1().string() << ": expected a usable path, found: " << e.code().message() << "\n";
    return 2;
  } catch (const fathom::Error& e) {
    cli::outputs().discard();
    std::string msg = e.what();
    for (char& c : msg) if (c == '\n') c = ' ';
    std::cerr << "fathom: " << msg << "\n";
    return 2;
  }
}
