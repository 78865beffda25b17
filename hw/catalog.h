#pragma once
// The hardware catalog: every GPU and cluster file under data/hardware/.
#include <memory>
#include <string>
#include <vector>

#include "hw/cluster.h"
#include "hw/gpu.h"

namespace fathom::hw {

class HardwareCatalog {
 public:
  // Loads <dir>/gpus/*.yaml and <dir>/clusters/*.yaml, sorted by file name.
  static HardwareCatalog load(const std::string& hardware_dir);

  const std::vector<GpuSpec>& gpus() const { return gpus_; }
  const std::vector<ClusterSpec>& clusters() const { return clusters_; }

  // Finds a GPU by name or alias (case-insensitive). Returns nullptr when absent.
  const GpuSpec* find_gpu(const std::string& name) const;
  const ClusterSpec* find_cluster(const std::string& name) const;
  // Like find_gpu, but throws InputError at `where` naming the closest names.
  const GpuSpec& gpu(const std::string& name, const std::string& where) const;
  const ClusterSpec& cluster(const std::string& name, const std::string& where) const;

  std::vector<std::string> gpu_names() const;

  // For --profile on commands that run many GPUs: null drops every GPU's calibrated profile (the
  // documented defaults everywhere); a profile replaces the one of the GPU it was measured on
  // (ConfigError at `where` when the catalog has no such GPU).
  void set_calibrated_profile(std::shared_ptr<const CalibratedProfile> p, const std::string& where);
  // The same choice as sim::ResolveOptions::profile, for the whole catalog: "" changes nothing,
  // "defaults" drops every calibrated profile, a profile file replaces its GPU's.
  void apply_profile_choice(const std::string& profile, const std::string& where);
  // "GPU (file), ..." of the GPUs with a calibrated profile; "none" when none has one.
  std::string calibrated_profiles() const;
  std::vector<std::string> cluster_names() const;

 private:
  std::vector<GpuSpec> gpus_;
  std::vector<ClusterSpec> clusters_;
};

}  // namespace fathom::hw
