#pragma once
// A calibrated hardware profile: efficiencies fitted to kernel times measured on one GPU
// (`fathom calib fit`, docs/calibration.md), and the efficiency model that uses them in place of
// the datasheet defaults. The profile is YAML so that people can read and diff it; hw/ only
// reads it (calib/ writes it).
//
// Per kernel kind, the time of one kernel is
//   t = max(F / (P_dtype · η_c), B / (BW · η_m)) + t_fixed(kind) + t_gap,
// with, for GEMMs, η_c = peak_fraction · W(M, N, K) · K / (K + k_half), W the wave-quantisation
// term of DefaultEfficiencyModel, and for streaming kernels (memory, element-wise, reduction)
// only the bandwidth term. t_gap is the measured idle time between back-to-back kernels.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/yaml.h"
#include "hw/efficiency.h"

namespace fathom::hw {

// How well a kind's fit predicts measurements it did not see (k-fold cross-validation).
struct FitQuality {
  int points = 0;
  int folds = 0;
  double heldout_median = 0;  // median |predicted/measured − 1| over held-out points
  double heldout_p90 = 0;
  double insample_median = 0;
};

struct GemmEfficiency {
  double peak_fraction = 0;    // η at full waves and deep K
  double k_half = 0;           // K at which the main loop reaches half of it
  double memory_fraction = 0;  // of peak bandwidth, when the product is memory-bound
  double fixed_s = 0;          // per kernel, inside the kernel (prologue, epilogue)
  FitQuality quality;
};

struct StreamEfficiency {
  double memory_fraction = 0;
  double fixed_s = 0;
  FitQuality quality;
};

struct AttentionEfficiency {
  double peak_fraction = 0;
  double memory_fraction = 0;
  double fixed_s = 0;
  std::string kernel;  // the kernel measured ("fathom_tiled_attention" is Fathom's own)
  bool apply = false;  // used for predictions (false: recorded only)
  std::string reason;  // why not applied
  FitQuality quality;
};

struct CalibratedProfile {
  std::string file;  // where it was loaded from ("" when built in memory)
  std::string gpu;   // catalog GPU the profile belongs to
  std::string device_name, device_uuid;
  int sm_count = 0;
  bool synthetic = false;  // fitted to generated, not measured, data
  std::string database, created_at, fathom_version;
  std::optional<double> launch_gap_s;
  std::map<std::string, GemmEfficiency> gemm;      // by dtype: bf16, fp16, tf32, fp32, fp8
  std::map<std::string, StreamEfficiency> memory;  // copy, read, write, triad
  std::optional<StreamEfficiency> elementwise, reduction;
  std::optional<AttentionEfficiency> attention;
};

// Throws InputError naming the file and line of a bad value.
CalibratedProfile parse_profile(const YamlNode& root);
CalibratedProfile load_profile(const std::string& path);
std::string profile_to_yaml(const CalibratedProfile& p);

// The efficiency model of a profile. Kinds and data types the profile has no fit for use the
// default model (with `fallback` options), so a profile with only bf16 GEMMs still prices fp8
// GEMMs and collectives as before.
class CalibratedEfficiencyModel final : public EfficiencyModel {
 public:
  explicit CalibratedEfficiencyModel(std::shared_ptr<const CalibratedProfile> profile,
                                     DefaultEfficiencyOptions fallback = {});
  std::string name() const override { return "calibrated"; }
  double compute_efficiency(const Op& op, const GpuSpec& gpu) const override;
  double memory_efficiency(const Op& op, const GpuSpec& gpu) const override;
  double launch_overhead_s(const Op& op, const GpuSpec& gpu) const override;

  const CalibratedProfile& profile() const { return *profile_; }
  // The GEMM fit used for a data type (fp16 falls back to bf16 and back), or null.
  const GemmEfficiency* gemm_fit(DType t) const;
  // The streaming fit used for an operation kind, or null.
  const StreamEfficiency* stream_fit(OpKind kind) const;

 private:
  std::shared_ptr<const CalibratedProfile> profile_;
  DefaultEfficiencyModel fallback_;
};

// The efficiency model of a scenario: the profile's when one is given, else the defaults.
std::shared_ptr<const EfficiencyModel> make_efficiency_model(const DefaultEfficiencyOptions& options,
                                                             std::shared_ptr<const CalibratedProfile> profile);

// Throws ConfigError at `where` when the profile was fitted on another GPU than `gpu`.
void check_profile_matches(const CalibratedProfile& p, const GpuSpec& gpu, const std::string& where);

}  // namespace fathom::hw
