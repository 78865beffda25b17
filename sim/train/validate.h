#pragma once
// Training predictions against runs measured by others: the Megatron-LM rows of Narayanan et al.
// 2021 (data/validation/megatron_table1.csv) and the measured Megatron-DeepSpeed iteration times
// published with vTrain (../shared/validation/vtrain/). Results: docs/validation.md.
#include <string>
#include <vector>

#include "hw/catalog.h"
#include "sim/model/model_spec.h"
#include "sim/train/train.h"

namespace fathom::train {

struct ValidationRow {
  std::string label;   // model or shape
  std::string config;  // layout as run
  double measured = 0;
  double predicted = 0;
  double error = 0;    // predicted / measured − 1 (throughput or time)
};

struct ValidationTable {
  std::string name;
  std::string source;
  std::string metric;  // what measured/predicted hold
  std::vector<ValidationRow> rows;
  double median_abs_error = 0;
  double mean_abs_error = 0;
  double max_abs_error = 0;
  bool skipped = false;
  std::string skip_reason;
  void summarise();
};

// A GPT-style decoder of Megatron-LM (learned positions, LayerNorm, MHA, GeLU MLP of 4h, biases,
// tied embeddings) with the given shape.
model::ModelSpec gpt_model(const std::string& name, int64_t layers, int64_t hidden, int64_t heads, int64_t vocab,
                           int64_t max_position);

// The training settings of the measured Megatron-LM generation (2021): fp16, full recomputation,
// unfused softmax attention, dropout, no overlap of gradient reduction, pipeline send/receive
// or TP communication with compute.
TrainConfig megatron_2021_config();

// Megatron-LM Table 1: predicted achieved TFLOP/s per GPU (the paper's eq. 3 FLOPs over the
// predicted step time) against the published figure. The microbatch size and the interleaving
// are not published; each row takes the fastest that fits among microbatch 1, 2, 4, 8 and the
// virtual-stage counts the schedule allows, as the authors tuned theirs.
ValidationTable validate_megatron(const std::string& csv_path, const hw::HardwareCatalog& hardware);

// vTrain ground truth: predicted iteration time against the measured one, for every row of
// ground_truth_single.csv and ground_truth_multi.csv in `dir`; skipped (with the reason) when
// the folder or files are absent.
ValidationTable validate_vtrain(const std::string& dir, const hw::HardwareCatalog& hardware);

}  // namespace fathom::train
