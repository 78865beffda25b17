#pragma once
#include "common/version.h"
#include "hw/catalog.h"
#include "sim/model/model_catalog.h"

namespace fathom::test {
inline const model::ModelCatalog& models() {
  static const model::ModelCatalog c = model::ModelCatalog::load(data_dir() + "/models");
  return c;
}
inline const hw::HardwareCatalog& hardware() {
  static const hw::HardwareCatalog c = hw::HardwareCatalog::load(data_dir() + "/hardware");
  return c;
}
}  // namespace fathom::test
