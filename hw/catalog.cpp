#include "hw/catalog.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/error.h"
#include "common/suggest.h"
#include "hw/profile.h"

namespace fathom::hw {

namespace fs = std::filesystem;

namespace {
std::vector<std::string> yaml_files(const fs::path& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}
bool iequal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}
}  // namespace

HardwareCatalog HardwareCatalog::load(const std::string& hardware_dir) {
  HardwareCatalog c;
  fs::path gpus_dir = fs::path(hardware_dir) / "gpus";
  auto gpu_files = yaml_files(gpus_dir);
  if (gpu_files.empty()) {
    throw InputError(gpus_dir.string(), "expected GPU catalog files (*.yaml), found none (set FATHOM_DATA_DIR?)");
  }
  for (const auto& f : gpu_files) {
    GpuSpec g = parse_gpu(load_yaml_file(f));
    if (g.name != fs::path(f).stem().string()) {
      throw InputError(f, "expected name '" + fs::path(f).stem().string() + "' (the file name), found '" + g.name + "'");
    }
    c.gpus_.push_back(std::move(g));
  }
  for (const auto& f : yaml_files(fs::path(hardware_dir) / "clusters")) {
    ClusterSpec cl = parse_cluster(load_yaml_file(f));
    if (c.find_gpu(cl.gpu) == nullptr) {
      throw InputError(f, "expected a catalog GPU for 'gpu', found '" + cl.gpu + "'" + did_you_mean(cl.gpu, c.gpu_names()));
    }
    c.clusters_.push_back(std::move(cl));
  }
  return c;
}

void HardwareCatalog::set_calibrated_profile(std::shared_ptr<const CalibratedProfile> p, const std::string& where) {
  if (!p) {
    for (auto& g : gpus_) g.calibrated_profile = nullptr;
    return;
  }
  for (auto& g : gpus_) {
    if (g.name == p->gpu) {
      g.calibrated_profile = std::move(p);
      return;
    }
  }
  throw ConfigError(where, "expected a profile of a catalog GPU, found one of '" + p->gpu + "'" + did_you_mean(p->gpu, gpu_names()));
}

std::string HardwareCatalog::calibrated_profiles() const {
  std::string out;
  for (const auto& g : gpus_) {
    if (!g.calibrated_profile) continue;
    out += (out.empty() ? "" : ", ") + g.name + " (" +
           (g.calibrated_profile->file.empty() ? std::string("built in") : g.calibrated_profile->file) + ")";
  }
  return out.empty() ? "none" : out;
}

const GpuSpec* HardwareCatalog::find_gpu(const std::string& name) const {
  for (const auto& g : gpus_) {
    if (iequal(g.name, name)) return &g;
    for (const auto& a : g.aliases) {
      if (iequal(a, name)) return &g;
    }
  }
  return nullptr;
}

const ClusterSpec* HardwareCatalog::find_cluster(const std::string& name) const {
  for (const auto& c : clusters_) {
    if (iequal(c.name, name)) return &c;
  }
  return nullptr;
}

std::vector<std::string> HardwareCatalog::gpu_names() const {
  std::vector<std::string> r;
  for (const auto& g : gpus_) r.push_back(g.name);
  return r;
}

std::vector<std::string> HardwareCatalog::cluster_names() const {
  std::vector<std::string> r;
  for (const auto& c : clusters_) r.push_back(c.name);
  return r;
}

const GpuSpec& HardwareCatalog::gpu(const std::string& name, const std::string& where) const {
  if (const GpuSpec* g = find_gpu(name)) return *g;
  std::vector<std::string> all = gpu_names();
  for (const auto& g : gpus_) all.insert(all.end(), g.aliases.begin(), g.aliases.end());
  throw InputError(where, "expected a GPU of the catalog, found '" + name + "'" + did_you_mean(name, all) +
                              "; `fathom catalog gpus` lists them");
}

const ClusterSpec& HardwareCatalog::cluster(const std::string& name, const std::string& where) const {
  if (const ClusterSpec* c = find_cluster(name)) return *c;
  throw InputError(where, "expected a cluster of the catalog, found '" + name + "'" +
                              did_you_mean(name, cluster_names()) + "; `fathom catalog clusters` lists them");
}

void HardwareCatalog::apply_profile_choice(const std::string& profile, const std::string& where) {
  if (profile.empty()) return;
  if (profile == "defaults") {
    set_calibrated_profile(nullptr, where);
    return;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(profile, ec)) {
    throw FlagError(where, "expected a calibrated profile file (fathom calib fit --out) or 'defaults', found '" + profile + "'");
  }
  set_calibrated_profile(std::make_shared<CalibratedProfile>(load_profile(profile)), where);
}

}  // namespace fathom::hw
