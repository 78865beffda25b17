#pragma once
// Internal to sim/train: the stage split of a pipeline and the shape of one infeasibility,
// shared by check_config (train.cpp), the step model (step.cpp) and the memory model (memory.cpp).
#include <cstdint>
#include <string>
#include <utility>

#include "sim/train/train.h"

namespace fathom::train {

// Layers on pipeline stage `stage` (even split, or the given first/last stage layers and the
// rest split evenly over the middle stages).
inline int64_t layers_on_stage(const model::ModelSpec& m, const TrainConfig& c, int stage) {
  const int p = c.layout.pp;
  if (c.first_stage_layers == 0 && c.last_stage_layers == 0) return m.layers / p;
  if (stage == 0) return c.first_stage_layers;
  if (stage == p - 1) return c.last_stage_layers;
  return (m.layers - c.first_stage_layers - c.last_stage_layers) / (p - 2);
}

inline Infeasible bad(const std::string& field, std::string reason) { return Infeasible{field, std::move(reason)}; }

}  // namespace fathom::train
