#include "calib/profile_fit.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "calib/measure.h"
#include "common/error.h"
#include "common/rng.h"
#include "common/stats.h"
#include "common/version.h"
#include "fit/fitter.h"
#include "fit/law.h"
#include "hw/cost.h"

namespace fathom::calib {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string num(double v) { return fmt::format("{:.17g}", v); }

DType gemm_dtype(const std::string& d) {
  if (d == "bf16") return DType::kBf16;
  if (d == "fp16") return DType::kFp16;
  if (d == "tf32") return DType::kTf32;
  if (d == "fp32") return DType::kFp32;
  if (d == "fp8") return DType::kFp8;
  throw std::invalid_argument("unknown GEMM dtype '" + d + "'");
}

// One group's data and law: the rows of `all` it uses, the law's variables per row.
struct Group {
  std::string name;
  std::string formula;
  std::vector<std::string> variables;
  struct Param {
    std::string name;
    double lower, upper;
    std::vector<double> grid;
  };
  std::vector<Param> params;
  fit::Dataset data;
};

std::unique_ptr<fit::Law> make_group_law(const Group& g) {
  auto law = fit::make_formula_law(g.formula, g.variables, "t", g.name);
  for (const Group::Param& p : g.params) {
    const size_t i = law->param_index(p.name);
    FATHOM_CHECK(i < law->params.size());
    law->params[i].lower = p.lower;
    law->params[i].upper = p.upper;
    law->params[i].grid = p.grid;
  }
  return law;
}

fit::Options group_options(const fit::Law& law, const ProfileFitOptions& o) {
  fit::Options opt = fit::default_options(law);
  opt.space = fit::Space::Log;
  // Huber in log space: a measurement 10% off still pulls, one 3× off (a clock dip, a
  // preempted kernel) only linearly.
  opt.loss = {fit::LossKind::Huber, 0.1};
  opt.method = fit::Method::Lm;
  opt.threads = o.threads;
  opt.polish = 3;
  return opt;
}

// Fits on all points, then k-fold: each point predicted by the fit that did not see it.
GroupFit fit_group(const Group& g, const ProfileFitOptions& o) {
  auto law = make_group_law(g);
  const fit::Options opt = group_options(*law, o);
  GroupFit out;
  out.group = g.name;
  out.formula = g.formula;
  const fit::FitResult all = fit::fit(*law, g.data, opt);
  out.params = all.params;
  out.converged = all.converged;
  for (const auto& p : law->params) out.param_names.push_back(p.name);

  const size_t n = g.data.size();
  std::vector<double> insample(n);
  std::vector<double> x(g.variables.size());
  for (size_t i = 0; i < n; ++i) {
    for (size_t v = 0; v < x.size(); ++v) x[v] = g.data.x[v][i];
    insample[i] = std::abs(fit::predict(*law, all.params, x) / g.data.y[i] - 1);
  }
  // Fold of each point: a seeded shuffle, then round robin, so folds mix sizes.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(o.seed, 0x6361'6c69'62ULL);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  // Each training split must keep more points than the law has parameters: fewer folds when
  // the group is small, and no held-out error at all when even two folds cannot.
  const size_t k = g.params.size();
  int folds = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(2, o.folds)), n));
  while (folds >= 2 && n - (n + static_cast<size_t>(folds) - 1) / static_cast<size_t>(folds) < k + 1) --folds;
  if (folds < 2) {
    out.quality.points = static_cast<int>(n);
    out.quality.folds = 0;
    out.quality.heldout_median = out.quality.heldout_p90 = std::nan("");
    out.quality.insample_median = median(insample);
    return out;
  }
  std::vector<double> held(n, std::nan(""));
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> train, test;
    for (size_t j = 0; j < n; ++j) (static_cast<int>(j % static_cast<size_t>(folds)) == f ? test : train).push_back(order[j]);
    const fit::Dataset tr = g.data.subset(train);
    const fit::FitResult r = fit::fit(*law, tr, opt);
    for (size_t i : test) {
      for (size_t v = 0; v < x.size(); ++v) x[v] = g.data.x[v][i];
      held[i] = std::abs(fit::predict(*law, r.params, x) / g.data.y[i] - 1);
    }
  }
  out.quality.points = static_cast<int>(n);
  out.quality.folds = folds;
  out.quality.heldout_median = median(held);
  out.quality.heldout_p90 = quantile(held, 0.9);
  out.quality.insample_median = median(insample);
  return out;
}

double param(const GroupFit& g, const std::string& name) {
  for (size_t i = 0; i < g.param_names.size(); ++i) {
    if (g.param_names[i] == name) return g.params[i];
  }
  FATHOM_CHECK(false);
  return 0;
}

void add_point(Group& g, const std::vector<double>& x, double y, int id) {
  if (g.data.x.empty()) g.data.x.resize(x.size());
  for (size_t v = 0; v < x.size(); ++v) g.data.x[v].push_back(x[v]);
  g.data.y.push_back(y);
  g.data.lines.push_back(id);
}

Group stream_group(const std::string& name, double bw) {
  Group g;
  g.name = name;
  g.formula = fmt::format("t = bytes/({}*em) + t0us*1e-6", num(bw));
  g.variables = {"bytes"};
  g.params = {{"em", 0.01, 1.0, {0.5, 0.9}}, {"t0us", 0.0, 1e4, {0.5, 3.0}}};
  return g;
}

}  // namespace

const hw::GpuSpec* match_catalog_gpu(const std::string& device_name, const std::vector<hw::GpuSpec>& gpus) {
  std::string n = device_name;
  if (n.rfind("NVIDIA ", 0) == 0) n = n.substr(7);
  const std::string full = lower(device_name), stripped = lower(n);
  const std::string first = stripped.substr(0, stripped.find(' '));
  std::string dashed = stripped;
  std::replace(dashed.begin(), dashed.end(), ' ', '-');
  for (const std::string& want : {full, stripped, dashed, first}) {
    if (want.empty()) continue;
    for (const hw::GpuSpec& g : gpus) {
      if (lower(g.name) == want || lower(g.display_name) == want) return &g;
      for (const std::string& a : g.aliases) {
        if (lower(a) == want) return &g;
      }
    }
  }
  return nullptr;
}

hw::GpuSpec fitting_gpu(const hw::GpuSpec& catalog, const store::DeviceRecord& device) {
  hw::GpuSpec g = catalog;
  if (device.sm_count > 0) g.compute_units = static_cast<int>(device.sm_count);
  return g;
}

bool measurement_op(const store::MeasurementRecord& m, hw::Op& op) {
  op = hw::Op{};
  op.name = m.name;
  op.flops = m.flops;
  op.bytes = m.bytes;
  if (m.kind == "gemm") {
    const GemmShape s = gemm_from_shape(m.shape);
    op.kind = hw::OpKind::kGemm;
    op.dtype = gemm_dtype(m.dtype);
    op.m = s.m;
    op.n = s.n;
    op.k = s.k;
    op.batch = s.batch;
    return true;
  }
  if (m.kind == "attention") {
    op.kind = hw::OpKind::kAttention;
    op.dtype = m.dtype == "fp8" ? DType::kFp8 : m.dtype == "fp16" ? DType::kFp16 : DType::kBf16;
    return true;
  }
  if (m.kind == "memory") {
    op.kind = hw::OpKind::kMemory;
    return true;
  }
  if (m.kind == "elementwise") {
    op.kind = hw::OpKind::kElementwise;
    return true;
  }
  if (m.kind == "reduction") {
    op.kind = hw::OpKind::kNorm;
    return true;
  }
  return false;
}

double predicted_kernel_time(const hw::EfficiencyModel& model, const hw::GpuSpec& gpu, const hw::Op& op) {
  hw::CostModel cm(gpu, hw::ClusterSpec{}, std::shared_ptr<const hw::EfficiencyModel>(&model, [](const hw::EfficiencyModel*) {}));
  const hw::OpCost c = cm.cost(op);
  // The default model's launch overhead is all gap; a calibrated one adds the in-kernel fixed
  // time on top of the gap, and only that part belongs to the kernel's own duration.
  double gap = 0;
  if (auto* cal = dynamic_cast<const hw::CalibratedEfficiencyModel*>(&model)) {
    gap = cal->profile().launch_gap_s.value_or(c.overhead_s);
    gap = std::min(gap, c.overhead_s);
  } else {
    gap = c.overhead_s;
  }
  return c.time_s - gap;
}

ProfileFit fit_profile(const std::vector<store::MeasurementRecord>& measurements, const hw::GpuSpec& gpu,
                       const store::DeviceRecord& device, const ProfileFitOptions& options, const std::string& where) {
  ProfileFit out;
  hw::CalibratedProfile& p = out.profile;
  p.gpu = gpu.name;
  p.device_name = device.name;
  p.device_uuid = device.uuid;
  p.sm_count = gpu.compute_units;
  p.fathom_version = version();
  const double bw = gpu.memory_bw_Bps;
  if (!(bw > 0)) throw InputError(where, "expected a GPU with a memory bandwidth, found none for " + gpu.name);
  const hw::DefaultEfficiencyModel waves;

  std::map<std::string, Group> gemm;    // by dtype
  std::map<std::string, Group> memory;  // by kernel
  Group elementwise = stream_group("elementwise", bw), reduction = stream_group("reduction", bw);
  Group attention_own, attention_lib;
  std::vector<double> launch;
  std::string attention_lib_name;
  const double attn_peak = gpu.peak(DType::kBf16);
  auto attention_group = [&](const std::string& name) {
    Group g;
    g.name = name;
    g.formula = fmt::format("t = max(flops/({}*eta), bytes/({}*em)) + t0us*1e-6", num(attn_peak), num(bw));
    g.variables = {"flops", "bytes"};
    g.params = {{"eta", 0.005, 1.0, {0.2, 0.6}}, {"em", 0.01, 1.0, {0.5, 0.9}}, {"t0us", 0.0, 1e4, {1.0, 5.0}}};
    return g;
  };
  attention_own = attention_group("attention");
  attention_lib = attention_group("attention");

  size_t unused = 0;
  for (const store::MeasurementRecord& m : measurements) {
    const int id = static_cast<int>(m.id);
    try {
      if (m.kind == "gemm") {
        const GemmShape s = gemm_from_shape(m.shape);
        const DType t = gemm_dtype(m.dtype);
        const double peak = gpu.peak(t);
        if (!(peak > 0) || !(m.flops > 0) || !(m.bytes > 0)) {
          ++unused;
          continue;
        }
        auto [it, fresh] = gemm.try_emplace(m.dtype);
        Group& g = it->second;
        if (fresh) {
          g.name = "gemm " + m.dtype;
          g.formula = fmt::format("t = max(flops/({}*eta*wave*k/(k+kh)), bytes/({}*em)) + t0us*1e-6", num(peak), num(bw));
          g.variables = {"flops", "bytes", "wave", "k"};
          g.params = {{"eta", 0.01, 1.0, {0.45, 0.85}},
                      {"kh", 0.0, 1e5, {16, 256}},
                      {"em", 0.01, 1.0, {0.5, 0.9}},
                      {"t0us", 0.0, 1e4, {1.0, 5.0}}};
        }
        const double w = waves.wave_efficiency(s.m, s.n, s.k, gpu, s.batch);
        add_point(g, {m.flops, m.bytes, w, static_cast<double>(s.k)}, m.time_s, id);
      } else if (m.kind == "memory") {
        if (!(m.bytes > 0)) {
          ++unused;
          continue;
        }
        auto [it, fresh] = memory.try_emplace(m.name, stream_group("memory " + m.name, bw));
        add_point(it->second, {m.bytes}, m.time_s, id);
      } else if (m.kind == "elementwise" || m.kind == "reduction") {
        if (!(m.bytes > 0)) {
          ++unused;
          continue;
        }
        add_point(m.kind == "elementwise" ? elementwise : reduction, {m.bytes}, m.time_s, id);
      } else if (m.kind == "attention") {
        if (!(m.flops > 0) || !(m.bytes > 0)) {
          ++unused;
          continue;
        }
        if (m.name == "fathom_tiled_attention") {
          add_point(attention_own, {m.flops, m.bytes}, m.time_s, id);
        } else {
          add_point(attention_lib, {m.flops, m.bytes}, m.time_s, id);
          if (attention_lib_name.empty()) attention_lib_name = m.name;
        }
      } else if (m.kind == "launch") {
        launch.push_back(m.time_s);
      } else {
        ++unused;
      }
    } catch (const std::invalid_argument& e) {
      throw InputError(where, fmt::format("measurement {} ({} {}): {}", m.id, m.kind, m.name, e.what()));
    }
  }
  if (unused > 0) out.notes.push_back(fmt::format("{} measurements of kinds without a fit (kernel, or no FLOPs/bytes) were not used", unused));

  auto enough = [&](const Group& g) {
    if (g.data.size() >= static_cast<size_t>(std::max<int>(options.min_points, static_cast<int>(g.params.size()) + 3))) return true;
    if (g.data.size() > 0) {
      out.notes.push_back(fmt::format("{}: {} measurements, fewer than {}; left to the defaults", g.name, g.data.size(),
                                      std::max<int>(options.min_points, static_cast<int>(g.params.size()) + 3)));
    }
    return false;
  };

  for (auto& [dt, g] : gemm) {
    if (!enough(g)) continue;
    GroupFit f = fit_group(g, options);
    hw::GemmEfficiency e;
    e.peak_fraction = param(f, "eta");
    e.k_half = param(f, "kh");
    e.memory_fraction = param(f, "em");
    e.fixed_s = param(f, "t0us") * 1e-6;
    e.quality = f.quality;
    p.gemm[dt] = e;
    out.groups.push_back(std::move(f));
  }
  for (auto& [name, g] : memory) {
    if (!enough(g)) continue;
    GroupFit f = fit_group(g, options);
    p.memory[name] = {param(f, "em"), param(f, "t0us") * 1e-6, f.quality};
    out.groups.push_back(std::move(f));
  }
  for (Group* g : {&elementwise, &reduction}) {
    if (!enough(*g)) continue;
    GroupFit f = fit_group(*g, options);
    hw::StreamEfficiency s{param(f, "em"), param(f, "t0us") * 1e-6, f.quality};
    (g == &elementwise ? p.elementwise : p.reduction) = s;
    out.groups.push_back(std::move(f));
  }
  // Attention: a library kernel measured in a real program (FlashAttention through a trace)
  // prices attention; Fathom's own tiled kernel is slower than the libraries, so its fit is kept
  // for reference and not applied.
  const bool lib = attention_lib.data.size() >= static_cast<size_t>(std::max(options.min_points, 5));
  Group& ag = lib ? attention_lib : attention_own;
  if (enough(ag)) {
    GroupFit f = fit_group(ag, options);
    hw::AttentionEfficiency a;
    a.peak_fraction = param(f, "eta");
    a.memory_fraction = param(f, "em");
    a.fixed_s = param(f, "t0us") * 1e-6;
    a.quality = f.quality;
    a.kernel = lib ? attention_lib_name : "fathom_tiled_attention";
    a.apply = lib;
    if (!lib) {
      a.reason = "measured with Fathom's own tiled kernel, not the FlashAttention-class kernel a serving engine runs; "
                 "import a trace with attention kernels to calibrate attention";
      out.notes.push_back("attention: fitted to Fathom's own kernel; recorded, not applied (defaults price attention)");
    }
    p.attention = a;
    out.groups.push_back(std::move(f));
  }
  if (!launch.empty()) p.launch_gap_s = median(launch);
  if (out.groups.empty() && !p.launch_gap_s) {
    std::string why;
    for (const std::string& n : out.notes) why += "; " + n;
    throw InputError(where, fmt::format("expected measurements to fit (gemm, memory, elementwise, reduction, attention "
                                        "or launch), found none usable among {}{}",
                                        measurements.size(), why));
  }
  return out;
}

}  // namespace fathom::calib
