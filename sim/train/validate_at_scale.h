#pragma once
// The public at-scale training set (../shared/validation/training_at_scale.csv and the README
// beside it): published throughput of FSDP and Megatron-style runs on 8 to 12,288 GPUs. Each row
// is mapped onto a model shape, a GPU, a cluster, a precision and a TrainConfig as its source
// ran it, and the predicted tokens/s per GPU is compared with the measured one, a metric that
// needs no FLOP-counting convention. The mapping decisions per source are in
// docs/validation.md, "Training at scale".
#include <cstdint>
#include <string>
#include <vector>

#include "hw/catalog.h"
#include "sim/model/model_catalog.h"
#include "sim/model/model_spec.h"
#include "sim/train/train.h"
#include "sim/train/validate.h"

namespace fathom::train {

// One row of the file as mapped onto the model.
struct AtScaleCase {
  int line = 0;            // line in the file
  std::string label;       // the file's model name
  RowTags tags;            // framework and sharding from the first candidate
  std::string unmapped;    // why the row cannot be mapped (empty: mapped)
  std::string stated;      // layout as the file states it (for unmapped rows)
  model::ModelSpec model;
  hw::GpuSpec gpu;
  hw::ClusterSpec cluster;
  model::Precision precision;
  // The configuration as run; several when the source leaves knobs unstated (microbatch,
  // recomputation, sequence parallelism, distributed optimizer, virtual stages): the fastest
  // feasible is taken, as the authors would have tuned theirs.
  std::vector<TrainConfig> candidates;
  std::string mapping;          // mapping notes shown beside the layout (e.g. "sel-op≈full 12/32")
  std::string features;         // what the run used that the model has no knob for (compile, ...)
  double measured_tokens_per_gpu = 0;
  double stated_params = 0;     // params_B × 1e9 (0 when not stated)
  double built_params = 0;      // the mapped model's parameter count
};

// Maps every row of the file. Throws InputError when the file cannot be read or lacks a column.
std::vector<AtScaleCase> map_at_scale(const std::string& csv_path, const hw::HardwareCatalog& hardware,
                                      const model::ModelCatalog& models);

// Predicted against measured tokens/s per GPU for every mapped row; unmapped and rejected rows
// are listed with their reasons, and the table is skipped (with the reason) when the file is
// absent.
ValidationTable validate_at_scale(const std::string& csv_path, const hw::HardwareCatalog& hardware,
                                  const model::ModelCatalog& models);

// GPU-count bucket of the report: 8-64, 65-512, 513-4096, 4097+.
std::string scale_bucket(int64_t gpus);

// torchtitan's default pipeline split (generate_split_points): layers per pipeline rank for
// `stages_per_rank` model chunks per rank, looped placement. Returns {first, middle, last}
// rank totals; middle = -1 when the middle ranks differ.
struct StageSplit {
  int64_t first = 0, middle = 0, last = 0;
};
StageSplit torchtitan_split(int64_t layers, int pp, int stages_per_rank);

// Share of a decoder block's forward GEMM FLOPs that torchtitan's op-level selective activation
// checkpointing recomputes: every second matrix product of the block in call order
// (wq, wk, wv, wo, w1, w3, w2), the others saved.
double op_sac_recompute_fraction(const model::ModelSpec& m);

}  // namespace fathom::train
