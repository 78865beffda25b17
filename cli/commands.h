#pragma once
// The `fathom` subcommands. Each returns the process exit status; bad input throws
// fathom::Error, which main() turns into one line on stderr and status 2.
#include <cstdint>
#include <string>

namespace fathom::cli {

struct CommonFlags {
  std::string format = "table";
  std::string output;  // empty: standard output
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
  int64_t top = 10;
  bool top_given = false;
  std::string db;
};
int cmd_train(const TrainFlags& flags, const CommonFlags& f);
int cmd_validate_training(const std::string& megatron_csv, const std::string& vtrain_dir, const CommonFlags& f);

struct ServeFlags {
  std::string scenario;
  std::string requests_out;
  std::string timeseries_out;
  std::string db;
  int64_t seed = -1;  // −1: the workload's seed
};
int cmd_serve(const ServeFlags& flags, const CommonFlags& f);
int cmd_validate_serving(const std::string& csv, bool queueing, int64_t requests, const CommonFlags& f);

// Writes `text` to `path` atomically (temporary file, then rename): no partial output file.
void write_file_atomically(const std::string& path, const std::string& text, const std::string& flag);

}  // namespace fathom::cli
