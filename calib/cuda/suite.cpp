// run_suite on a CUDA GPU: checks that a device answers, records its provenance (CUDA and
// NVML), then runs the sections of the suite in order (docs/calibration.md).
#include "calib/suite_module.h"

#include <cuda_runtime_api.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "calib/cuda/bench.h"
#include "calib/cuda/cuda_util.h"
#include "calib/cupti/nvml.h"
#include "calib/cupti/tracer.h"
#include "common/version.h"

namespace fathom::calib {

namespace {

// CUDA encodes versions as 1000·major + 10·minor (13000 is "13.0").
std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

// "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", the form nvidia-smi and NVML print.
std::string uuid_text(const cudaUUID_t& u) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string s = "GPU-";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    const auto b = static_cast<unsigned char>(u.bytes[i]);
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

void validate(const SuitePlan& p) {
  if (p.repeats < 1)
    throw std::invalid_argument("suite plan: expected repeats ≥ 1, found " + std::to_string(p.repeats));
  if (p.warmup < 0) throw std::invalid_argument("suite plan: expected warmup ≥ 0, found " + std::to_string(p.warmup));
  if (!std::isfinite(p.rotate_factor) || p.rotate_factor < 0) {
    throw std::invalid_argument("suite plan: expected a finite rotate_factor ≥ 0, found " +
                                std::to_string(p.rotate_factor));
  }
}

std::string optional_text(const std::optional<double>& v, const std::string& unit) {
  return v ? std::to_string(static_cast<int64_t>(std::lround(*v))) + " " + unit : "unknown";
}

}  // namespace

int64_t run_suite_on_gpu(const SuitePlan& plan, store::CalibStore& db, int device, const Progress& progress) {
  validate(plan);
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    throw NoGpuError(std::string("no CUDA GPU: cudaGetDeviceCount returned ") + cudaGetErrorString(e) + " (" +
                     std::to_string(static_cast<int>(e)) + ")");
  }
  if (count <= 0) throw NoGpuError("no CUDA GPU: cudaGetDeviceCount found 0 devices");
  if (device < 0 || device >= count) {
    throw NoGpuError("no CUDA GPU " + std::to_string(device) + ": expected a device index from 0 to " +
                     std::to_string(count - 1) + " (" + std::to_string(count) + " found)");
  }

  // Before anything is written: a tracer that cannot start leaves no empty run behind.
  std::unique_ptr<cupti::ActivityTracer> tracer;
  try {
    tracer = std::make_unique<cupti::ActivityTracer>(
        cupti::TracerOptions{.memcpy = false, .markers = false, .devices = false});
  } catch (const std::exception& ex) {
    throw std::runtime_error(std::string("CUPTI activity tracer: ") + ex.what());
  }

  using cuda::check_cuda;
  const std::string dev = std::to_string(device);
  check_cuda(cudaSetDevice(device), "cudaSetDevice(" + dev + ")");
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties(" + dev + ")");
  int driver = 0, runtime = 0;
  check_cuda(cudaDriverGetVersion(&driver), "cudaDriverGetVersion");
  check_cuda(cudaRuntimeGetVersion(&runtime), "cudaRuntimeGetVersion");
  char bus[64] = {};
  check_cuda(cudaDeviceGetPCIBusId(bus, static_cast<int>(sizeof bus), device), "cudaDeviceGetPCIBusId(" + dev + ")");
  const std::string pci = bus;
  std::string nvml_why;
  const std::optional<nvml::DeviceInfo> info = nvml::query(pci, &nvml_why);

  store::DeviceRecord d;
  d.uuid = uuid_text(prop.uuid);
  d.name = prop.name;
  d.sm_count = prop.multiProcessorCount;
  d.memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
  d.compute_capability = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  const int64_t device_id = db.add_device(d);

  store::CalibRunRecord run;
  run.device_id = device_id;
  run.kind = "microbench";
  run.source = "fathom calib run (suite: " + std::to_string(plan.benchmark_count()) + " benchmarks)";
  run.host = fathom::host_name();
  run.fathom_version = fathom::version();
  run.cuda_version = version_text(runtime);
  std::string notes =
      "CUDA driver API " + version_text(driver) + ", runtime " + version_text(runtime) + "; PCI " + pci + "; L2 " +
      std::to_string(prop.l2CacheSize) + " bytes; working set ≥ " + cuda::number_text(plan.rotate_factor) +
      " × L2 per benchmark (rotated buffer copies, ≤ 40% of free memory); warmup " + std::to_string(plan.warmup) +
      ", repeats " + std::to_string(plan.repeats) + " (median stored); seed " + std::to_string(plan.seed) +
      "; GEMMs: cuBLASLt heuristic's first algorithm, TN layout (weight [n,k]), 32 MiB workspace, "
      "fp8 e4m3 with unit scales and bf16 output; times: CUPTI kernel records, first start to last "
      "end per repeat; dropped CUPTI records are reported on stderr";
  if (info) {
    run.driver_version = info->driver_version;
    run.sm_clock_start_mhz = info->clocks.sm_mhz;
    run.memory_clock_mhz = info->clocks.memory_mhz;
    notes += "; power limit " + optional_text(info->power_limit_w, "W") + ", temperature at start " +
             optional_text(info->temperature_c, "C");
  } else {
    notes += "; NVML unavailable (" + (nvml_why.empty() ? std::string("no reason given") : nvml_why) +
             "): no driver version or clocks";
  }
  run.notes = notes;
  const int64_t run_id = db.add_run(run);
  const auto finish = [&] { db.finish_run(run_id, nvml::clocks(pci).sm_mhz); };

  const cuda::DeviceFacts facts{device, prop.multiProcessorCount, prop.major, prop.minor,
                                static_cast<size_t>(prop.l2CacheSize)};
  try {
    cuda::Bench bench(plan, facts, *tracer, db, run_id, progress);
    try {
      // GEMMs last: they are most of the run, bounded by the time budget, and a failure among
      // them must not cost the short sections after it.
      for (void (*section)(cuda::Bench&) :
           {cuda::run_launch, cuda::run_memory, cuda::run_rowwise, cuda::run_attention, cuda::run_gemms}) {
        if (bench.cancelled()) break;
        section(bench);
      }
    } catch (...) {
      try {
        bench.flush();  // keep what was measured before the failure
      } catch (...) {
      }
      throw;
    }
    bench.flush();
    if (const uint64_t dropped = tracer->dropped(); dropped > 0) {
      bench.note("CUPTI dropped " + std::to_string(dropped) + " activity records during the run");
    }
  } catch (...) {
    try {
      finish();
    } catch (...) {  // the first error is the one worth reporting
    }
    throw;
  }
  finish();
  return run_id;
}

}  // namespace fathom::calib
