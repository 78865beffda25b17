#pragma once
// Internal to sim/train: how each source of the public at-scale set maps to a model, a GPU and the
// configurations Fathom evaluates (validate_at_scale_map.cpp), for validate_at_scale.cpp. Every
// choice cites its source beside it.
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "hw/catalog.h"
#include "sim/model/model_catalog.h"
#include "sim/train/validate_at_scale.h"

namespace fathom::train::at_scale {

bool has(const std::string& s, const std::string& needle);
// The first capture of `re` in `text` as a number.
std::optional<double> first_number(const std::string& text, const std::regex& re);
// bf16, or fp8 GEMMs with bf16 weights and activations between kernels.
model::Precision precision(bool fp8);

struct GpuChoice {
  hw::GpuSpec gpu;
  std::string tag;
  std::string note;  // mapping note, empty when the catalog entry is the GPU as run
};
std::optional<GpuChoice> map_gpu(const std::string& type, const hw::HardwareCatalog& hardware);

// A configuration as the at-scale table prints it.
std::string describe(const TrainConfig& c, const model::ModelSpec& m);


// One row while it is mapped: the file's figures, and what the source's mapping fills in.
struct Row {
  Row(AtScaleCase& case_, const std::string& source_, const std::string& notes_, const std::string& sharding_,
      const std::string& recompute_)
      : c(case_), source(source_), notes(notes_), sharding(sharding_), recompute(recompute_) {}
  AtScaleCase& c;
  const std::string& source;  // the file's source text
  const std::string& notes;
  const std::string& sharding;
  const std::string& recompute;
  int64_t L = 0, h = 0, H = 0, s = 0, gpus = 0, B = 0;
  int tp = 0, pp = 0, dp = 0, cp = 1;
  TrainConfig base;  // layout, batch, sequence, stated microbatch
  std::vector<std::string> map_notes, features;
  bool fp8 = false;
  std::string sharding_tag;
};


// Per source: fills r.c (model, candidates, notes) from the row; returns why the row cannot be
// mapped ("" when it can).
std::string map_llm_foundry(Row& r);
std::string map_torchtitan(Row& r, const model::ModelCatalog& models);
std::string map_bigscience(Row& r);
std::string map_megatron(Row& r, const model::ModelCatalog& models);

}  // namespace fathom::train::at_scale
