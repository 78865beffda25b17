#include "hw/gpu.h"

#include <filesystem>
#include <system_error>

#include "common/error.h"
#include "hw/profile.h"

namespace fathom::hw {

GpuSpec parse_gpu(const YamlNode& root) {
  root.expect_keys({"name", "display_name", "vendor", "architecture", "aliases", "peak_flops", "memory",
                    "memory_bandwidth", "l2_cache", "compute_units", "boost_clock", "tdp", "intra_node",
                    "pcie_gen", "host_bandwidth_per_direction", "network_bandwidth_per_gpu",
                    "usd_per_gpu_hour", "measured", "calibrated_profile", "sources", "notes"});
  GpuSpec g;
  g.file = root.file();
  g.name = root.str("name");
  g.display_name = root.str_or("display_name", g.name);
  g.vendor = root.str("vendor");
  g.architecture = root.str_or("architecture", "");
  if (auto a = root.find("aliases")) {
    for (const auto& item : a->items()) g.aliases.push_back(item.as_string());
  }
  auto peaks = root.at("peak_flops");
  for (const auto& [key, node] : peaks.entries()) {
    DType t;
    try {
      t = parse_dtype(key);
    } catch (const std::invalid_argument& e) {
      node.fail_message(e.what());
    }
    g.peak_flops[static_cast<size_t>(t)] = node.as_quantity(Dimension::kFlopRate);
  }
  if (!g.supports(DType::kBf16) && !g.supports(DType::kFp16)) {
    peaks.fail_message("expected a bf16 or fp16 peak, found neither");
  }
  g.memory_bytes = root.quantity("memory", Dimension::kBytes);
  g.memory_bw_Bps = root.quantity("memory_bandwidth", Dimension::kByteRate);
  g.l2_bytes = root.quantity_or("l2_cache", Dimension::kBytes, 0.0);
  g.compute_units = root.small_count("compute_units", 1 << 20);
  g.boost_clock_Hz = root.quantity_or("boost_clock", Dimension::kFrequency, 0.0);
  g.tdp_W = root.quantity_or("tdp", Dimension::kPower, 0.0);
  auto link = root.at("intra_node");
  link.expect_keys({"kind", "bandwidth_per_direction", "gpus_per_node", "switched", "in_network_reduction"});
  g.intra_node.kind = link.str("kind");
  g.intra_node.bandwidth_per_direction_Bps = link.quantity("bandwidth_per_direction", Dimension::kByteRate);
  g.intra_node.gpus_per_node = link.small_count("gpus_per_node", 4096);
  g.intra_node.switched = link.flag_or("switched", false);
  g.intra_node.in_network_reduction = link.flag_or("in_network_reduction", false);
  // Optional figures (not published for every part): 0 means unknown.
  if (root.has("pcie_gen")) g.pcie_gen = root.small_count("pcie_gen", 16);
  g.host_bw_Bps = root.quantity_or("host_bandwidth_per_direction", Dimension::kByteRate, 0.0);
  g.network_bw_per_gpu_Bps = root.quantity_or("network_bandwidth_per_gpu", Dimension::kByteRate, 0.0);
  if (auto p = root.find("usd_per_gpu_hour")) g.usd_per_gpu_hour = p->as_positive_number();
  if (auto m = root.find("measured")) {
    m->expect_keys({"gemm_bf16", "gemm_fp8", "memory_copy", "attention_bf16"});
    if (auto v = m->find("gemm_bf16")) g.measured.gemm_bf16_flops = v->as_quantity(Dimension::kFlopRate);
    if (auto v = m->find("gemm_fp8")) g.measured.gemm_fp8_flops = v->as_quantity(Dimension::kFlopRate);
    if (auto v = m->find("memory_copy")) g.measured.memory_copy_Bps = v->as_quantity(Dimension::kByteRate);
    if (auto v = m->find("attention_bf16")) g.measured.attention_bf16_flops = v->as_quantity(Dimension::kFlopRate);
  }
  auto sources = root.at("sources");
  for (const auto& [key, node] : sources.entries()) g.sources[key] = node.as_string();
  for (const char* field : {"peak_flops", "memory", "memory_bandwidth", "l2_cache", "compute_units", "boost_clock",
                            "tdp", "intra_node", "pcie_gen", "host_bandwidth_per_direction",
                            "network_bandwidth_per_gpu", "usd_per_gpu_hour", "measured", "calibrated_profile"}) {
    if (root.has(field) && g.sources.count(field) == 0) {
      sources.fail_message(std::string("expected a source for '") + field + "', found none");
    }
  }
  if (auto v = root.find("calibrated_profile")) {
    std::filesystem::path path(v->as_string());
    if (path.is_relative() && !root.file().empty()) path = std::filesystem::path(root.file()).parent_path() / path;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) v->fail("a calibrated profile file (fathom calib fit --out)");
    auto profile = std::make_shared<CalibratedProfile>(load_profile(path.string()));
    if (profile->synthetic) {
      v->fail_message("expected a profile fitted to measurements of a real GPU, found one of synthetic data (" +
                      path.string() + ")");
    }
    check_profile_matches(*profile, g, v->where());
    g.calibrated_profile = std::move(profile);
  }
  return g;
}

}  // namespace fathom::hw
