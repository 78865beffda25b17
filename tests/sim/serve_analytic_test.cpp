// The serving analysis without simulating (sim/serve/analytic.h) and the streamed latency
// distributions (sim/serve/latency_cdf.h): the memory and KV capacity the simulator runs with,
// the typical batch from closed-form workload means, the iteration `fathom estimate` prices for
// the same `serve.iteration`, the binding resource, and CDFs whose percentiles are the run's.
#include <gtest/gtest.h>

#include <cmath>

#include "catalog_fixture.h"
#include "sim/estimate.h"
#include "sim/scenario.h"
#include "sim/serve/analytic.h"
#include "sim/serve/latency_cdf.h"
#include "sim/serve/simulator.h"

namespace fathom::serve {

namespace {

// The built-in example of the GUI's Serve page (data/scenarios/llama3.1-8b-serve-h100.yaml) with
// `requests` requests.
sim::Scenario example(int64_t requests, const std::vector<YamlOverride>& more = {}) {
  sim::ResolveOptions o;
  o.overrides.push_back({"serve.workload.requests", std::to_string(requests), "test"});
  for (const auto& m : more) o.overrides.push_back(m);
  return sim::load_scenario(data_dir() + "/scenarios/llama3.1-8b-serve-h100.yaml", test::hardware(), test::models(), o);
}

}  // namespace

TEST(ServeAnalysis, MemoryAndKvCapacityAreTheSimulatorsOwn) {
  const sim::Scenario s = example(300);
  const ServeAnalysis a = analyze_serving(s);
  const ServeResult r = simulate(s);
  EXPECT_EQ(a.memory.weights, r.weights_bytes);
  EXPECT_EQ(a.memory.activations, r.activation_bytes);
  EXPECT_EQ(a.memory.runtime, r.runtime_bytes);
  EXPECT_EQ(a.memory.kv, r.kv_bytes);
  EXPECT_EQ(a.kv_tokens, r.kv_tokens);
  EXPECT_EQ(a.hbm_bytes, r.gpu_memory_bytes);
  // Llama-3.1-8B: 32 layers × 8 KV heads × 128 dims × K and V × 2 bytes (bf16) = 131,072 B/token.
  EXPECT_EQ(a.memory.kv_token, 131072.0);
  EXPECT_EQ(a.kv_tokens % 16, 0);
}

TEST(ServeAnalysis, TypicalBatchComesFromTheLognormalMeans) {
  const ServeAnalysis a = analyze_serving(example(300));
  // Lognormal mean = median · e^(σ²/2): 1000 · e^0.32 and 250 · e^0.405 (both below their max).
  EXPECT_NEAR(a.mean_input, 1000 * std::exp(0.32), 1e-9);
  EXPECT_NEAR(a.mean_output, 250 * std::exp(0.405), 1e-9);
  const auto kv_batch = static_cast<int64_t>(std::floor(static_cast<double>(a.kv_tokens) / (a.mean_input + a.mean_output)));
  EXPECT_EQ(a.kv_batch, kv_batch);
  // vLLM on an 80 GB H100 allows 1024 sequences: the KV cache caps the batch first.
  EXPECT_EQ(a.max_seqs, 1024);
  EXPECT_LT(a.kv_batch, a.max_seqs);
  EXPECT_EQ(a.batch, kv_batch);
  EXPECT_EQ(a.batch_limit, "KV cache");
  EXPECT_EQ(a.length, std::llround(a.mean_input + a.mean_output / 2));
  EXPECT_EQ(a.phase, "decode");
  EXPECT_FALSE(a.scenario_iteration);
}

TEST(ServeAnalysis, TheIterationIsWhatFathomEstimatePricesForTheSameIteration) {
  const ServeAnalysis a = analyze_serving(example(300));
  sim::ResolveOptions o;
  o.overrides.push_back({"serve.iteration", a.iteration_yaml, "test"});
  const sim::Scenario s = sim::load_scenario(data_dir() + "/scenarios/llama3.1-8b-serve-h100.yaml", test::hardware(),
                                             test::models(), o);
  const sim::EstimateResult e = sim::estimate(s, sim::EstimateKind::kServeIteration);
  EXPECT_EQ(a.iteration.total_s, e.total_s);
  EXPECT_EQ(a.iteration.memory_bound_s, e.memory_bound_s);
  EXPECT_EQ(a.iteration.compute_bound_s, e.compute_bound_s);
  // A decode step of ~100 sequences of an 8B model on one H100 reads the weights and the KV
  // cache: memory-bound (Williams et al. 2009 roofline; decode arithmetic intensity ≈ batch).
  EXPECT_EQ(a.bound, "memory");
  EXPECT_GT(a.bound_share, 0.5);
  EXPECT_NE(a.binding.find("memory bandwidth"), std::string::npos);
  EXPECT_EQ(a.binding_resource, "memory bandwidth");
}

TEST(ServeAnalysis, AScenarioIterationIsPricedAsGiven) {
  const sim::Scenario s = sim::load_scenario(data_dir() + "/scenarios/llama3.1-70b-decode-h100.yaml", test::hardware(),
                                             test::models());
  const ServeAnalysis a = analyze_serving(s);
  EXPECT_TRUE(a.scenario_iteration);
  EXPECT_EQ(a.batch, 64);
  EXPECT_EQ(a.length, 2048);
  EXPECT_EQ(a.iteration.total_s, sim::estimate(s, sim::EstimateKind::kServeIteration).total_s);
  EXPECT_EQ(a.iteration_yaml, "{phase: decode, sequences: 64, context: 2048}");
  EXPECT_EQ(a.offered_req_per_s, 0);
  EXPECT_FALSE(a.notes.empty());
}

TEST(ServeAnalysis, Fp8WeightsFreeTheirBytesForTheKvCache) {
  const ServeAnalysis bf16 = analyze_serving(example(300));
  const ServeAnalysis fp8 = analyze_serving(example(300, {{"precision.weights", "fp8", "test"}}));
  EXPECT_LT(fp8.memory.weights, bf16.memory.weights);
  // vLLM sizes the cache from what is left of 90% of HBM: the weights' saving moves to the KV
  // cache, to within one block of 16 tokens.
  const double freed_tokens = (bf16.memory.weights - fp8.memory.weights) / bf16.memory.kv_token;
  EXPECT_NEAR(static_cast<double>(fp8.kv_tokens - bf16.kv_tokens), freed_tokens, 16.0);
  EXPECT_LT(fp8.iteration.total_s, bf16.iteration.total_s * 1.5);
}

TEST(ServeAnalysis, AnOfferedRateAboveTheBestCaseIsNamedAsTheBindingResource) {
  const ServeAnalysis ok = analyze_serving(example(300));
  EXPECT_EQ(ok.offered_req_per_s, 10);
  EXPECT_GT(ok.capacity_req_per_s, ok.offered_req_per_s);
  EXPECT_EQ(ok.binding.rfind("capacity", 0), std::string::npos);
  const ServeAnalysis over = analyze_serving(example(300, {{"serve.workload.arrival.rate_per_s", "1000", "test"}}));
  EXPECT_EQ(over.binding.rfind("capacity", 0), 0u);
  EXPECT_EQ(over.binding_resource.rfind("capacity", 0), 0u);
  // The best case: 1 / (Ī / prefill tokens/s + Ō / decode tokens/s) per replica.
  const double t = ok.mean_input / ok.prefill_tokens_per_s + ok.mean_output / ok.decode_tokens_per_s;
  EXPECT_NEAR(ok.capacity_req_per_s, 1 / t, 1e-12 / t);
}

TEST(ServeAnalysis, TheFrontierTradesInteractivityForThroughput) {
  const sim::Scenario s = example(300);
  const ServeAnalysis a = analyze_serving(s);
  const auto f = interactivity_frontier(s, a, 10);
  ASSERT_GE(f.size(), 5u);
  EXPECT_EQ(f.front().batch, 1);
  EXPECT_EQ(f.back().batch, a.kv_batch);
  for (size_t i = 1; i < f.size(); ++i) {
    EXPECT_GT(f[i].batch, f[i - 1].batch);
    EXPECT_GT(f[i].tokens_per_s_per_gpu, f[i - 1].tokens_per_s_per_gpu);
    EXPECT_LT(f[i].tokens_per_s_per_user, f[i - 1].tokens_per_s_per_user);
  }
  bool typical = false;
  for (const auto& p : f) typical = typical || (p.batch == a.decode_batch && p.iteration_s == a.decode_iteration_s);
  EXPECT_TRUE(typical);
}

TEST(LatencyDistributions, StreamedRequestsGiveTheRunsOwnPercentiles) {
  const sim::Scenario s = example(600);
  LatencyDistributions d;
  ServeOptions o;
  o.on_request_done = [&](int64_t, const RequestRecord& r) { d.add(r); };
  const ServeResult r = simulate(s, o);
  auto same = [](const Percentiles& a, const Percentiles& b) {
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.mean, b.mean);
    EXPECT_EQ(a.p50, b.p50);
    EXPECT_EQ(a.p90, b.p90);
    EXPECT_EQ(a.p99, b.p99);
    EXPECT_EQ(a.max, b.max);
  };
  same(d.ttft().summary(), r.ttft);
  same(d.tpot().summary(), r.tpot);
  same(d.e2e().summary(), r.e2e);
  same(d.queueing().summary(), r.queueing);
  const auto c = cdf(d.ttft(), 100);
  ASSERT_EQ(c.size(), 103u);
  for (size_t i = 1; i < c.size(); ++i) {
    EXPECT_GE(c[i].value_s, c[i - 1].value_s);
    EXPECT_GT(c[i].fraction, c[i - 1].fraction);
  }
  EXPECT_EQ(c.back().fraction, 1.0);
  EXPECT_EQ(c.back().value_s, r.ttft.max);
  for (const auto& p : c) {
    if (p.fraction == 0.99) {
      EXPECT_EQ(p.value_s, r.ttft.p99);
    }
    if (p.fraction == 0.5) {
      EXPECT_EQ(p.value_s, r.ttft.p50);
    }
  }
  EXPECT_TRUE(cdf(LogHistogram{}).empty());
}

}  // namespace fathom::serve
