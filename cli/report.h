#pragma once
// Reporters: console table, JSON and CSV, each writing to the stream it is given.
#include <ostream>
#include <string>

#include "hw/catalog.h"
#include "sim/estimate.h"
#include "sim/model/model_catalog.h"

namespace fathom::cli {

enum class Format { kTable, kJson, kCsv };
Format parse_format(const std::string& s);  // throws FlagError

void report_gpus(std::ostream& os, const hw::HardwareCatalog& c, Format f);
void report_clusters(std::ostream& os, const hw::HardwareCatalog& c, Format f);
void report_models(std::ostream& os, const model::ModelCatalog& c, Format f);
void report_model(std::ostream& os, const model::ModelSpec& m, double context, Format f);
void report_estimate(std::ostream& os, const sim::Scenario& s, const sim::EstimateResult& r, Format f, size_t top);
// The JSON document of an estimate (for the run store too).
std::string estimate_json(const sim::Scenario& s, const sim::EstimateResult& r);

}  // namespace fathom::cli
