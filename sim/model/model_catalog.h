#pragma once
// The model catalog (data/models/*.yaml) and resolution of a model reference: a catalog name,
// a path to a catalog YAML, or a path to a HuggingFace config.json.
#include <string>
#include <vector>

#include "sim/model/model_spec.h"

namespace fathom::model {

class ModelCatalog {
 public:
  static ModelCatalog load(const std::string& models_dir);
  const std::vector<ModelSpec>& models() const { return models_; }
  const ModelSpec* find(const std::string& name) const;
  // Adds a model built in memory (e.g. sim/model/sized_model.h) so that scenarios can name it;
  // one of the same name is replaced.
  void add(ModelSpec m);
  std::vector<std::string> names() const;
  // Resolves `ref` (name, .yaml path or config.json path); errors name `where`.
  ModelSpec resolve(const std::string& ref, const std::string& where) const;

 private:
  std::vector<ModelSpec> models_;
};

}  // namespace fathom::model
