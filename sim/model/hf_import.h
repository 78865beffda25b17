#pragma once
// Import of a HuggingFace config.json (Llama, Mistral, Mixtral, Qwen2, Qwen3, DeepseekV3
// families) into a ModelSpec. Fields used: docs/user_guide.md, "fathom model import".
#include <string>

#include "sim/model/model_spec.h"

namespace fathom::model {

// `name` defaults to the file's stem (or its folder's name for a file called config.json).
ModelSpec import_hf_config(const std::string& path, const std::string& name = "");

}  // namespace fathom::model
