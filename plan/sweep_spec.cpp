#include "plan/sweep_spec.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/hash.h"
#include "common/input_file.h"
#include "common/rng.h"

namespace fathom::plan {

namespace fs = std::filesystem;

const char* to_string(SweepCommand c) {
  switch (c) {
    case SweepCommand::kEstimate: return "estimate";
    case SweepCommand::kTrain: return "train";
    case SweepCommand::kServe: return "serve";
  }
  return "serve";
}

std::vector<std::string> SweepSpec::columns() const {
  std::vector<std::string> out;
  for (const auto& a : axes) out.insert(out.end(), a.paths.begin(), a.paths.end());
  return out;
}

namespace {

constexpr int64_t kMaxAxisValues = 1'000'000;  // materialised per axis: about 100 MB at most
constexpr const char* kRatePath = "serve.workload.arrival.rate_per_s";

// A value as override text: a scalar as written, a list or map in flow style.
std::string value_text(const YamlNode& n) {
  if (n.is_scalar()) return n.raw().Scalar();
  YAML::Emitter out;
  out << YAML::Flow << n.raw();
  return out.c_str();
}

std::string number_text(double v, bool integer) {
  if (integer) return fmt::format("{}", static_cast<long long>(std::llround(v)));
  return yaml_number(v);
}

// `values: [...]` or `range: {from, to, steps, scale, integer}` of one path.
std::vector<std::string> path_values(const YamlNode& n) {
  const bool has_values = n.has("values"), has_range = n.has("range");
  if (has_values == has_range) n.fail_message("expected either 'values' (a list) or 'range' (from, to, steps)");
  std::vector<std::string> out;
  if (has_values) {
    auto items = n.at("values").items();
    if (items.empty()) n.at("values").fail("a list of at least one value");
    if (static_cast<int64_t>(items.size()) > kMaxAxisValues) n.at("values").fail("at most 1,000,000 values");
    for (const auto& v : items) {
      if (v.is_null()) v.fail("a value");
      out.push_back(value_text(v));
    }
    return out;
  }
  const auto r = n.at("range");
  r.expect_keys({"from", "to", "steps", "scale", "integer"});
  const double from = r.number("from"), to = r.number("to");
  const int64_t steps = r.count("steps");
  if (steps > kMaxAxisValues) r.at("steps").fail("at most 1,000,000 steps");
  const std::string scale = r.str_or("scale", "linear");
  const bool integer = r.flag_or("integer", false);
  if (scale != "linear" && scale != "log") r.at("scale").fail("linear or log");
  if (scale == "log" && !(from > 0 && to > 0)) r.fail_message("a log range needs 'from' and 'to' above 0");
  for (int64_t k = 0; k < steps; ++k) {
    const double t = steps == 1 ? 0.0 : static_cast<double>(k) / static_cast<double>(steps - 1);
    const double v = scale == "log" ? std::exp(std::log(from) + t * (std::log(to) - std::log(from))) : from + t * (to - from);
    // The ends exactly as written (no rounding drift in exp/log).
    out.push_back(number_text(k == 0 ? from : k == steps - 1 ? to : v, integer));
  }
  if (integer) {  // rounding can merge neighbours: a value twice is a point twice
    for (size_t k = 1; k < out.size(); ++k) {
      if (out[k] == out[k - 1]) r.fail_message(fmt::format("integer steps repeat the value {}: use fewer steps", out[k]));
    }
  }
  return out;
}

std::string checked_path(const YamlNode& n) {
  const std::string p = n.as_string();
  parse_override(p + "=0", n.where());  // the same path rules as --set
  return p;
}

SweepAxis parse_random(const YamlNode& n, int64_t axis_index) {
  n.expect_keys({"samples", "seed", "fields"});
  const int64_t samples = n.count("samples");
  if (samples > kMaxAxisValues) n.at("samples").fail("at most 1,000,000 samples");
  const uint64_t seed = static_cast<uint64_t>(n.at("seed").as_nonnegative_int());
  SweepAxis a;
  struct Field {
    std::string kind;
    double lo = 0, hi = 0;
    bool integer = false;
    std::vector<std::string> choices;
  };
  std::vector<Field> fields;
  for (const auto& f : n.at("fields").items()) {
    f.expect_keys({"path", "uniform", "log_uniform", "choice", "integer"});
    a.paths.push_back(checked_path(f.at("path")));
    Field fd;
    fd.integer = f.flag_or("integer", false);
    int kinds = 0;
    for (const char* k : {"uniform", "log_uniform", "choice"}) {
      if (!f.has(k)) continue;
      ++kinds;
      fd.kind = k;
      auto items = f.at(k).items();
      if (fd.kind == "choice") {
        if (items.empty()) f.at(k).fail("a list of at least one value");
        for (const auto& v : items) fd.choices.push_back(value_text(v));
      } else {
        if (items.size() != 2) f.at(k).fail("[low, high]");
        fd.lo = items[0].as_number();
        fd.hi = items[1].as_number();
        if (!(fd.lo <= fd.hi)) f.at(k).fail("low <= high");
        if (fd.kind == "log_uniform" && !(fd.lo > 0)) f.at(k).fail("bounds above 0");
      }
    }
    if (kinds != 1) f.fail_message("expected exactly one of uniform: [low, high], log_uniform: [low, high] or choice: [...]");
    fields.push_back(std::move(fd));
  }
  if (fields.empty()) n.at("fields").fail("a list of at least one field");
  // One generator per axis (stream = axis index): the draws depend only on the seed and the spec.
  Rng rng(seed, static_cast<uint64_t>(axis_index));
  for (int64_t s = 0; s < samples; ++s) {
    std::vector<std::string> row;
    for (const auto& fd : fields) {
      if (fd.kind == "choice") {
        row.push_back(fd.choices[rng.below(fd.choices.size())]);
      } else {
        const double u = rng.uniform();
        const double v = fd.kind == "uniform" ? fd.lo + u * (fd.hi - fd.lo)
                                              : std::exp(std::log(fd.lo) + u * (std::log(fd.hi) - std::log(fd.lo)));
        row.push_back(number_text(v, fd.integer));
      }
    }
    a.values.push_back(std::move(row));
  }
  return a;
}

SweepAxis parse_axis(const YamlNode& n, int64_t index, SweepCommand command) {
  n.expect_map();
  if (n.has("zip")) {
    n.expect_keys({"zip"});
    SweepAxis a;
    const auto parts = n.at("zip").items();
    if (parts.size() < 2) n.at("zip").fail("a list of at least two {path, values | range} entries");
    std::vector<std::vector<std::string>> cols;
    for (const auto& p : parts) {
      p.expect_keys({"path", "values", "range"});
      a.paths.push_back(checked_path(p.at("path")));
      cols.push_back(path_values(p));
      if (cols.back().size() != cols.front().size()) {
        p.fail_message(fmt::format("expected {} values like the first zipped path, found {}", cols.front().size(), cols.back().size()));
      }
    }
    for (size_t k = 0; k < cols.front().size(); ++k) {
      std::vector<std::string> row;
      for (const auto& c : cols) row.push_back(c[k]);
      a.values.push_back(std::move(row));
    }
    return a;
  }
  if (n.has("random")) {
    n.expect_keys({"random"});
    return parse_random(n.at("random"), index);
  }
  SweepAxis a;
  if (n.has("rate")) {
    n.expect_keys({"rate"});
    if (command != SweepCommand::kServe) n.at("rate").fail_message("a rate axis applies to command: serve only");
    a.paths.push_back(kRatePath);
    auto r = n.at("rate");
    // rate: [1, 2, 4] or rate: {from, to, steps, scale}
    std::vector<std::string> vals;
    if (r.is_sequence()) {
      for (const auto& v : r.items()) {
        if (!(v.as_number() > 0)) v.fail("an arrival rate above 0 requests/s");
        vals.push_back(value_text(v));
      }
      if (vals.empty()) r.fail("a list of at least one rate");
    } else {
      r.expect_keys({"from", "to", "steps", "scale"});
      if (!(r.number("from") > 0 && r.number("to") > 0)) r.fail_message("expected rates above 0 requests/s");
      // A range under `rate:` reads like a path's `range:`.
      YAML::Node holder(YAML::NodeType::Map);
      holder["range"] = r.raw();
      vals = path_values(YamlNode(std::make_shared<const std::string>(r.file()), holder, r.path()));
    }
    for (auto& v : vals) a.values.push_back({v});
    return a;
  }
  n.expect_keys({"path", "values", "range"});
  a.paths.push_back(checked_path(n.at("path")));
  for (auto& v : path_values(n)) a.values.push_back({v});
  return a;
}

}  // namespace

SweepSpec load_sweep_spec(const std::string& path, int64_t max_points) {
  const YamlNode root = load_yaml_file(path);
  root.expect_keys({"name", "description", "command", "phase", "scenario", "profile", "set", "axes"});
  SweepSpec s;
  s.file = path;
  s.name = root.str_or("name", fs::path(path).stem().string());
  const auto cmd = root.at("command");
  const std::string c = cmd.as_string();
  if (c == "estimate") s.command = SweepCommand::kEstimate;
  else if (c == "train") s.command = SweepCommand::kTrain;
  else if (c == "serve") s.command = SweepCommand::kServe;
  else cmd.fail("estimate, train or serve");
  if (auto ph = root.find("phase")) {
    if (s.command != SweepCommand::kEstimate) ph->fail_message("'phase' applies to command: estimate only");
    s.phase = ph->as_string();
    if (s.phase != "train" && s.phase != "serve") ph->fail("train or serve");
  }
  const auto sc = root.at("scenario");
  fs::path sp = sc.as_string();
  if (sp.is_relative()) sp = fs::path(path).parent_path() / sp;
  std::error_code ec;
  if (!fs::is_regular_file(sp, ec)) sc.fail_message(fmt::format("expected a scenario file, found none at '{}'", sp.string()));
  s.scenario_path = sp.lexically_normal().string();
  s.scenario_text = read_input_file(s.scenario_path, InputKind::kStructured, "scenario file");
  if (auto p = root.find("profile")) {
    s.profile = p->as_string();
    if (s.profile != "defaults") {
      fs::path pp = s.profile;
      if (pp.is_relative()) pp = fs::path(path).parent_path() / pp;
      s.profile = pp.lexically_normal().string();
    }
  }
  if (auto set = root.find("set")) {
    for (const auto& [key, v] : set->entries()) {
      YamlOverride o = parse_override(key + "=" + value_text(v), v.where());
      o.origin = fmt::format("{} ('set: {}')", v.where(), key);
      s.set.push_back(std::move(o));
    }
  }
  int64_t index = 0;
  const auto axes = root.at("axes");
  for (const auto& a : axes.items()) {
    s.axes.push_back(parse_axis(a, index++, s.command));
    const auto n = static_cast<int64_t>(s.axes.back().size());
    if (s.points > max_points / n) {
      a.fail_message(fmt::format("expected at most {} points in all, found more with this axis", max_points));
    }
    s.points *= n;
  }
  if (s.axes.empty()) axes.fail("a list of at least one axis");
  // Identity: the spec as read (comments and layout do not count) and the base scenario's text.
  s.text = "# fathom sweep spec " + path + "\n" + emit_yaml(root.raw()) + "# base scenario " + s.scenario_path + "\n" +
           s.scenario_text;
  s.hash = sha256_hex(s.text + "\n# profile " + s.profile);
  return s;
}

namespace {

// Mixed radix: the last axis varies fastest.
std::vector<size_t> digits(const SweepSpec& spec, int64_t point) {
  FATHOM_CHECK(point >= 0 && point < spec.points);
  std::vector<size_t> d(spec.axes.size());
  for (size_t i = spec.axes.size(); i-- > 0;) {
    const auto n = static_cast<int64_t>(spec.axes[i].size());
    d[i] = static_cast<size_t>(point % n);
    point /= n;
  }
  return d;
}

}  // namespace

std::vector<YamlOverride> point_overrides(const SweepSpec& spec, int64_t point) {
  std::vector<YamlOverride> out = spec.set;
  const auto d = digits(spec, point);
  for (size_t i = 0; i < spec.axes.size(); ++i) {
    const auto& a = spec.axes[i];
    for (size_t j = 0; j < a.paths.size(); ++j) {
      YamlOverride o;
      o.path = a.paths[j];
      o.value = a.values[d[i]][j];
      o.origin = fmt::format("{}: point {}, axis {} ({}={})", spec.file, point, i + 1, o.path, o.value);
      out.push_back(std::move(o));
    }
  }
  return out;
}

std::string point_values_json(const SweepSpec& spec, int64_t point) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  const auto d = digits(spec, point);
  for (size_t i = 0; i < spec.axes.size(); ++i) {
    const auto& a = spec.axes[i];
    for (size_t k = 0; k < a.paths.size(); ++k) {
      const std::string& v = a.values[d[i]][k];
      const size_t digits_from = !v.empty() && v[0] == '-' ? 1 : 0;
      if (v.size() > digits_from && v.size() <= 18 && v.find_first_not_of("0123456789", digits_from) == std::string::npos) {
        j[a.paths[k]] = std::stoll(v);  // an integer stays one
        continue;
      }
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (!v.empty() && end == v.c_str() + v.size() && std::isfinite(x)) j[a.paths[k]] = x;
      else j[a.paths[k]] = v;
    }
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fathom::plan
