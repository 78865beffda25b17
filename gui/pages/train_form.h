#pragma once
// The Train page's form: one field per key of the scenario's training configuration
// (docs/scenario.md `train:`, docs/training.md "Inputs"), the model and the hardware, each bound
// to its YAML path so that an edit becomes a ScenarioDoc edit (`--set PATH=VALUE`) and a library
// error about that path appears under it.
#include <string>
#include <utility>
#include <vector>

#include "gui/app/app_context.h"
#include "gui/app/field_form.h"
#include "sim/scenario.h"

namespace YAML {
class Node;
}

namespace fathom::gui::training {

// Adds the fields (model, hardware, precision, layout, batch, memory, overlap, tokens, price).
void build_form(FieldForm& form, const AppContext& context);

// Shows the resolved scenario in the form without emitting edits: the values the library
// resolved (defaults included), the model and token count as the file writes them.
void fill_form(FieldForm& form, const sim::ResolvedScenario& resolved);

// The document edits, in order, that one form edit (or a search row's override) makes. The
// hardware fields become one `hardware` map ({cluster} or {gpu, nodes, gpus_per_node}), dp
// "auto" (0) removes the key (dp = gpus / (tp·pp·cp)), and a key that excludes another drops the
// other where `root` (the scenario's YAML) has it: zero and fsdp, global_batch and
// global_batch_tokens.
std::vector<std::pair<std::string, std::string>> edits_for(const FieldForm& form, const std::string& path,
                                                           const std::string& value, const YAML::Node& root);

}  // namespace fathom::gui::training
