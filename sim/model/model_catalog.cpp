#include "sim/model/model_catalog.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/error.h"
#include "common/suggest.h"
#include "sim/model/hf_import.h"

namespace fathom::model {

namespace fs = std::filesystem;

ModelCatalog ModelCatalog::load(const std::string& models_dir) {
  ModelCatalog c;
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_directory(models_dir, ec)) {
    for (const auto& e : fs::directory_iterator(models_dir, ec)) {
      if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path().string());
    }
  }
  if (files.empty()) {
    throw InputError(models_dir, "expected model catalog files (*.yaml), found none (set FATHOM_DATA_DIR?)");
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    ModelSpec m = parse_model(load_yaml_file(f));
    if (m.name != fs::path(f).stem().string()) {
      throw InputError(f, "expected name '" + fs::path(f).stem().string() + "' (the file name), found '" + m.name + "'");
    }
    c.models_.push_back(std::move(m));
  }
  return c;
}

const ModelSpec* ModelCatalog::find(const std::string& name) const {
  for (const auto& m : models_) {
    if (m.name.size() == name.size() &&
        std::equal(m.name.begin(), m.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return &m;
    }
  }
  return nullptr;
}

void ModelCatalog::add(ModelSpec m) {
  for (auto& x : models_) {
    if (x.name == m.name) {
      x = std::move(m);
      return;
    }
  }
  models_.push_back(std::move(m));
}

std::vector<std::string> ModelCatalog::names() const {
  std::vector<std::string> r;
  for (const auto& m : models_) r.push_back(m.name);
  return r;
}

ModelSpec ModelCatalog::resolve(const std::string& ref, const std::string& where) const {
  if (const ModelSpec* m = find(ref)) return *m;
  const bool looks_like_path = ref.find('/') != std::string::npos || (ref.size() > 5 &&
                               (ref.ends_with(".yaml") || ref.ends_with(".yml") || ref.ends_with(".json")));
  if (looks_like_path) {
    std::error_code ec;
    if (!fs::exists(ref, ec)) throw InputError(where, "expected a model file, found no file at '" + ref + "'");
    if (ref.ends_with(".json")) return import_hf_config(ref);
    return parse_model(load_yaml_file(ref));
  }
  throw InputError(where, "expected a model of the catalog or a path, found '" + ref + "'" + did_you_mean(ref, names()) +
                              "; `fathom catalog models` lists them");
}

}  // namespace fathom::model
