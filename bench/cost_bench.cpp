// Per-operation cost evaluations per second (configuration search needs well over a million).
// Run: build/bench/fathom_bench
#include <benchmark/benchmark.h>

#include <utility>

#include "hw/catalog.h"
#include "hw/cost.h"
#include "sim/model/model_catalog.h"
#include "sim/model/ops_builder.h"

namespace {

using namespace fathom;

struct Fixture {
  hw::HardwareCatalog hw = hw::HardwareCatalog::load(FATHOM_BENCH_DATA_DIR "/hardware");
  model::ModelCatalog models = model::ModelCatalog::load(FATHOM_BENCH_DATA_DIR "/models");
};
Fixture& fx() {
  static Fixture f;
  return f;
}

// Costing the operations of one Llama-3.1-70B training step (all kinds, collectives included).
void BM_CostPerOperation(benchmark::State& state) {
  const auto& g = *fx().hw.find_gpu("h100-sxm");
  hw::CostModel cm(g, hw::make_cluster(g, 16, 8), std::make_shared<hw::DefaultEfficiencyModel>());
  model::Layout L;
  L.tp = 8;
  L.pp = 4;
  L.dp = 4;
  auto ops = model::build_ops(*fx().models.find("llama-3.1-70b"), model::Phase::kTrain, model::Batch{1, 4096, 16}, L,
                              model::Precision{}, {});
  double sink = 0;
  for (auto _ : state) {
    for (const auto& op : ops) sink += cm.cost(op).time_s;
    benchmark::DoNotOptimize(std::as_const(sink));  // const: see fit_bench.cpp
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(ops.size()));
  state.counters["ops_per_step"] = static_cast<double>(ops.size());
}
BENCHMARK(BM_CostPerOperation);

// Costing GEMMs alone (the most frequent operation).
void BM_CostGemm(benchmark::State& state) {
  const auto& g = *fx().hw.find_gpu("h100-sxm");
  hw::CostModel cm(g, hw::make_cluster(g, 1, 8), std::make_shared<hw::DefaultEfficiencyModel>());
  hw::Op op;
  op.kind = hw::OpKind::kGemm;
  op.m = 4096;
  op.n = 8192;
  op.k = 8192;
  op.flops = 2.0 * 4096 * 8192 * 8192;
  op.bytes = (4096.0 * 8192 * 2 + 8192.0 * 8192) * 2;
  double sink = 0;
  for (auto _ : state) {
    op.m += 1;
    sink += cm.cost(op).time_s;
    benchmark::DoNotOptimize(std::as_const(sink));  // const: see fit_bench.cpp
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CostGemm);

// Building the operation list of a training step (the other half of evaluating one layout).
void BM_BuildTrainingOps(benchmark::State& state) {
  const auto& m = *fx().models.find("llama-3.1-70b");
  model::Layout L;
  L.tp = 8;
  L.pp = 4;
  L.dp = 4;
  for (auto _ : state) {
    auto ops = model::build_ops(m, model::Phase::kTrain, model::Batch{1, 4096, 16}, L, model::Precision{}, {});
    benchmark::DoNotOptimize(ops.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildTrainingOps);

}  // namespace

BENCHMARK_MAIN();
