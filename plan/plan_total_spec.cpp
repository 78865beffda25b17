// Reading a total plan (docs/planning-total.md, "The plan file").
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/error.h"
#include "fit/result.h"
#include "plan/plan_total.h"

namespace fathom::plan {

namespace {

namespace fs = std::filesystem;

std::string relative_to(const YamlNode& node, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return (fs::path(node.file()).parent_path() / path).lexically_normal().string();
}

// Inline constants: each parameter by its own name; a parameter `x` stored as a logarithm (the
// chinchilla law's a, b, e) may instead be given as `X`, its exponential (A = e^a).
void read_inline_law(const YamlNode& law, TotalSpec& s) {
  const std::string name = law.str("name");
  const std::vector<std::string> names = fit::law_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    law.at("name").fail_message("expected a law of the catalog (" + list + "), found '" + name + "'");
  }
  std::unique_ptr<fit::Law> made = fit::make_law(name);
  std::set<std::string> allowed{"name"};
  s.params.assign(made->params.size(), std::nan(""));
  for (size_t i = 0; i < made->params.size(); ++i) {
    const std::string& p = made->params[i].name;
    allowed.insert(p);
    const bool log_form = p.size() == 1 && std::islower(static_cast<unsigned char>(p[0]));
    const std::string upper = log_form ? std::string(1, static_cast<char>(std::toupper(p[0]))) : "";
    if (log_form) allowed.insert(upper);
    if (law.has(p) && log_form && law.has(upper))
      law.at(upper).fail_message(fmt::format("expected {} or {} (= e^{}), not both", p, upper, p));
    if (law.has(p)) {
      s.params[i] = law.number(p);
    } else if (log_form && law.has(upper)) {
      s.params[i] = std::log(law.at(upper).as_positive_number());
    } else {
      law.fail_message(fmt::format("expected a value for the {} law's parameter {}{}", name, p,
                                   log_form ? " (or " + upper + " = e^" + p + ")" : ""));
    }
  }
  for (const auto& [key, node] : law.entries()) {
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      node.fail_message(fmt::format("unknown key '{}' for the {} law; expected one of {}", key, name, list));
    }
  }
  s.law_source = "inline " + name;
  s.law = std::shared_ptr<const fit::Law>(std::move(made));
}

void read_law(const YamlNode& law, TotalSpec& s) {
  std::string result;
  if (law.is_scalar()) {
    result = law.as_string();
  } else {
    law.expect_map();
    if (law.has("result")) {
      law.expect_keys({"result"});
      result = law.str("result");
    } else {
      read_inline_law(law, s);
    }
  }
  if (!result.empty()) {
    const std::string path = relative_to(law, result);
    fit::LoadedFit lf = fit::load_fit(path);
    s.params = lf.params;
    s.law = std::shared_ptr<const fit::Law>(std::move(lf.law));
    s.law_source = path;
  }
  const fit::Law& l = *s.law;
  if (l.variable_index("N") == l.variables.size() || l.variable_index("D") == l.variables.size())
    law.fail_message("expected a law of N (parameters) and D (training tokens), found the " + l.name + " law");
}

void read_at(const YamlNode& root, TotalSpec& s) {
  const fit::Law& l = *s.law;
  std::optional<YamlNode> at = root.find("at");
  if (at) at->expect_map();
  for (const std::string& v : l.variables) {
    if (v == "N" || v == "D") continue;
    if (!at || !at->has(v))
      root.fail_message(fmt::format("expected at: {{{}: VALUE}} for the {} law's variable {}", v, l.name, v));
    s.others.push_back(at->number(v));
  }
  if (at) {
    for (const auto& [key, node] : at->entries()) {
      if (key == "N" || key == "D" || l.variable_index(key) == l.variables.size())
        node.fail_message(fmt::format("'{}' is not a variable of the {} law held fixed", key, l.name));
    }
  }
}

void read_target(const YamlNode& t, TotalSpec& s) {
  t.expect_map();
  s.target_where = t.where();
  t.expect_keys({"loss", "params", "tokens", "tokens_per_param"});
  if (t.has("loss")) {
    if (t.has("params") || t.has("tokens") || t.has("tokens_per_param"))
      t.fail_message("expected either loss or a reference model (params with tokens or tokens_per_param), not both");
    s.target_loss = t.at("loss").as_positive_number();
    s.target_source = fmt::format("loss {:.6g}", s.target_loss);
    return;
  }
  if (!t.has("params")) t.fail_message("expected loss, or params with tokens or tokens_per_param");
  const double n = t.at("params").as_positive_number();
  double d = 0;
  if (t.has("tokens") && t.has("tokens_per_param"))
    t.at("tokens_per_param").fail_message("expected tokens or tokens_per_param, not both");
  if (t.has("tokens_per_param")) {
    d = n * t.at("tokens_per_param").as_positive_number();
    s.target_source = fmt::format("the loss of {:.4g} parameters trained on {:.4g} tokens", n, d);
  } else {
    if (t.has("tokens") && t.at("tokens").as_string() != "chinchilla") {
      d = t.at("tokens").as_positive_number();
      s.target_source = fmt::format("the loss of {:.4g} parameters trained on {:.4g} tokens", n, d);
    } else {
      d = chinchilla_tokens(s, n);
      s.target_source = fmt::format("the loss of a Chinchilla-style {:.4g}-parameter model ({:.4g} tokens)", n, d);
    }
  }
  s.target_loss = total_loss(s, n, d);
  if (!std::isfinite(s.target_loss)) t.fail_message("expected a reference model whose loss the law gives");
}

void read_demand(const YamlNode& d, TotalSpec& s) {
  d.expect_map();
  d.expect_keys({"tokens", "requests", "input_tokens", "output_tokens"});
  if (d.has("tokens")) {
    if (d.has("requests") || d.has("input_tokens") || d.has("output_tokens"))
      d.fail_message("expected tokens, or requests with input_tokens and output_tokens, not both");
    s.demand.tokens = d.at("tokens").as_nonnegative_number();
    return;
  }
  if (!d.has("requests")) d.fail_message("expected tokens, or requests with input_tokens and output_tokens");
  s.demand.requests = d.at("requests").as_nonnegative_number();
  s.demand.input_per_request = d.at("input_tokens").as_nonnegative_number();
  s.demand.output_per_request = d.at("output_tokens").as_nonnegative_number();
  s.serving.context_tokens = std::max(1.0, s.demand.input_per_request + s.demand.output_per_request / 2);
}

void read_usd(const YamlNode& u, TotalSpec& s) {
  u.expect_map();
  u.expect_keys({"gpu", "serving_gpu", "mfu", "usd_per_gpu_hour", "serving", "serving_plan", "training_plan"});
  // Plans of the other planners that price each size (paths from the plan's folder).
  auto plan_path = [&](const char* key) -> std::string {
    auto n = u.find(key);
    if (!n) return "";
    fs::path p = n->as_string();
    if (p.is_relative()) p = fs::path(u.file()).parent_path() / p;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) n->fail_message(fmt::format("expected a plan file, found none at '{}'", p.string()));
    return fs::absolute(p).lexically_normal().string();
  };
  s.serving_plan = plan_path("serving_plan");
  s.training_plan = plan_path("training_plan");
  s.gpu = u.str_or("gpu", s.gpu);
  s.serving_gpu = u.str_or("serving_gpu", "");
  s.training.mfu = u.number_or("mfu", s.training.mfu);
  s.training.usd_per_gpu_hour = u.number_or("usd_per_gpu_hour", 0);
  s.serving.usd_per_gpu_hour = s.training.usd_per_gpu_hour;
  s.training.validate(u.where());
  if (auto sv = u.find("serving")) {
    sv->expect_map();
    sv->expect_keys({"usd_per_gpu_hour", "context_tokens", "max_batch", "memory_fraction", "compute_efficiency",
                     "bandwidth_efficiency", "prefill_mfu"});
    ServingPriceOptions& o = s.serving;
    o.usd_per_gpu_hour = sv->number_or("usd_per_gpu_hour", o.usd_per_gpu_hour);
    o.context_tokens = sv->number_or("context_tokens", o.context_tokens);
    o.max_batch = sv->small_count("max_batch", 1 << 20, o.max_batch);
    o.memory_fraction = sv->number_or("memory_fraction", o.memory_fraction);
    o.compute_efficiency = sv->number_or("compute_efficiency", o.compute_efficiency);
    o.bandwidth_efficiency = sv->number_or("bandwidth_efficiency", o.bandwidth_efficiency);
    o.prefill_mfu = sv->number_or("prefill_mfu", o.prefill_mfu);
    o.validate(sv->where());
  }
}

}  // namespace

TotalSpec parse_total_spec(const YamlNode& root) {
  root.expect_map();
  root.expect_keys({"name", "description", "law", "at", "target", "inference", "family", "usd", "search"});
  TotalSpec s;
  s.name = root.str_or("name", fs::path(root.file()).stem().string());
  read_law(root.at("law"), s);
  read_at(root, s);
  // Demand before usd: requests set the serving context that usd.serving may override.
  read_demand(root.at("inference"), s);
  read_target(root.at("target"), s);
  s.family = root.str_or("family", s.family);
  if (root.has("family") && s.family != "llama" && s.family != "llama-3" && s.family != "llama3")
    root.at("family").fail_message("expected a model family plan total can size (llama), found '" + s.family + "'");
  if (auto u = root.find("usd")) read_usd(*u, s);
  if (auto g = root.find("search")) {
    g->expect_map();
    g->expect_keys({"grid_points"});
    s.grid_points = g->small_count("grid_points", 64, s.grid_points);
    if (s.grid_points < 3) g->at("grid_points").fail_message("expected at least 3 grid points");
  }
  return s;
}

}  // namespace fathom::plan
