#include "hw/profile.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"

namespace fathom::hw {

namespace {

constexpr int kProfileFormat = 1;

double fraction(const YamlNode& m, const char* key) {
  const YamlNode v = m.at(key);
  const double x = v.as_positive_number();
  if (x > 1) v.fail("a fraction in (0, 1]");
  return x;
}

double seconds(const YamlNode& m, const char* key) { return m.at(key).as_nonnegative_number(); }

FitQuality parse_quality(const YamlNode& m) {
  FitQuality q;
  if (auto v = m.find("points")) q.points = static_cast<int>(std::min<int64_t>(v->as_nonnegative_int(), 1 << 30));
  if (auto v = m.find("folds")) q.folds = static_cast<int>(std::min<int64_t>(v->as_nonnegative_int(), 1000));
  // An error is ≥ 0, or .nan when the group was too small to hold points out.
  auto error = [](const YamlNode& v) {
    if (v.is_scalar() && (v.raw().Scalar() == ".nan" || v.raw().Scalar() == ".NaN")) return std::nan("");
    const double x = v.as_number();
    if (!(x >= 0) && !std::isnan(x)) v.fail("an error >= 0 (or .nan)");
    return x;
  };
  if (auto v = m.find("heldout_median")) q.heldout_median = error(*v);
  if (auto v = m.find("heldout_p90")) q.heldout_p90 = error(*v);
  if (auto v = m.find("insample_median")) q.insample_median = error(*v);
  return q;
}

#define FATHOM_QUALITY_KEYS "points", "folds", "heldout_median", "heldout_p90", "insample_median"

StreamEfficiency parse_stream(const YamlNode& m) {
  m.expect_map();
  m.expect_keys({"memory_fraction", "fixed_s", FATHOM_QUALITY_KEYS});
  StreamEfficiency s;
  s.memory_fraction = fraction(m, "memory_fraction");
  s.fixed_s = seconds(m, "fixed_s");
  s.quality = parse_quality(m);
  return s;
}

std::string quality_yaml(const FitQuality& q) {
  return fmt::format("points: {}, folds: {}, heldout_median: {}, heldout_p90: {}, insample_median: {}", q.points,
                     q.folds, yaml_number(q.heldout_median), yaml_number(q.heldout_p90),
                     yaml_number(q.insample_median));
}

std::string stream_yaml(const StreamEfficiency& s) {
  return fmt::format("{{memory_fraction: {}, fixed_s: {}, {}}}", yaml_number(s.memory_fraction),
                     yaml_number(s.fixed_s), quality_yaml(s.quality));
}

const std::vector<std::string>& gemm_dtypes() {
  static const std::vector<std::string> v = {"bf16", "fp16", "tf32", "fp32", "fp8"};
  return v;
}

}  // namespace

CalibratedProfile parse_profile(const YamlNode& root) {
  root.expect_map();
  root.expect_keys({"profile", "gpu", "device", "synthetic", "source", "launch_gap_s", "gemm", "memory",
                    "elementwise", "reduction", "attention"});
  CalibratedProfile p;
  p.file = root.file();
  const YamlNode fmt_node = root.at("profile");
  if (fmt_node.as_int() != kProfileFormat) fmt_node.fail("profile format " + std::to_string(kProfileFormat));
  p.gpu = root.str_or("gpu", "");
  if (auto d = root.find("device")) {
    d->expect_map();
    d->expect_keys({"name", "uuid", "sm_count"});
    p.device_name = d->str_or("name", "");
    p.device_uuid = d->str_or("uuid", "");
    if (auto v = d->find("sm_count")) p.sm_count = static_cast<int>(std::min<int64_t>(v->as_nonnegative_int(), 1 << 20));
  }
  p.synthetic = root.flag_or("synthetic", false);
  if (auto s = root.find("source")) {
    s->expect_map();
    s->expect_keys({"database", "created_at", "fathom_version"});
    p.database = s->str_or("database", "");
    p.created_at = s->str_or("created_at", "");
    p.fathom_version = s->str_or("fathom_version", "");
  }
  if (auto v = root.find("launch_gap_s")) p.launch_gap_s = v->as_nonnegative_number();
  if (auto g = root.find("gemm")) {
    g->expect_map();
    for (const auto& [dt, m] : g->entries()) {
      if (std::find(gemm_dtypes().begin(), gemm_dtypes().end(), dt) == gemm_dtypes().end()) {
        m.fail_message("expected a GEMM data type (bf16, fp16, tf32, fp32 or fp8), found '" + dt + "'");
      }
      m.expect_map();
      m.expect_keys({"peak_fraction", "k_half", "memory_fraction", "fixed_s", FATHOM_QUALITY_KEYS});
      GemmEfficiency e;
      e.peak_fraction = fraction(m, "peak_fraction");
      e.k_half = m.at("k_half").as_nonnegative_number();
      e.memory_fraction = fraction(m, "memory_fraction");
      e.fixed_s = seconds(m, "fixed_s");
      e.quality = parse_quality(m);
      p.gemm[dt] = e;
    }
  }
  if (auto mem = root.find("memory")) {
    mem->expect_map();
    for (const auto& [name, m] : mem->entries()) {
      if (name != "copy" && name != "read" && name != "write" && name != "triad") {
        m.fail_message("expected a memory kernel (copy, read, write or triad), found '" + name + "'");
      }
      p.memory[name] = parse_stream(m);
    }
  }
  if (auto e = root.find("elementwise")) p.elementwise = parse_stream(*e);
  if (auto r = root.find("reduction")) p.reduction = parse_stream(*r);
  if (auto a = root.find("attention")) {
    a->expect_map();
    a->expect_keys({"peak_fraction", "memory_fraction", "fixed_s", "kernel", "apply", "reason", FATHOM_QUALITY_KEYS});
    AttentionEfficiency at;
    at.peak_fraction = fraction(*a, "peak_fraction");
    at.memory_fraction = fraction(*a, "memory_fraction");
    at.fixed_s = seconds(*a, "fixed_s");
    at.kernel = a->str_or("kernel", "");
    at.apply = a->flag_or("apply", false);
    at.reason = a->str_or("reason", "");
    at.quality = parse_quality(*a);
    p.attention = at;
  }
  return p;
}

CalibratedProfile load_profile(const std::string& path) { return parse_profile(load_yaml_file(path)); }

std::string profile_to_yaml(const CalibratedProfile& p) {
  std::string y;
  y += "# Fathom calibrated hardware profile: efficiencies fitted to measured kernel times.\n";
  y += "# Format and equations: docs/calibration.md. Times in seconds.\n";
  y += fmt::format("profile: {}\n", kProfileFormat);
  y += fmt::format("gpu: {}\n", yaml_quote(p.gpu));
  y += fmt::format("device: {{name: {}, uuid: {}, sm_count: {}}}\n", yaml_quote(p.device_name),
                   yaml_quote(p.device_uuid), p.sm_count);
  y += fmt::format("synthetic: {}\n", p.synthetic ? "true" : "false");
  y += fmt::format("source: {{database: {}, created_at: {}, fathom_version: {}}}\n", yaml_quote(p.database),
                   yaml_quote(p.created_at), yaml_quote(p.fathom_version));
  if (p.launch_gap_s) y += fmt::format("launch_gap_s: {}\n", yaml_number(*p.launch_gap_s));
  if (!p.gemm.empty()) {
    y += "gemm:\n";
    for (const std::string& dt : gemm_dtypes()) {
      auto it = p.gemm.find(dt);
      if (it == p.gemm.end()) continue;
      const GemmEfficiency& e = it->second;
      y += fmt::format("  {}: {{peak_fraction: {}, k_half: {}, memory_fraction: {}, fixed_s: {}, {}}}\n", dt,
                       yaml_number(e.peak_fraction), yaml_number(e.k_half), yaml_number(e.memory_fraction),
                       yaml_number(e.fixed_s), quality_yaml(e.quality));
    }
  }
  if (!p.memory.empty()) {
    y += "memory:\n";
    for (const auto& [name, s] : p.memory) y += fmt::format("  {}: {}\n", name, stream_yaml(s));
  }
  if (p.elementwise) y += "elementwise: " + stream_yaml(*p.elementwise) + "\n";
  if (p.reduction) y += "reduction: " + stream_yaml(*p.reduction) + "\n";
  if (p.attention) {
    const AttentionEfficiency& a = *p.attention;
    y += fmt::format(
        "attention: {{peak_fraction: {}, memory_fraction: {}, fixed_s: {}, kernel: {}, apply: {}, reason: {}, {}}}\n",
        yaml_number(a.peak_fraction), yaml_number(a.memory_fraction), yaml_number(a.fixed_s),
        yaml_quote(a.kernel), a.apply ? "true" : "false", yaml_quote(a.reason), quality_yaml(a.quality));
  }
  return y;
}

CalibratedEfficiencyModel::CalibratedEfficiencyModel(std::shared_ptr<const CalibratedProfile> profile,
                                                     DefaultEfficiencyOptions fallback)
    : profile_(std::move(profile)), fallback_(fallback) {
  FATHOM_CHECK(profile_ != nullptr);
}

const GemmEfficiency* CalibratedEfficiencyModel::gemm_fit(DType t) const {
  auto get = [&](const char* k) -> const GemmEfficiency* {
    auto it = profile_->gemm.find(k);
    return it == profile_->gemm.end() ? nullptr : &it->second;
  };
  switch (t) {
    case DType::kBf16: return get("bf16") ? get("bf16") : get("fp16");
    case DType::kFp16: return get("fp16") ? get("fp16") : get("bf16");
    case DType::kTf32: return get("tf32");
    case DType::kFp32: return get("fp32") ? get("fp32") : get("tf32");
    case DType::kFp8: return get("fp8");
    default: return nullptr;
  }
}

const StreamEfficiency* CalibratedEfficiencyModel::stream_fit(OpKind kind) const {
  auto mem = [&](const char* k) -> const StreamEfficiency* {
    auto it = profile_->memory.find(k);
    return it == profile_->memory.end() ? nullptr : &it->second;
  };
  switch (kind) {
    case OpKind::kElementwise:
    case OpKind::kScan: return profile_->elementwise ? &*profile_->elementwise : nullptr;
    case OpKind::kNorm: return profile_->reduction ? &*profile_->reduction : nullptr;
    case OpKind::kEmbedding:
    case OpKind::kMemory: return mem("copy");
    default: return nullptr;
  }
}

double CalibratedEfficiencyModel::compute_efficiency(const Op& op, const GpuSpec& gpu) const {
  if (op.kind == OpKind::kGemm) {
    if (const GemmEfficiency* g = gemm_fit(op.dtype)) {
      double e = g->peak_fraction * fallback_.wave_efficiency(op.m, op.n, op.k, gpu, op.batch);
      if (op.k > 0) e *= static_cast<double>(op.k) / (static_cast<double>(op.k) + g->k_half);
      return std::max(e, 1e-4);
    }
  }
  if (op.kind == OpKind::kAttention && profile_->attention && profile_->attention->apply) {
    return profile_->attention->peak_fraction;
  }
  return fallback_.compute_efficiency(op, gpu);
}

double CalibratedEfficiencyModel::memory_efficiency(const Op& op, const GpuSpec& gpu) const {
  if (op.kind == OpKind::kGemm) {
    if (const GemmEfficiency* g = gemm_fit(op.dtype)) return g->memory_fraction;
  }
  if (op.kind == OpKind::kAttention && profile_->attention && profile_->attention->apply) {
    return profile_->attention->memory_fraction;
  }
  if (const StreamEfficiency* s = stream_fit(op.kind)) return s->memory_fraction;
  return fallback_.memory_efficiency(op, gpu);
}

double CalibratedEfficiencyModel::launch_overhead_s(const Op& op, const GpuSpec& gpu) const {
  const double gap = profile_->launch_gap_s ? *profile_->launch_gap_s : fallback_.launch_overhead_s(op, gpu);
  double fixed = 0;
  if (op.kind == OpKind::kGemm) {
    if (const GemmEfficiency* g = gemm_fit(op.dtype)) fixed = g->fixed_s;
  } else if (op.kind == OpKind::kAttention) {
    if (profile_->attention && profile_->attention->apply) fixed = profile_->attention->fixed_s;
  } else if (const StreamEfficiency* s = stream_fit(op.kind)) {
    fixed = s->fixed_s;
  }
  return gap + fixed;
}

std::shared_ptr<const EfficiencyModel> make_efficiency_model(const DefaultEfficiencyOptions& options,
                                                             std::shared_ptr<const CalibratedProfile> profile) {
  if (profile) return std::make_shared<CalibratedEfficiencyModel>(std::move(profile), options);
  return std::make_shared<DefaultEfficiencyModel>(options);
}

void check_profile_matches(const CalibratedProfile& p, const GpuSpec& gpu, const std::string& where) {
  if (!p.gpu.empty() && p.gpu != gpu.name) {
    throw ConfigError(where, "expected a profile measured on " + gpu.name + ", found one of " + p.gpu + " (" +
                                 (p.file.empty() ? std::string("profile") : p.file) +
                                 "); calibrate this GPU or choose hardware " + p.gpu);
  }
}

}  // namespace fathom::hw
