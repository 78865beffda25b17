#include "gui/pages/serve_form.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSpinBox>
#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "common/dtype.h"
#include "common/yaml.h"

namespace fathom::gui {

namespace {

QStringList list(const std::vector<std::string>& v) {
  QStringList out;
  for (const auto& s : v) out << QString::fromStdString(s);
  return out;
}

// Spin boxes emit once the value is entered (Enter, focus out, arrows), not on every keystroke.
template <class Box>
Box* settled(Box* b) {
  b->setKeyboardTracking(false);
  return b;
}

bool starts_with(const std::string& s, const std::string& head) { return s.rfind(head, 0) == 0; }

// A field's value; a number box's in the shortest form that reads back to the same double (the
// form's own text is %.17g: 0.050000000000000003 for 0.05).
std::string field_text(const FieldForm& f, const std::string& path) {
  if (auto* d = qobject_cast<QDoubleSpinBox*>(f.editor(path))) return fmt::format("{}", d->value());
  return f.value(path);
}

// A string as a YAML scalar: plain when YAML reads it back as the same string, else quoted.
std::string scalar_text(const std::string& v) {
  const bool plain = !v.empty() && v.find_first_of(":{}[],#&*!|>'\"%@`") == std::string::npos && v.front() != ' ' &&
                     v.back() != ' ' && v != "null" && v != "true" && v != "false" && v != "~";
  return plain ? v : yaml_quote(v);
}

const char* kArrivalKeys[] = {"rate_per_s", "cv", "on_s", "off_s", "file", "speedup"};

// The arrival keys each process takes (sim/serve/workload.cpp, parse_workload).
bool arrival_key_applies(const std::string& process, const std::string& key) {
  if (key == "rate_per_s") return process == "poisson" || process == "gamma" || process == "constant" || process == "burst";
  if (key == "cv") return process == "gamma";
  if (key == "on_s" || key == "off_s") return process == "burst";
  if (key == "file" || key == "speedup") return process == "trace";
  return false;
}

// Defaults a new workload starts from (and what a scenario without one shows).
void default_workload(FieldForm& f) {
  f.set_value("serve.workload.requests", "1000");
  f.set_value("serve.workload.arrival.process", "poisson");
  f.set_value("serve.workload.arrival.rate_per_s", "1");
  f.set_value("serve.workload.arrival.cv", "1");
  f.set_value("serve.workload.arrival.on_s", "1");
  f.set_value("serve.workload.arrival.off_s", "1");
  f.set_value("serve.workload.arrival.file", "");
  f.set_value("serve.workload.arrival.speedup", "1");
  f.set_value("serve.workload.input_tokens", "{dist: lognormal, median: 1000, sigma: 0.8}");
  f.set_value("serve.workload.output_tokens", "{dist: lognormal, median: 250, sigma: 0.9}");
  f.set_value("serve.workload.seed", "1");
}

std::string arrival_map(const FieldForm& f) {
  const std::string process = f.value("serve.workload.arrival.process");
  std::string out = "{process: " + process;
  for (const char* key : kArrivalKeys) {
    if (!arrival_key_applies(process, key)) continue;
    std::string v = field_text(f, std::string("serve.workload.arrival.") + key);
    if (v.empty()) continue;
    if (std::string(key) == "file") v = scalar_text(v);
    out += fmt::format(", {}: {}", key, v);
  }
  return out + "}";
}

}  // namespace

void add_serve_fields(FieldForm& f, const AppContext& c) {
  f.add_section("Model and hardware");
  f.add_choice("model", "Model", list(c.models().names()),
               "a catalog model, or a path to a model YAML or a HuggingFace config.json (type it)", true)
      ->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  f.add_choice("hardware.gpu", "GPU", list(c.hardware().gpu_names()), "a catalog GPU (fathom catalog gpus)");
  settled(f.add_int("hardware.nodes", "Nodes", 1, 100000, "nodes of the hardware"));
  settled(f.add_int("hardware.gpus_per_node", "GPUs per node", 1, 1024, "GPUs per node (default: the GPU's intra-node group)"));

  f.add_section("Layout (per replica)");
  settled(f.add_int("serve.parallel.tp", "Tensor parallel (tp)", 1, 4096,
                    "divides the attention heads and the FFN width; GPUs of a replica = tp × pp"));
  settled(f.add_int("serve.parallel.pp", "Pipeline parallel (pp)", 1, 4096, "divides the layers"));
  settled(f.add_int("serve.parallel.ep", "Expert parallel (ep)", 1, 4096, "models with experts: divides the experts and tp"));
  settled(f.add_int("serve.parallel.replicas", "Replicas", 1, 4096, "replicas behind the router; replicas × tp × pp ≤ GPUs"));

  f.add_section("Precision");
  f.add_choice("precision.weights", "Weights", {"fp32", "bf16", "fp16", "fp8", "int8", "int4", "fp4"},
               "stored weights (fp8/int8: W8A8 GEMMs; int4/fp4: W4A16)");
  f.add_choice("precision.activations", "Activations", {"bf16", "fp16", "fp32", "fp8", "int8"}, "activations between kernels");
  f.add_choice("precision.kv_cache", "KV cache", {"bf16", "fp16", "fp32", "fp8", "int8"}, "the KV cache's element type");

  f.add_section("Engine and scheduler");
  f.add_choice("serve.engine", "Engine preset", {"vllm", "vllm-v0", "sglang", "trtllm"},
               "the engine whose defaults apply (docs/serving.md lists each preset and its source)");
  f.add_choice("serve.scheduler.name", "Scheduler", {"static", "orca", "vllm", "sarathi", "disaggregated"},
               "overrides the preset's scheduler");
  settled(f.add_int("serve.scheduler.token_budget", "Token budget", 1, 1000000000,
                    "tokens per iteration (max_num_batched_tokens, max_num_tokens)"));
  settled(f.add_int("serve.scheduler.max_seqs", "Max sequences", 1, 1000000, "sequences per iteration (max_num_seqs, max_batch_size)"));
  f.add_choice("serve.scheduler.preemption", "Preemption", {"recompute", "swap"}, "what a preempted sequence loses");
  settled(f.add_int("serve.kv_cache.block_size", "KV block size", 1, 4096, "tokens per KV block"));
  settled(f.add_number("serve.kv_cache.memory_fraction", "GPU memory fraction", 0.01, 1, 3,
                       "of GPU memory (vLLM, SGLang) or of the memory left (TensorRT-LLM)"));
  f.add_choice("serve.kv_cache.prefix_caching", "Prefix caching", {"true", "false"}, "share prompt prefixes in the KV cache");
  settled(f.add_int("serve.max_model_len", "Max model length", 2, 1000000000,
                    "tokens of the longest request; the KV cache must hold one"));
  f.add_choice("serve.router", "Router", {"round_robin", "least_outstanding", "least_kv", "prefix_affinity"},
               "how requests are spread over replicas");
  f.add_text("serve.iteration_overhead", "Iteration overhead", "host time per engine step, e.g. 1 ms (default from the preset)");

  f.add_section("Workload");
  settled(f.add_int("serve.workload.requests", "Requests", 1, 100000000, "requests of the run (at most 100,000,000)"));
  f.add_choice("serve.workload.arrival.process", "Arrival process", {"poisson", "gamma", "constant", "burst", "all_at_once", "trace"},
               "how requests arrive");
  settled(f.add_number("serve.workload.arrival.rate_per_s", "Arrival rate", 0.000001, 1e9, 4, "mean arrivals per second", "req/s"));
  settled(f.add_number("serve.workload.arrival.cv", "Gap CV (gamma)", 0.01, 100, 3, "coefficient of variation of the gaps"));
  settled(f.add_number("serve.workload.arrival.on_s", "Burst on", 0.000001, 1e6, 3, "seconds on", "s"));
  settled(f.add_number("serve.workload.arrival.off_s", "Burst off", 0, 1e6, 3, "seconds off", "s"));
  f.add_text("serve.workload.arrival.file", "Trace file",
             "a CSV with timestamp, input_tokens, output_tokens (or the Azure traces' columns)");
  settled(f.add_number("serve.workload.arrival.speedup", "Trace speedup", 0.001, 1e6, 3, "replay faster (> 1) or slower"));
  f.add_text("serve.workload.input_tokens", "Input tokens",
             "a number, or {dist: lognormal, median, sigma}, {dist: uniform, low, high}, {dist: normal, mean, sd}, "
             "{dist: geometric, mean}, {dist: zipf, s, min, max}, {dist: empirical, bins, weights}; min and max clamp");
  f.add_text("serve.workload.output_tokens", "Output tokens", "as input tokens");
  settled(f.add_int("serve.workload.seed", "Seed", 0, 2147483647, "the run's random seed"));

  f.add_section("SLOs (per request)");
  for (const auto& [key, label, tip] : {std::tuple{"serve.slo.ttft_s", "TTFT", "time to first token"},
                                        std::tuple{"serve.slo.tpot_s", "TPOT", "time per output token after the first"},
                                        std::tuple{"serve.slo.e2e_s", "E2E", "end-to-end latency"}}) {
    auto* box = settled(f.add_number(key, label, 0, 1e6, 4,
                                     QString(tip) + " per request; goodput counts the requests meeting every SLO set; "
                                                    "none: not set",
                                     "s"));
    box->setSpecialValueText("none");
  }
  default_workload(f);
  enable_arrival_fields(f, "poisson");
}

void enable_arrival_fields(FieldForm& f, const std::string& process) {
  for (const char* key : kArrivalKeys) {
    if (QWidget* w = f.editor(std::string("serve.workload.arrival.") + key)) w->setEnabled(arrival_key_applies(process, key));
  }
}

void show_serve_scenario(FieldForm& f, const sim::ResolvedScenario& r) {
  const sim::Scenario& s = r.scenario;
  const YAML::Node root = YAML::Load(r.text);
  const bool workload = s.serve && s.serve->sim;
  if (!workload) default_workload(f);
  f.load(root);
  // The values that run, where the file leaves them to the catalog or the engine preset.
  f.set_value("hardware.gpu", s.gpu.name);
  f.set_value("hardware.nodes", std::to_string(s.cluster.nodes));
  f.set_value("hardware.gpus_per_node", std::to_string(s.cluster.gpus_per_node));
  f.set_value("precision.weights", to_string(s.precision.weights));
  f.set_value("precision.activations", to_string(s.precision.activations));
  f.set_value("precision.kv_cache", to_string(s.precision.kv_cache));
  if (s.serve) {
    f.set_value("serve.parallel.tp", std::to_string(s.serve->layout.tp));
    f.set_value("serve.parallel.pp", std::to_string(s.serve->layout.pp));
    f.set_value("serve.parallel.ep", std::to_string(s.serve->layout.ep));
  }
  if (QWidget* ep = f.editor("serve.parallel.ep")) ep->setEnabled(s.model.moe.has_value());
  if (s.serve) {
    // Without a workload the engine keys are not read: the fields show the vllm preset the
    // analysis sizes the KV cache with (serve::analyze_serving).
    serve::ServeConfig preset;
    if (!workload) {
      preset = serve::engine_preset("vllm", s.gpu);
      preset.max_model_len = s.model.max_position;
    }
    const serve::ServeConfig& c = workload ? *s.serve->sim : preset;
    f.set_value("serve.parallel.replicas", std::to_string(c.replicas));
    f.set_value("serve.engine", c.engine);
    f.set_value("serve.scheduler.name", serve::to_string(c.scheduler.kind));
    f.set_value("serve.scheduler.token_budget", std::to_string(c.scheduler.token_budget));
    f.set_value("serve.scheduler.max_seqs", std::to_string(c.scheduler.max_seqs));
    f.set_value("serve.scheduler.preemption", serve::to_string(c.scheduler.preemption));
    f.set_value("serve.kv_cache.block_size", std::to_string(c.kv.block_size));
    f.set_value("serve.kv_cache.memory_fraction", yaml_number(c.kv.memory_fraction));
    f.set_value("serve.kv_cache.prefix_caching", c.kv.prefix_caching ? "true" : "false");
    f.set_value("serve.max_model_len", std::to_string(c.max_model_len));
    f.set_value("serve.router", serve::to_string(c.router));
    if (!root["serve"]["iteration_overhead"]) f.set_value("serve.iteration_overhead", fmt::format("{} ms", c.iteration_overhead_s * 1e3));
    f.set_value("serve.slo.ttft_s", yaml_number(c.slo.ttft_s));
    f.set_value("serve.slo.tpot_s", yaml_number(c.slo.tpot_s));
    f.set_value("serve.slo.e2e_s", yaml_number(c.slo.e2e_s));
  }
  enable_arrival_fields(f, f.value("serve.workload.arrival.process"));
}

std::pair<std::string, std::string> serve_edit(const FieldForm& f, const std::string& path, const std::string& value,
                                               bool has_workload) {
  if (starts_with(path, "serve.workload.") && !has_workload) {
    std::string w = fmt::format("{{requests: {}, arrival: {}, input_tokens: {}, output_tokens: {}, seed: {}}}",
                                f.value("serve.workload.requests"), arrival_map(f), f.value("serve.workload.input_tokens"),
                                f.value("serve.workload.output_tokens"), f.value("serve.workload.seed"));
    return {"serve.workload", w};
  }
  if (starts_with(path, "serve.workload.arrival.")) return {"serve.workload.arrival", arrival_map(f)};
  if (starts_with(path, "hardware.")) {
    return {"hardware", fmt::format("{{gpu: {}, nodes: {}, gpus_per_node: {}}}", f.value("hardware.gpu"),
                                    f.value("hardware.nodes"), f.value("hardware.gpus_per_node"))};
  }
  if (starts_with(path, "serve.slo.") && (value.empty() || value == "0")) return {path, "null"};
  if (path == "model") return {path, scalar_text(value)};
  if (qobject_cast<QDoubleSpinBox*>(f.editor(path))) return {path, field_text(f, path)};
  return {path, value};
}

FieldError place_error(const FieldForm& f, const FieldError& e) {
  if (e.field.empty() || f.has_field(e.field)) return e;
  // "@serve.workload.arrival: 'serve.workload.arrival.rate_per_s': expected ...": the quoted key.
  const FieldError inner = ScenarioDoc::locate(e.message);
  if (!inner.field.empty() && f.has_field(inner.field)) return inner;
  for (const auto& p : f.paths()) {
    if (starts_with(p, e.field + ".")) return {p, e.message};
  }
  return e;
}

}  // namespace fathom::gui
