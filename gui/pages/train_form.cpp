#include "gui/pages/train_form.h"

#include <QComboBox>
#include <QSpinBox>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/yaml.h"

namespace fathom::gui::training {

namespace {

const QStringList kBool{"false", "true"};

// The scalar at a dotted path of `root`, or "".
std::string raw(const YAML::Node& root, const std::string& path) {
  YAML::Node cur = YAML::Clone(root);
  size_t i = 0;
  while (true) {
    const size_t dot = path.find('.', i);
    const std::string key = path.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
    if (!cur.IsMap() || !cur[key]) return {};
    cur = cur[key];
    if (dot == std::string::npos) break;
    i = dot + 1;
  }
  return cur.IsScalar() ? cur.Scalar() : std::string();
}

std::string flag(bool b) { return b ? "true" : "false"; }

}  // namespace

void build_form(FieldForm& f, const AppContext& context) {
  QStringList models, gpus, clusters{""};
  for (const auto& n : context.models().names()) models << QString::fromStdString(n);
  for (const auto& g : context.hardware().gpus()) gpus << QString::fromStdString(g.name);
  for (const auto& c : context.hardware().clusters()) clusters << QString::fromStdString(c.name);
  const QStringList precisions{"bf16", "fp16", "fp8", "fp32"};

  f.add_section("Model and hardware");
  f.add_choice("model", "Model", models, "a catalog model (fathom catalog models), or type a path to a model YAML or a "
               "HuggingFace config.json", true);
  f.add_choice("hardware.cluster", "Cluster", clusters,
               "a cluster of the catalog (its GPU, nodes and network); empty: the GPU and node count below");
  f.add_choice("hardware.gpu", "GPU", gpus, "catalog GPU (fathom catalog gpus); choosing one replaces the cluster");
  f.add_int("hardware.nodes", "Nodes", 1, 100000, "nodes of the hardware");
  f.add_int("hardware.gpus_per_node", "GPUs per node", 1, 1024, "GPUs on one intra-node link");
  f.add_choice("precision.weights", "Weights", precisions, "stored weight type; fp8 runs fp8 GEMMs with bf16 master weights");
  f.add_choice("precision.activations", "Activations", precisions, "activation type between kernels");

  f.add_section("Parallel layout (tp × pp × dp × cp = GPUs)");
  f.add_int("train.gpus", "GPUs of the job", 1, 1 << 24, "GPUs the job uses; default all of the hardware");
  f.add_int("train.parallel.tp", "Tensor parallel (tp)", 1, 1024, "Megatron tensor parallelism; divides the attention heads");
  f.add_choice("train.parallel.sequence_parallel", "Sequence parallel", kBool,
               "split norms, dropout and residuals over the TP group (Korthikanti et al. 2022)");
  f.add_int("train.parallel.pp", "Pipeline stages (pp)", 1, 1024, "1F1B pipeline stages; divides the layers");
  f.add_int("train.parallel.virtual_stages", "Virtual stages", 1, 64,
            "interleaved 1F1B: model chunks per pipeline rank; pp × virtual stages divides the layers");
  QSpinBox* dp = f.add_int("train.parallel.dp", "Data parallel (dp)", 0, 1 << 24,
                           "data-parallel replicas; auto: GPUs / (tp × pp × cp)");
  dp->setSpecialValueText("auto");
  f.add_int("train.parallel.cp", "Context parallel (cp)", 1, 1024, "context parallelism; cp divides the sequence");
  f.add_choice("train.parallel.cp_kind", "CP kind", {"ring", "all-to-all"},
               "ring attention (Liu et al. 2023) or all-to-all (DeepSpeed-Ulysses)");
  f.add_int("train.parallel.ep", "Expert parallel (ep)", 1, 1024, "MoE experts split over ep of the dp × cp ranks");

  f.add_section("Batch");
  f.add_int("train.seq_len", "Sequence length", 1, 1 << 24, "tokens per sequence");
  f.add_int("train.global_batch", "Global batch", 1, 1 << 30, "sequences per optimizer step; a multiple of dp × microbatch");
  f.add_int("train.microbatch", "Microbatch", 1, 1 << 20, "sequences per microbatch");

  f.add_section("Memory");
  f.add_choice("train.recompute", "Recomputation", {"none", "selective", "full"},
               "activation recomputation; type N for full recomputation of N layers per stage", true);
  f.add_choice("train.zero", "ZeRO stage", {"0", "1", "2", "3"},
               "1 shards the optimizer state, 2 also gradients, 3 also weights (= FSDP)");
  f.add_choice("train.optimizer", "Optimizer", {"adam", "adamw", "sgd", "adafactor", "adam-8bit"},
               "optimizer state: adam 12 B/parameter, sgd 8, adafactor 4, adam-8bit 6");
  f.add_choice("train.offload.optimizer", "Offload optimizer", kBool, "optimizer state and step on the host (ZeRO-Offload)");
  f.add_choice("train.offload.activations", "Offload activations", kBool, "saved activations to host memory between passes");

  f.add_section("Overlap and kernels");
  f.add_choice("train.overlap.tp", "Overlap TP", kBool, "TP collectives hidden behind GEMMs (userbuffers-style)");
  f.add_choice("train.overlap.dp", "Overlap DP", kBool, "gradient reduction overlapped with the backward pass");
  f.add_choice("train.overlap.pp", "Overlap PP", kBool, "pipeline send/receive overlapped with compute");
  f.add_choice("train.flash_attention", "FlashAttention", kBool, "fused attention: no s² score matrix stored");

  f.add_section("Time and cost to train");
  f.add_text("train.tokens", "Tokens to train", "training tokens (15T, 300B); empty: no time-to-train figures");
  f.add_number("cost.usd_per_gpu_hour", "Price", 0, 1000, 2, "dollars per GPU-hour; default the GPU's reference price",
               "$/GPU-h");
}

void fill_form(FieldForm& f, const sim::ResolvedScenario& resolved) {
  const sim::Scenario& s = resolved.scenario;
  const YAML::Node root = YAML::Load(resolved.text);
  auto set = [&](const std::string& path, const std::string& v) { f.set_value(path, v); };
  const std::string model = raw(root, "model");
  set("model", model.empty() ? s.model.name : model);
  set("hardware.cluster", raw(root, "hardware.cluster"));
  set("hardware.gpu", s.gpu.name);
  set("hardware.nodes", std::to_string(s.cluster.nodes));
  set("hardware.gpus_per_node", std::to_string(s.cluster.gpus_per_node));
  set("precision.weights", to_string(s.precision.weights));
  set("precision.activations", to_string(s.precision.activations));
  set("cost.usd_per_gpu_hour", yaml_number(s.usd_per_gpu_hour));
  if (!s.train) return;
  const sim::TrainSection& t = *s.train;
  const model::Layout& L = t.layout;
  set("train.gpus", std::to_string(t.gpus));
  set("train.parallel.tp", std::to_string(L.tp));
  set("train.parallel.sequence_parallel", flag(L.sequence_parallel));
  set("train.parallel.pp", std::to_string(L.pp));
  set("train.parallel.virtual_stages", std::to_string(t.virtual_stages));
  set("train.parallel.dp", t.dp_given ? std::to_string(L.dp) : "0");
  set("train.parallel.cp", std::to_string(L.cp));
  set("train.parallel.cp_kind", L.cp_all_to_all ? "all-to-all" : "ring");
  set("train.parallel.ep", std::to_string(L.ep));
  set("train.seq_len", std::to_string(t.seq_len));
  set("train.global_batch", std::to_string(t.global_batch));
  set("train.microbatch", std::to_string(t.microbatch));
  set("train.recompute", t.recompute_layers > 0 ? std::to_string(t.recompute_layers) : model::to_string(t.recompute));
  set("train.zero", std::to_string(t.zero));
  const std::string optimizer = raw(root, "train.optimizer");
  set("train.optimizer", optimizer.empty() ? train::to_string(t.optimizer) : optimizer);
  set("train.offload.optimizer", flag(t.offload_optimizer));
  set("train.offload.activations", flag(t.offload_activations));
  set("train.overlap.tp", flag(t.overlap_tp));
  set("train.overlap.dp", flag(t.overlap_dp));
  set("train.overlap.pp", flag(t.overlap_pp));
  set("train.flash_attention", flag(t.flash_attention));
  set("train.tokens", raw(root, "train.tokens"));
}

std::vector<std::pair<std::string, std::string>> edits_for(const FieldForm& form, const std::string& path,
                                                           const std::string& value, const YAML::Node& root) {
  std::vector<std::pair<std::string, std::string>> out;
  if (path.rfind("hardware.", 0) == 0) {
    const std::string cluster = form.value("hardware.cluster");
    if (path == "hardware.cluster" && !cluster.empty()) {
      out.emplace_back("hardware", fmt::format("{{cluster: {}}}", cluster));
    } else {
      out.emplace_back("hardware", fmt::format("{{gpu: {}, nodes: {}, gpus_per_node: {}}}", form.value("hardware.gpu"),
                                               form.value("hardware.nodes"), form.value("hardware.gpus_per_node")));
    }
    return out;
  }
  auto drop_if_present = [&](const std::string& other) {
    if (root && !raw(root, other).empty()) out.emplace_back(other, "null");
  };
  if (path == "train.zero") drop_if_present("train.fsdp");
  if (path == "train.global_batch") drop_if_present("train.global_batch_tokens");
  if (path == "train.parallel.dp" && value == "0") {
    out.emplace_back(path, "null");
  } else {
    out.emplace_back(path, value);
  }
  return out;
}

}  // namespace fathom::gui::training
