// Training configuration evaluations per second, and the time of a full layout search.
// Run: build/bench/fathom_bench --benchmark_filter=Train
#include <benchmark/benchmark.h>

#include <vector>

#include "hw/catalog.h"
#include "sim/model/model_catalog.h"
#include "sim/train/search.h"

namespace {

using namespace fathom;

struct TrainFixture {
  hw::HardwareCatalog hw = hw::HardwareCatalog::load(FATHOM_BENCH_DATA_DIR "/hardware");
  model::ModelCatalog models = model::ModelCatalog::load(FATHOM_BENCH_DATA_DIR "/models");
  const hw::ClusterSpec& cluster() const { return *hw.find_cluster("dgx-a100-selene"); }
  train::TrainModel make() const {
    const auto& cl = cluster();
    return train::TrainModel(*models.find("gpt-3-175b"), *hw.find_gpu(cl.gpu), cl, model::Precision{});
  }
  // Valid GPT-3 175B layouts on 1,024 GPUs: tp × pp × dp, microbatch, interleaving,
  // recomputation and ZeRO stage, as the search enumerates them.
  std::vector<train::TrainConfig> configs() const {
    std::vector<train::TrainConfig> out;
    const auto& m = *models.find("gpt-3-175b");
    for (int tp : {1, 2, 4, 8})
      for (int pp : {1, 2, 4, 8, 16})
        for (int64_t mb : {1, 2, 4})
          for (int v : {1, 2})
            for (auto rc : {model::Recompute::kNone, model::Recompute::kSelective, model::Recompute::kFull})
              for (int z : {0, 1, 3}) {
                train::TrainConfig c;
                c.layout.tp = tp;
                c.layout.pp = pp;
                c.layout.dp = 1024 / (tp * pp);
                c.layout.sequence_parallel = tp > 1;
                c.seq_len = 2048;
                c.global_batch = 1536;
                c.microbatch = mb;
                c.virtual_stages = v;
                c.recompute = rc;
                c.zero = z;
                if (!train::check_config(m, c, 1024)) out.push_back(c);
              }
    return out;
  }
};
TrainFixture& tfx() {
  static TrainFixture f;
  return f;
}

// Evaluations with the per-layer costs memoised, as inside a search (the cache is warmed by
// the first pass over the configurations).
void BM_TrainEvaluate(benchmark::State& state) {
  const auto model = tfx().make();
  const auto configs = tfx().configs();
  for (const auto& c : configs) benchmark::DoNotOptimize(model.evaluate(c).time.step);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.evaluate(configs[i]).time.step);
    if (++i == configs.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["configs"] = static_cast<double>(configs.size());
}
BENCHMARK(BM_TrainEvaluate);

// The baseline of the same run: an evaluation from a cold model (operations built and costed).
void BM_TrainEvaluateCold(benchmark::State& state) {
  const auto configs = tfx().configs();
  size_t i = 0;
  for (auto _ : state) {
    const auto model = tfx().make();
    benchmark::DoNotOptimize(model.evaluate(configs[i]).time.step);
    if (++i == configs.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TrainEvaluateCold);

// The full search of `fathom train --search` for GPT-3 175B on 1,024 A100: every tp, pp, cp,
// dp, microbatch, interleaving, recomputation and ZeRO stage, with the default memory headroom.
void BM_TrainSearchGpt3On1024(benchmark::State& state) {
  train::TrainConfig base;
  base.seq_len = 2048;
  base.global_batch = 1536;
  train::SearchOptions o;
  o.gpu_counts = {1024};
  int64_t costed = 0;
  for (auto _ : state) {
    const auto model = tfx().make();
    auto r = train::search(model, base, o);
    // Evaluated (feasible, over memory or within the headroom) plus those rejected before costing.
    costed = r.evaluated + r.rejected_total - r.rejected["memory"].count - r.rejected["memory headroom"].count;
    benchmark::DoNotOptimize(r.top.front().time.step);
  }
  state.counters["configurations"] = static_cast<double>(costed);
  state.SetItemsProcessed(state.iterations() * costed);
}
BENCHMARK(BM_TrainSearchGpt3On1024)->Unit(benchmark::kMillisecond);

}  // namespace
