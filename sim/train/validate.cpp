#include "sim/train/validate.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "common/csv.h"
#include "common/error.h"

namespace fathom::train {

namespace fs = std::filesystem;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

const std::string& tag_of(const ValidationRow& r, const std::string& dimension) {
  static const std::string none;
  if (dimension == "source") return r.tags.source;
  if (dimension == "framework") return r.tags.framework;
  if (dimension == "sharding") return r.tags.sharding;
  if (dimension == "scale") return r.tags.scale;
  if (dimension == "dtype") return r.tags.dtype;
  if (dimension == "gpu") return r.tags.gpu;
  return none;
}

void ValidationTable::summarise() {
  std::vector<double> e, signed_e;
  for (const auto& r : rows) {
    e.push_back(std::fabs(r.error));
    signed_e.push_back(r.error);
  }
  groups.clear();
  if (e.empty()) return;
  median_abs_error = median(e);
  median_error = median(signed_e);
  double sum = 0;
  for (double x : e) sum += x;
  mean_abs_error = sum / static_cast<double>(e.size());
  max_abs_error = *std::max_element(e.begin(), e.end());
  for (const char* dim : kTagDimensions) {
    std::map<std::string, std::vector<double>> by;
    for (const auto& r : rows) {
      const std::string& g = tag_of(r, dim);
      if (!g.empty()) by[g].push_back(r.error);
    }
    for (auto& [g, errs] : by) {
      GroupSummary s;
      s.dimension = dim;
      s.group = g;
      s.rows = errs.size();
      s.median_error = median(errs);
      for (double& x : errs) x = std::fabs(x);
      s.median_abs_error = median(errs);
      groups.push_back(s);
    }
  }
}

model::ModelSpec gpt_model(const std::string& name, int64_t layers, int64_t hidden, int64_t heads, int64_t vocab,
                           int64_t max_position) {
  model::ModelSpec m;
  m.name = name;
  m.display_name = name;
  m.family = "gpt";
  m.source = "Megatron-LM GPT shape";
  m.vocab_size = vocab;
  m.hidden_size = hidden;
  m.layers = layers;
  m.max_position = max_position;
  m.norm = model::NormKind::kLayerNorm;
  m.position = model::PositionKind::kLearned;
  m.tie_embeddings = true;
  m.attention.kind = model::AttentionKind::kMha;
  m.attention.heads = heads;
  m.attention.kv_heads = heads;
  m.attention.head_dim = hidden / heads;
  m.attention.qkv_bias = true;
  m.attention.out_bias = true;
  m.ffn.kind = model::FfnKind::kMlp;
  m.ffn.activation = "gelu";
  m.ffn.hidden = 4 * hidden;
  m.ffn.bias = true;
  return m;
}

TrainConfig megatron_2021_config() {
  TrainConfig c;
  c.recompute = model::Recompute::kFull;
  c.flash_attention = false;
  c.dropout = true;
  c.overlap_dp = false;
  c.overlap_pp = false;
  c.overlap_tp = false;
  c.zero = 0;
  c.grad_reduce_dtype = DType::kFp16;
  c.main_grad_dtype = DType::kFp32;
  return c;
}

namespace {

model::Precision fp16() {
  model::Precision p;
  p.weights = DType::kFp16;
  p.activations = DType::kFp16;
  p.kv_cache = DType::kFp16;
  return p;
}

std::string layout_text(const TrainConfig& c) {
  std::string s = fmt::format("tp{} pp{} dp{} mb{}", c.layout.tp, c.layout.pp, c.layout.dp, c.microbatch);
  if (c.virtual_stages > 1) s += fmt::format(" v{}", c.virtual_stages);
  return s;
}

}  // namespace

ValidationTable validate_megatron(const std::string& csv_path, const hw::HardwareCatalog& hardware) {
  ValidationTable t;
  t.name = "megatron";
  t.source = "Narayanan et al. SC'21 (arXiv 2104.04473) Table 1, A100-80GB (Selene)";
  t.metric = "achieved TFLOP/s per GPU (paper's eq. 3, counts recomputation)";
  const CsvTable csv = CsvTable::load(csv_path);
  const hw::ClusterSpec cluster = hardware.cluster("dgx-a100-selene", csv_path);
  const hw::GpuSpec gpu = hardware.gpu(cluster.gpu, csv_path);
  const size_t c_model = csv.column("model"), c_l = csv.column("layers"), c_h = csv.column("hidden"),
               c_a = csv.column("heads"), c_s = csv.column("seq_len"), c_g = csv.column("gpus"), c_tp = csv.column("tp"),
               c_pp = csv.column("pp"), c_dp = csv.column("dp"), c_b = csv.column("global_batch"),
               c_tf = csv.column("achieved_tflops_per_gpu");
  for (size_t i = 0; i < csv.rows(); ++i) {
    const auto l = static_cast<int64_t>(csv.number(i, c_l));
    const auto h = static_cast<int64_t>(csv.number(i, c_h));
    const auto a = static_cast<int64_t>(csv.number(i, c_a));
    const auto s = static_cast<int64_t>(csv.number(i, c_s));
    const auto gpus = static_cast<int64_t>(csv.number(i, c_g));
    const int tp = static_cast<int>(csv.number(i, c_tp)), pp = static_cast<int>(csv.number(i, c_pp)),
              dp = static_cast<int>(csv.number(i, c_dp));
    const auto B = static_cast<int64_t>(csv.number(i, c_b));
    const double V = 51200;
    model::ModelSpec m = gpt_model(csv.cell(i, c_model), l, h, a, 51200, s);
    hw::ClusterSpec cl = cluster;
    cl.nodes = static_cast<int>((gpus + cl.gpus_per_node - 1) / cl.gpus_per_node);
    TrainModel tm(m, gpu, cl, fp16(), {}, hw::CollectiveAlgo::kAuto, 0, gpu.calibrated_profile);
    TrainConfig base = megatron_2021_config();
    base.layout.tp = tp;
    base.layout.pp = pp;
    base.layout.dp = dp;
    base.layout.gpus_per_node = cl.gpus_per_node;
    base.seq_len = s;
    base.global_batch = B;
    std::optional<TrainResult> best;
    for (int64_t mb : {1, 2, 4, 8}) {
      for (int v = 1; v <= 8; ++v) {
        TrainConfig c = base;
        c.microbatch = mb;
        c.virtual_stages = v;
        if (check_config(m, c, gpus)) continue;
        TrainResult r = tm.evaluate(c);
        if (!r.feasible()) continue;
        if (!best || r.time.step < best->time.step) best = r;
      }
    }
    ValidationRow row;
    row.label = csv.cell(i, c_model);
    row.measured = csv.number(i, c_tf);
    if (!best) {
      row.config = "no feasible layout";
      row.predicted = 0;
      row.error = -1;
    } else {
      const double dl = static_cast<double>(l), dh = static_cast<double>(h), ds = static_cast<double>(s);
      const double F = 96.0 * static_cast<double>(B) * ds * dl * dh * dh * (1.0 + ds / (6.0 * dh) + V / (16.0 * dl * dh));
      row.config = layout_text(best->config);
      row.predicted = F / (best->time.step * static_cast<double>(gpus)) / 1e12;
      row.error = row.predicted / row.measured - 1.0;
    }
    t.rows.push_back(row);
  }
  t.summarise();
  return t;
}

ValidationTable validate_vtrain(const std::string& dir, const hw::HardwareCatalog& hardware) {
  ValidationTable t;
  t.name = "vtrain";
  t.source = "vTrain (MICRO 2024) ground truth, VIA-Research/vTrain@f8dda847: Megatron-DeepSpeed on A100";
  t.metric = "iteration time, ms";
  const fs::path single = fs::path(dir) / "ground_truth_single.csv";
  const fs::path multi = fs::path(dir) / "ground_truth_multi.csv";
  std::error_code ec;
  if (!fs::exists(single, ec) || !fs::exists(multi, ec)) {
    t.skipped = true;
    t.skip_reason = "vTrain files not found in " + dir;
    return t;
  }
  const hw::GpuSpec gpu = hardware.gpu("a100-sxm-80gb", dir);
  for (const fs::path& file : {single, multi}) {
    const CsvTable csv = CsvTable::load(file.string(), false);
    const size_t c_g = csv.column("# GPUs"), c_B = csv.column("global batch"), c_mb = csv.column("micro batch"),
                 c_h = csv.column("hidden size"), c_a = csv.column("attention heads"), c_l = csv.column("# layers"),
                 c_s = csv.column("sequence length"), c_tp = csv.column("tensor parallelism"),
                 c_dp = csv.column("data parallelism"), c_pp = csv.column("pipeline parallelism"),
                 c_t = csv.column("iteration time (ms)");
    for (size_t i = 0; i < csv.rows(); ++i) {
      const auto gpus = static_cast<int64_t>(csv.number(i, c_g));
      const auto h = static_cast<int64_t>(csv.number(i, c_h));
      const auto a = static_cast<int64_t>(csv.number(i, c_a));
      const auto l = static_cast<int64_t>(csv.number(i, c_l));
      const auto s = static_cast<int64_t>(csv.number(i, c_s));
      const int tp = static_cast<int>(csv.number(i, c_tp)), dp = static_cast<int>(csv.number(i, c_dp)),
                pp = static_cast<int>(csv.number(i, c_pp));
      const int per_node = static_cast<int>(std::min<int64_t>(gpus, 8));
      hw::ClusterSpec cl = hw::make_cluster(gpu, static_cast<int>((gpus + 7) / 8), per_node);
      model::ModelSpec m = gpt_model(fmt::format("gpt-h{}-l{}", h, l), l, h, a, megatron_padded_vocab(50257, tp), s);
      TrainModel tm(m, gpu, cl, fp16(), {}, hw::CollectiveAlgo::kAuto, 0, gpu.calibrated_profile);
      TrainConfig c = megatron_2021_config();
      c.layout.tp = tp;
      c.layout.pp = pp;
      c.layout.dp = dp;
      c.layout.gpus_per_node = per_node;
      c.seq_len = s;
      c.global_batch = static_cast<int64_t>(csv.number(i, c_B));
      c.microbatch = static_cast<int64_t>(csv.number(i, c_mb));
      ValidationRow row;
      row.label = fmt::format("{} h{} a{} l{} s{}", file.stem().string() == "ground_truth_single" ? "single" : "multi", h, a, l, s);
      row.config = fmt::format("{} GPUs {} B{}", gpus, layout_text(c), c.global_batch);
      row.measured = csv.number(i, c_t);
      if (auto bad = check_config(m, c, gpus)) {
        row.predicted = 0;
        row.error = std::numeric_limits<double>::quiet_NaN();
        row.config += " (cannot build: " + bad->field + ": " + bad->reason + ")";
        continue;
      }
      TrainResult r = tm.evaluate(c);
      row.predicted = r.time.step * 1e3;
      row.error = row.predicted / row.measured - 1.0;
      t.rows.push_back(row);
    }
  }
  t.summarise();
  return t;
}

}  // namespace fathom::train
