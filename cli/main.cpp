// The `fathom` command: parse, call the library, print. Bad input: one line on stderr, exit 2.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "common/error.h"
#include "common/version.h"

int main(int argc, char** argv) {
  using namespace fathom;
  CLI::App app{"Fathom: predicts the time and cost of large-model training and serving"};
  app.require_subcommand(1);
  app.set_version_flag("--version", fathom::version());
  cli::CommonFlags common;
  auto add_common = [&](CLI::App* c) {
    c->add_option("--format", common.format, "Output format: table, json or csv")->default_val("table");
    c->add_option("-o,--output", common.output, "Write to this file instead of standard output");
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

  cli::TrainFlags tflags;
  auto* trn = app.add_subcommand("train", "Training step time, memory per GPU and time to train; --search ranks every layout");
  trn->add_option("scenario", tflags.scenario, "Scenario YAML with a 'train' section (docs/scenario.md)")->required();
  trn->add_flag("--search", tflags.search, "Search every layout, microbatch, recomputation and ZeRO stage");
  trn->add_option("--gpus", tflags.gpus, "Search: GPU count, range A-B (multiples of the node size) or list");
  trn->add_option("--rank", tflags.rank, "Search: rank by time, cost or mfu (default time)");
  auto* top_opt = trn->add_option("--top", tflags.top, "Search: configurations to show (default 10)");
  trn->add_option("--db", tflags.db, "Also record the run in this SQLite database");
  add_common(trn);

  cli::ServeFlags sflags;
  auto* srv = app.add_subcommand("serve", "Simulate serving a workload: latency percentiles, throughput, goodput, cost");
  srv->add_option("scenario", sflags.scenario, "Scenario YAML with a 'serve' section and a workload (docs/scenario.md)")->required();
  srv->add_option("--requests-out", sflags.requests_out, "Write one CSV row per request (docs/metrics.md)");
  srv->add_option("--timeseries-out", sflags.timeseries_out, "Write queue, batch and KV-cache use over time as CSV");
  srv->add_option("--db", sflags.db, "Also record the run in this SQLite database");
  srv->add_option("--seed", sflags.seed, "Random seed (default: the workload's seed)")->check(CLI::NonNegativeNumber);
  add_common(srv);

  auto* validate = app.add_subcommand("validate", "Compare predictions with published measurements");
  validate->require_subcommand(1);
  std::string megatron_csv, vtrain_dir;
  auto* vtraining = validate->add_subcommand("training", "Training step time against Megatron-LM and vTrain measurements");
  vtraining->add_option("--megatron", megatron_csv, "Megatron-LM table (default: data/validation/megatron_table1.csv)");
  vtraining->add_option("--vtrain", vtrain_dir,
                        "Folder with vTrain's ground_truth_single.csv and ground_truth_multi.csv "
                        "(default: shared/validation/vtrain beside the project)");
  add_common(vtraining);
  std::string serving_csv;
  bool queueing = false;
  int64_t queue_requests = 1000000;
  auto* vserving = validate->add_subcommand("serving", "Serving throughput against TensorRT-LLM; --queueing: queueing theory");
  vserving->add_option("--published", serving_csv, "Throughput table (default: data/validation/trtllm_throughput.csv)");
  vserving->add_flag("--queueing", queueing, "Also check M/D/1 and M/M/1 waiting times (four runs of --queue-requests)");
  vserving->add_option("--queue-requests", queue_requests, "Requests per queueing run (default 1000000)");
  add_common(vserving);

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
    std::string msg = e.what();
    for (char& c : msg) if (c == '\n') c = ' ';
    std::cerr << "fathom: " << msg << " (see fathom --help)\n";
    return 2;
  }

  try {
    if (catalog->parsed()) return cli::cmd_catalog(what, common);
    if (show->parsed()) return cli::cmd_model_show(model_name, context, common);
    if (import->parsed()) return cli::cmd_model_import(import_file, import_name, import_out);
    if (est->parsed()) return cli::cmd_estimate(scenario, phase, top, db, common);
    if (trn->parsed()) {
      tflags.top_given = top_opt->count() > 0;
      return cli::cmd_train(tflags, common);
    }
    if (vtraining->parsed()) return cli::cmd_validate_training(megatron_csv, vtrain_dir, common);
    if (srv->parsed()) return cli::cmd_serve(sflags, common);
    if (vserving->parsed()) return cli::cmd_validate_serving(serving_csv, queueing, queue_requests, common);
  } catch (const fathom::Error& e) {
    std::string msg = e.what();
    for (char& c : msg) if (c == '\n') c = ' ';
    std::cerr << "fathom: " << msg << "\n";
    return 2;
  }
  return 2;
}
