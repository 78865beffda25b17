// Serving simulation speed: 1,000,000 requests of Llama-3.1-8B on one H100 (the issue's
// acceptance run), with the event engine alone as the baseline of the same run.
// Run: build/bench/fathom_bench --benchmark_filter=Serve
#include <benchmark/benchmark.h>

#include <utility>

#include "common/yaml.h"
#include "hw/catalog.h"
#include "sim/des/engine.h"
#include "sim/model/model_catalog.h"
#include "sim/scenario.h"
#include "sim/serve/simulator.h"

namespace {

using namespace fathom;

struct ServeFixture {
  hw::HardwareCatalog hw = hw::HardwareCatalog::load(FATHOM_BENCH_DATA_DIR "/hardware");
  model::ModelCatalog models = model::ModelCatalog::load(FATHOM_BENCH_DATA_DIR "/models");
  // Llama-3.1-8B on one H100 under the vLLM (V1) engine: lognormal lengths around 1,000 in and
  // 250 out; `arrival` is filled in.
  sim::Scenario make(const std::string& arrival, int64_t requests, const std::string& scheduler = "") const {
    const std::string text = "model: llama-3.1-8b\nhardware: {gpu: h100-sxm, nodes: 1, gpus_per_node: 1}\nserve:\n"
                             "  parallel: {tp: 1}\n  engine: vllm\n" +
                             (scheduler.empty() ? "" : "  scheduler: {name: " + scheduler + "}\n") +
                             "  workload:\n    requests: " + std::to_string(requests) + "\n    arrival: " + arrival +
                             "\n    input_tokens: {dist: lognormal, median: 1000, sigma: 0.8, max: 8192}\n"
                             "    output_tokens: {dist: lognormal, median: 250, sigma: 0.9, max: 4096}\n";
    return sim::parse_scenario(parse_yaml(text, "bench.yaml"), hw, models);
  }
  // Capacity: requests/s when 20,000 requests are all queued at once.
  double capacity(const std::string& scheduler) const {
    serve::ServeOptions o;
    o.keep_records = false;
    return serve::simulate(make("{process: all_at_once}", 20000, scheduler), o).request_throughput;
  }
};
ServeFixture& sfx() {
  static ServeFixture f;
  return f;
}

void run_at_80_percent(benchmark::State& state, const std::string& scheduler) {
  const double cap = sfx().capacity(scheduler);
  const auto s = sfx().make("{process: poisson, rate_per_s: " + std::to_string(0.8 * cap) + "}", state.range(0), scheduler);
  int64_t iterations = 0, requests = 0;
  for (auto _ : state) {
    const auto r = serve::simulate(s);
    iterations = r.iterations;
    requests = r.completed;
    benchmark::DoNotOptimize(std::as_const(r).ttft.p99);  // const: see fit_bench.cpp
  }
  state.counters["capacity_req_per_s"] = cap;
  state.counters["requests"] = static_cast<double>(requests);
  state.counters["iterations"] = static_cast<double>(iterations);
  state.counters["requests_per_s"] = benchmark::Counter(static_cast<double>(requests * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["iterations_per_s"] =
      benchmark::Counter(static_cast<double>(iterations * state.iterations()), benchmark::Counter::kIsRate);
}

// The acceptance run: 1,000,000 requests, Poisson at 80% of capacity, the vLLM V1 engine
// (chunked prefill); and the same under the vLLM V0 scheduler (prefills first).
void BM_Serve1MVllm(benchmark::State& state) { run_at_80_percent(state, ""); }
BENCHMARK(BM_Serve1MVllm)->Arg(1000000)->Unit(benchmark::kSecond)->Iterations(1);
void BM_Serve1MVllmV0Scheduler(benchmark::State& state) { run_at_80_percent(state, "vllm"); }
BENCHMARK(BM_Serve1MVllmV0Scheduler)->Arg(1000000)->Unit(benchmark::kSecond)->Iterations(1);
// Smaller runs: the cost per request does not grow with the run's length.
BENCHMARK(BM_Serve1MVllm)->Arg(10000)->Unit(benchmark::kMillisecond)->Name("BM_Serve10kVllm");

// Baseline of the same run: the event engine alone, pushing and popping as many events as the
// 1M-request simulation handles (one per arrival and one per engine iteration), with nothing
// else to do.
void BM_EventEngineBaseline(benchmark::State& state) {
  const int64_t n = state.range(0);
  for (auto _ : state) {
    des::Simulator sim;
    des::Rng rng(1, 1);
    int64_t handled = 0;
    sim.at(0, 0, 0);
    sim.run([&](const des::Event& e) {
      if (++handled < n) sim.after(1 + static_cast<des::TimeNs>(rng.below(1000)), static_cast<int32_t>(e.kind & 1), e.kind ^ 1);
    });
    benchmark::DoNotOptimize(handled);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_EventEngineBaseline)->Arg(7000000)->Unit(benchmark::kMillisecond);

}  // namespace
