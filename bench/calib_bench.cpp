// Calibration speed on the host: fitting a profile (every kind, 5-fold held-out error) to the
// quick synthetic plan, and pricing every measurement through the cost chain for the report,
// with one PyTorch-trace import; the report's pricing is the baseline of the same run.
// Run: build/bench/fathom_bench --benchmark_filter=Calib
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>

#include "calib/profile_fit.h"
#include "calib/report.h"
#include "calib/synthetic.h"
#include "calib/torch_trace.h"
#include "hw/catalog.h"

namespace {

using namespace fathom;

struct CalibFixture {
  hw::GpuSpec gpu;
  store::DeviceRecord device;
  std::vector<store::MeasurementRecord> ms;
  hw::CalibratedProfile profile;
  CalibFixture() {
    const auto cat = hw::HardwareCatalog::load(FATHOM_BENCH_DATA_DIR "/hardware");
    gpu = *cat.find_gpu("h200-sxm");
    const auto path = std::filesystem::temp_directory_path() / ("fathom_bench_calib_" + std::to_string(::getpid()) + ".sqlite");
    std::filesystem::remove(path);
    {
      store::CalibStore db = store::CalibStore::open(path.string());
      calib::generate_synthetic(calib::default_plan(true), gpu, db, {});
      device = db.devices().at(0);
      ms = db.measurements();
    }
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + s);
    profile = calib::fit_profile(ms, gpu, device, {}, "bench").profile;
  }
};
CalibFixture& cfx() {
  static CalibFixture f;
  return f;
}

void BM_CalibFitProfile(benchmark::State& state) {
  auto& f = cfx();
  calib::ProfileFitOptions o;
  o.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto pf = calib::fit_profile(f.ms, f.gpu, f.device, o, "bench");
    benchmark::DoNotOptimize(pf.groups.size());
  }
  state.counters["measurements"] = static_cast<double>(f.ms.size());
}
BENCHMARK(BM_CalibFitProfile)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CalibReportBaseline(benchmark::State& state) {
  auto& f = cfx();
  for (auto _ : state) {
    auto r = calib::make_report(f.ms, f.gpu, &f.profile);
    benchmark::DoNotOptimize(r.rows.size());
  }
}
BENCHMARK(BM_CalibReportBaseline)->Unit(benchmark::kMicrosecond);

void BM_CalibImportTorchTrace(benchmark::State& state) {
  const std::string path = FATHOM_BENCH_DATA_DIR "/../tests/data/calib/torch_trace_small.json";
  for (auto _ : state) {
    auto imp = calib::import_torch_trace(path);
    benchmark::DoNotOptimize(imp.measurements.size());
  }
}
BENCHMARK(BM_CalibImportTorchTrace)->Unit(benchmark::kMicrosecond);

}  // namespace
