#pragma once
// Training predictions against runs measured by others: the Megatron-LM rows of Narayanan et al.
// 2021 (data/validation/megatron_table1.csv), the measured Megatron-DeepSpeed iteration times
// published with vTrain (../shared/validation/vtrain/), and the public at-scale set
// (sim/train/validate_at_scale.h). Results: docs/validation.md.
#include <string>
#include <vector>

#include "hw/catalog.h"
#include "sim/model/model_spec.h"
#include "sim/train/train.h"

namespace fathom::train {

// What a row of the at-scale set is grouped by in the report (empty in the Megatron and vTrain
// tables, whose rows are all Megatron-style A100 runs).
struct RowTags {
  std::string source;     // short name: llm-foundry, torchtitan, bigscience, megascale, nemotron, ...
  std::string framework;  // style of the run: fsdp | megatron (train::Framework)
  std::string sharding;   // fsdp-full, fsdp-grad-op, zero1, searched (not stated), none
  std::string scale;      // GPU-count bucket: 8-64, 65-512, 513-4096, 4097+
  std::string dtype;      // GEMM type: bf16 | fp8
  std::string gpu;        // GPU the row is mapped to
};

struct ValidationRow {
  std::string label;   // model or shape
  std::string config;  // layout as run
  double measured = 0;
  double predicted = 0;
  double error = 0;    // predicted / measured − 1 (throughput or time)
  RowTags tags;
  int line = 0;        // line of the row in its file (0: not kept)
};

// A row left out of the error statistics, with why.
struct ExcludedRow {
  int line = 0;         // line in the file
  std::string label;    // model as the file names it
  std::string source;   // short source name (RowTags::source)
  std::string config;   // layout as mapped (rejected rows) or as stated
  std::string reason;
};

// Errors of the rows that share one tag value.
struct GroupSummary {
  std::string dimension;  // source, framework, sharding, scale, dtype, gpu
  std::string group;      // the tag value
  size_t rows = 0;
  double median_abs_error = 0;
  double median_error = 0;  // signed: > 0 predicts too fast (throughput) or too slow (time)
};

struct ValidationTable {
  std::string name;
  std::string source;
  std::string metric;  // what measured/predicted hold
  std::vector<ValidationRow> rows;
  double median_abs_error = 0;
  double median_error = 0;  // signed median
  double mean_abs_error = 0;
  double max_abs_error = 0;
  bool skipped = false;
  std::string skip_reason;
  // At-scale set: per tag value (dimensions in RowTags order, groups sorted by name), rows that
  // could not be mapped onto the model, rows the model rejects (check_config or memory, with its
  // reason), and rows whose stated parameter count differs from the built model's by > 2%.
  std::vector<GroupSummary> groups;
  std::vector<ExcludedRow> unmapped;
  std::vector<ExcludedRow> rejected;
  std::vector<ExcludedRow> param_mismatches;
  // Fills the medians, mean and max, and `groups` from the rows that carry tags.
  void summarise();
};

// The tag of `r` in `dimension` (one of kTagDimensions); "" for an unknown dimension.
const std::string& tag_of(const ValidationRow& r, const std::string& dimension);
inline constexpr const char* kTagDimensions[] = {"source", "framework", "sharding", "scale", "dtype", "gpu"};

// Median of the values (0 when empty).
double median(std::vector<double> v);

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
