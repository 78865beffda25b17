#pragma once
// A sweep spec (docs/sweeps.md): a base scenario, the command to run on it, fixed overrides and
// axes over any scenario value reachable by --set. The points are the Cartesian product of the
// axes (the last axis varies fastest); an axis is a list of values, a linear or log range, a
// rate sweep, several paths zipped together, or random samples drawn from a seed.
#include <cstdint>
#include <string>
#include <vector>

#include "common/yaml.h"

namespace fathom::plan {

enum class SweepCommand { kEstimate, kTrain, kServe };
const char* to_string(SweepCommand c);

// One axis: `paths` move together; values[k][j] is the YAML text of path j at step k.
struct SweepAxis {
  std::vector<std::string> paths;
  std::vector<std::vector<std::string>> values;
  size_t size() const { return values.size(); }
};

struct SweepSpec {
  std::string file;           // the spec file
  std::string name;
  SweepCommand command = SweepCommand::kServe;
  std::string phase;          // estimate: train or serve (empty: the scenario's only section)
  std::string scenario_path;  // the base scenario file, as resolved from the spec's folder
  std::string scenario_text;  // its contents when the spec was read
  std::string profile;        // kernel profile choice (sim::ResolveOptions::profile)
  std::vector<YamlOverride> set;  // fixed overrides, before the axes'
  std::vector<SweepAxis> axes;
  int64_t points = 1;
  std::string text;  // the spec and its base scenario, as stored with the results
  std::string hash;  // SHA-256 of `text`: the sweep's identity in a database
  std::vector<std::string> columns() const;  // every axis path, in order
};

// Reads a spec. Every error names the file and line. At most `max_points` points.
SweepSpec load_sweep_spec(const std::string& path, int64_t max_points = 100'000'000);

// The overrides of point `point` (0 ≤ point < spec.points): the fixed ones, then one per axis
// path, each naming the axis and point in errors.
std::vector<YamlOverride> point_overrides(const SweepSpec& spec, int64_t point);
// {"axis path": value, ...} of a point, numbers as JSON numbers.
std::string point_values_json(const SweepSpec& spec, int64_t point);

}  // namespace fathom::plan
