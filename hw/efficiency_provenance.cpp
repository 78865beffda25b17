#include "hw/efficiency_provenance.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include <fmt/format.h>

namespace fathom::hw {

std::string to_string(EfficiencyOrigin o) {
  switch (o) {
    case EfficiencyOrigin::kMeasured: return "measured";
    case EfficiencyOrigin::kFitted: return "fitted";
    case EfficiencyOrigin::kPublished: return "published";
    case EfficiencyOrigin::kDefault: return "default";
  }
  return "?";
}

namespace {

// The documented defaults (docs/cost_model.md, section 3), as DefaultEfficiencyOptions states them.
constexpr const char* kDocGemmBf16 =
    "documented default efficiency.gemm_bf16 (docs/cost_model.md): the median of the MAMF table in ml-engineering "
    "(A100 0.869, H100 0.803, B200 0.776)";
constexpr const char* kDocGemmFp8 =
    "documented default efficiency.gemm_fp8 (docs/cost_model.md): MAMF fp8 on H100/H200 0.709/0.734";
constexpr const char* kDocGemmOther = "documented default efficiency.gemm_other (docs/cost_model.md): fp32/tf32/int8 without a measurement";
constexpr const char* kDocKRamp =
    "documented default efficiency.k_ramp (docs/cost_model.md): the main loop reaches steady state as K / (K + 64); an assumption";
constexpr const char* kDocMemory =
    "documented default efficiency.memory (docs/cost_model.md): STREAM copy fraction A100 0.79, H100 0.87, H200 0.84, B200 0.92";
constexpr const char* kDocAttention =
    "documented default efficiency.attention (docs/cost_model.md): FlashAttention-2 paper, 50-73% of peak on A100";
constexpr const char* kDocLaunch =
    "documented default efficiency.launch_overhead (docs/cost_model.md): kernel-to-kernel gap on a busy stream (CUDA graphs "
    "about 1 us, eager launches 2-5 us)";
constexpr const char* kDocTile = "documented default (docs/cost_model.md): cuBLAS/CUTLASS 128x128 output tiles, 64-row tiles for M <= 64";
constexpr const char* kDocSplitK = "documented default (docs/cost_model.md): split-K keeps at least this depth per split";
constexpr const char* kDocVector =
    "documented default efficiency.memory as the fraction of the fp32 vector peak for element-wise arithmetic "
    "(docs/cost_model.md: these kernels are memory-bound)";

std::string published(const GpuSpec& gpu, const std::string& figure) {
  auto it = gpu.sources.find("measured");
  const std::string src = it == gpu.sources.end() ? std::string("no source given") : it->second;
  return fmt::format("published measurement in {} ({}): {}", gpu.file.empty() ? gpu.name : gpu.file, figure, src);
}

std::string profile_label(const CalibratedProfile& p) {
  if (!p.file.empty()) return p.file;
  return p.database.empty() ? std::string("(built in)") : "fitted to " + p.database;
}

std::string fitted(const CalibratedProfile& p, const std::string& fit, const FitQuality& q) {
  std::string held = std::isnan(q.heldout_median) || q.points == 0
                         ? std::string("no held-out error")
                         : fmt::format("held-out median error {:.1f}%", 100 * q.heldout_median);
  return fmt::format("calibrated profile {}: the {} fit ({} points, {}){}", profile_label(p), fit, q.points, held,
                     p.synthetic ? "; SYNTHETIC data" : "");
}

}  // namespace

std::vector<EfficiencyParameter> efficiency_provenance(const GpuSpec& gpu, const DefaultEfficiencyOptions& o,
                                                       const CalibratedProfile* profile) {
  using O = EfficiencyOrigin;
  std::vector<EfficiencyParameter> out;
  auto add = [&](std::string applies, std::string parameter, double value, std::string unit, O origin, std::string source,
                 std::optional<FitQuality> q = std::nullopt) {
    out.push_back({std::move(applies), std::move(parameter), value, std::move(unit), origin, std::move(source), q});
  };
  std::shared_ptr<const CalibratedProfile> shared;
  std::unique_ptr<CalibratedEfficiencyModel> cal;
  if (profile) {
    shared = std::make_shared<CalibratedProfile>(*profile);
    cal = std::make_unique<CalibratedEfficiencyModel>(shared, o);
  }

  // The default model's memory fraction (DefaultEfficiencyModel::memory_efficiency).
  auto default_memory = [&](const std::string& applies) {
    if (o.memory_override > 0) {
      add(applies, "memory fraction", o.memory_override, "", O::kDefault, "efficiency.memory set in the scenario (over every GPU figure)");
    } else if (gpu.measured.memory_copy_Bps && gpu.memory_bw_Bps > 0) {
      add(applies, "memory fraction", std::min(1.0, *gpu.measured.memory_copy_Bps / gpu.memory_bw_Bps), "", O::kPublished,
          published(gpu, fmt::format("STREAM copy {:.3g} TB/s of {:.3g} TB/s", *gpu.measured.memory_copy_Bps / 1e12,
                                     gpu.memory_bw_Bps / 1e12)));
    } else {
      add(applies, "memory fraction", o.memory, "", O::kDefault, kDocMemory);
    }
  };

  for (DType t : kAllDTypes) {
    if (!gpu.supports(t)) continue;
    const std::string applies = "gemm " + to_string(t);
    const GemmEfficiency* fit = cal ? cal->gemm_fit(t) : nullptr;
    if (fit) {
      // gemm_fit's fallbacks (fp16 ↔ bf16, fp32 → tf32) named in the source.
      std::string key;
      for (const auto& [k, g] : shared->gemm)
        if (&g == fit) key = k;
      const std::string group = "gemm " + key;
      add(applies, "compute fraction", fit->peak_fraction, "", O::kFitted, fitted(*profile, group, fit->quality), fit->quality);
      add(applies, "k_half", fit->k_half, "elements", O::kFitted, fitted(*profile, group, fit->quality), fit->quality);
      add(applies, "memory fraction", fit->memory_fraction, "", O::kFitted, fitted(*profile, group, fit->quality), fit->quality);
      add(applies, "fixed time", fit->fixed_s, "s", O::kFitted, fitted(*profile, group, fit->quality), fit->quality);
      continue;
    }
    // DefaultEfficiencyModel::gemm_peak_fraction, branch by branch.
    const bool half = t == DType::kBf16 || t == DType::kFp16;
    if (o.gemm_override > 0) {
      add(applies, "compute fraction", o.gemm_override, "", O::kDefault, "efficiency.gemm set in the scenario (over every GPU figure)");
    } else if (half && gpu.measured.gemm_bf16_flops) {
      add(applies, "compute fraction", std::min(1.0, *gpu.measured.gemm_bf16_flops / gpu.peak(DType::kBf16)), "", O::kPublished,
          published(gpu, fmt::format("bf16 GEMM {:.4g} TFLOP/s of {:.4g}", *gpu.measured.gemm_bf16_flops / 1e12,
                                     gpu.peak(DType::kBf16) / 1e12)));
    } else if (t == DType::kFp8 && gpu.measured.gemm_fp8_flops) {
      add(applies, "compute fraction", std::min(1.0, *gpu.measured.gemm_fp8_flops / gpu.peak(t)), "", O::kPublished,
          published(gpu, fmt::format("fp8 GEMM {:.4g} TFLOP/s of {:.4g}", *gpu.measured.gemm_fp8_flops / 1e12, gpu.peak(t) / 1e12)));
    } else if (half) {
      add(applies, "compute fraction", o.gemm_bf16, "", O::kDefault, kDocGemmBf16);
    } else if (t == DType::kFp8 || t == DType::kFp4) {
      add(applies, "compute fraction", o.gemm_fp8, "", O::kDefault, kDocGemmFp8);
    } else {
      add(applies, "compute fraction", o.gemm_other, "", O::kDefault, kDocGemmOther);
    }
    add(applies, "k_half", o.k_ramp, "elements", O::kDefault, kDocKRamp);
    default_memory(applies);
  }
  add("gemm (every type)", "output tile rows", o.tile_m, "elements", O::kDefault, kDocTile);
  add("gemm (every type)", "output tile columns", o.tile_n, "elements", O::kDefault, kDocTile);
  add("gemm (every type)", "least split-K depth", o.min_split_k, "elements", O::kDefault, kDocSplitK);

  // Attention (DefaultEfficiencyModel::compute_efficiency; the profile's fit only when applied).
  const AttentionEfficiency* att = profile && profile->attention && profile->attention->apply ? &*profile->attention : nullptr;
  if (att) {
    add("attention", "compute fraction", att->peak_fraction, "", O::kFitted, fitted(*profile, "attention (" + att->kernel + ")", att->quality), att->quality);
    add("attention", "memory fraction", att->memory_fraction, "", O::kFitted, fitted(*profile, "attention (" + att->kernel + ")", att->quality), att->quality);
    add("attention", "fixed time", att->fixed_s, "s", O::kFitted, fitted(*profile, "attention (" + att->kernel + ")", att->quality), att->quality);
  } else {
    const std::string not_applied =
        profile && profile->attention ? "; the profile's attention fit is not applied: " + profile->attention->reason : std::string();
    if (gpu.measured.attention_bf16_flops && gpu.peak(DType::kBf16) > 0) {
      add("attention", "compute fraction", std::min(1.0, *gpu.measured.attention_bf16_flops / gpu.peak(DType::kBf16)), "",
          O::kPublished,
          published(gpu, fmt::format("FlashAttention {:.4g} TFLOP/s of bf16 {:.4g}", *gpu.measured.attention_bf16_flops / 1e12,
                                     gpu.peak(DType::kBf16) / 1e12)) + not_applied);
    } else {
      add("attention", "compute fraction", o.attention, "", O::kDefault, kDocAttention + not_applied);
    }
    add("attention", "backward / forward", o.attention_backward, "", O::kDefault,
        "documented default efficiency.attention_backward (docs/cost_model.md): FlashAttention-2 paper (Dao 2023), up to 73% of "
        "peak forward and 63% backward on A100");
    default_memory("attention");
  }

  // Streaming kinds (CalibratedEfficiencyModel::stream_fit).
  struct Stream {
    const char* applies;
    OpKind kind;
    const char* fit;
  };
  for (const Stream& s : {Stream{"elementwise, scan", OpKind::kElementwise, "elementwise"},
                          Stream{"norm", OpKind::kNorm, "reduction"},
                          Stream{"memory, embedding", OpKind::kMemory, "memory copy"}}) {
    const StreamEfficiency* f = cal ? cal->stream_fit(s.kind) : nullptr;
    if (f) {
      add(s.applies, "memory fraction", f->memory_fraction, "", O::kFitted, fitted(*profile, s.fit, f->quality), f->quality);
      add(s.applies, "fixed time", f->fixed_s, "s", O::kFitted, fitted(*profile, s.fit, f->quality), f->quality);
    } else {
      default_memory(s.applies);
    }
  }
  add("elementwise, norm, memory (vector units)", "compute fraction", o.memory, "", O::kDefault, kDocVector);

  if (profile && profile->launch_gap_s) {
    add("every kernel", "launch gap", *profile->launch_gap_s, "s", O::kMeasured,
        fmt::format("calibrated profile {}: the median idle gap between back-to-back empty kernels measured in {}{}",
                    profile_label(*profile), profile->database.empty() ? std::string("the calibration database") : profile->database,
                    profile->synthetic ? "; SYNTHETIC data" : ""));
  } else {
    add("every kernel", "launch gap", o.launch_overhead_s, "s", O::kDefault, kDocLaunch);
  }
  return out;
}

}  // namespace fathom::hw
