// The serving simulator: the event engine, workloads, engine invariants, queueing theory,
// published throughput and the long-context cost chain.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "catalog_fixture.h"
#include "common/error.h"
#include "common/version.h"
#include "common/yaml.h"
#include "sim/des/engine.h"
#include "sim/scenario.h"
#include "sim/serve/cost.h"
#include "sim/serve/simulator.h"
#include "sim/serve/validate.h"
#include "sim/serve/workload.h"

namespace fathom::serve {

namespace {

sim::Scenario scenario(const std::string& serve_yaml, const std::string& model = "llama-3.1-8b",
                       const std::string& gpu = "h100-sxm", int gpus = 8) {
  const std::string text = "model: " + model + "\nhardware: {gpu: " + gpu + ", nodes: 1, gpus_per_node: " +
                           std::to_string(gpus) + "}\nserve:\n" + serve_yaml;
  return sim::parse_scenario(parse_yaml(text, "test.yaml"), test::hardware(), test::models());
}

const char* kBatched = R"(  parallel: {tp: 1}
  engine: vllm
  workload:
    requests: 3000
    arrival: {process: poisson, rate_per_s: 8}
    input_tokens: {dist: lognormal, median: 800, sigma: 0.7, max: 8000}
    output_tokens: {dist: lognormal, median: 200, sigma: 0.8, max: 2000}
    seed: 7
)";

std::string requests_csv(const ServeResult& r) {
  std::ostringstream os;
  write_requests_csv(os, r);
  return os.str();
}

}  // namespace

// --- Event engine ---------------------------------------------------------------------------

TEST(Des, SimultaneousEventsRunByPriorityThenInsertionOrder) {
  des::Simulator sim;
  std::vector<uint64_t> order;
  sim.at(10, 2, 0, 1);
  sim.at(10, 1, 0, 2);
  sim.at(5, 9, 0, 3);
  sim.at(10, 1, 0, 4);
  sim.at(10, 2, 0, 5);
  sim.run([&](const des::Event& e) {
    order.push_back(e.payload);
    if (e.payload == 3) sim.after(5, 1, 0, 6);  // lands at 10 with priority 1, after 2 and 4
  });
  EXPECT_EQ(order, (std::vector<uint64_t>{3, 2, 4, 6, 1, 5}));
  EXPECT_EQ(sim.now(), 10);
  EXPECT_EQ(sim.events(), 6u);
}

TEST(Des, ClockIsIntegerNanoseconds) {
  EXPECT_EQ(des::to_ns(1.5), 1'500'000'000);
  EXPECT_EQ(des::to_ns(1e-10), 1);  // a positive duration is never zero
  EXPECT_EQ(des::to_ns(0), 0);
  EXPECT_DOUBLE_EQ(des::to_s(2'500'000'000), 2.5);
}

TEST(Des, RandomStreamsAreSeededAndIndependent) {
  des::Rng a(42, 1), b(42, 1), c(42, 2), d(43, 1);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
    EXPECT_NE(x, d.next());
  }
}

TEST(Des, DistributionMomentsMatch) {
  des::Rng r(1, 1);
  const int n = 400000;
  double su = 0, se = 0, sn = 0, sn2 = 0, sg = 0, sg2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    se += r.exponential();
    const double z = r.normal();
    sn += z;
    sn2 += z * z;
    const double g = r.gamma(0.25);  // cv = 2
    sg += g;
    sg2 += g * g;
    ASSERT_LT(r.below(7), 7u);
  }
  EXPECT_NEAR(su / n, 0.5, 0.003);
  EXPECT_NEAR(se / n, 1.0, 0.01);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.01);
  EXPECT_NEAR(sg / n, 0.25, 0.005);
  EXPECT_NEAR(sg2 / n - (sg / n) * (sg / n), 0.25, 0.02);  // variance of Gamma(k) = k
}

// --- Workloads ------------------------------------------------------------------------------

TEST(Workload, LengthDistributionsStayInRangeWithTheirMeans) {
  auto parse = [](const std::string& y) {
    WorkloadSpec w = parse_workload(parse_yaml("requests: 1\narrival: {process: all_at_once}\ninput_tokens: " + y +
                                                   "\noutput_tokens: 1\n",
                                               "w.yaml"),
                                    100000);
    return w.input;
  };
  des::Rng r(3, 3);
  struct Case {
    std::string yaml;
    double mean, tol;
    int64_t lo, hi;
  };
  for (const Case& c : {Case{"{dist: uniform, low: 10, high: 20}", 15, 0.1, 10, 20},
                        Case{"{dist: geometric, mean: 50}", 50, 1.0, 1, 100000},
                        Case{"{dist: lognormal, median: 100, sigma: 0.5}", 100 * std::exp(0.125), 2.0, 1, 99999},
                        Case{"{dist: normal, mean: 300, sd: 30, min: 200, max: 400}", 300, 1.0, 200, 400},
                        Case{"{dist: zipf, s: 1.1, min: 1, max: 1000}", -1, 0, 1, 1000},
                        Case{"{dist: empirical, bins: [1, 100, 1000], weights: [3, 1]}", -1, 0, 1, 1000}}) {
    const LengthDist d = parse(c.yaml);
    double sum = 0;
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
      const int64_t v = d.sample(r);
      ASSERT_GE(v, c.lo) << c.yaml;
      ASSERT_LE(v, c.hi) << c.yaml;
      sum += static_cast<double>(v);
    }
    const double expected = c.mean > 0 ? c.mean : d.mean();
    EXPECT_NEAR(sum / n / expected, 1.0, c.mean > 0 ? c.tol / c.mean + 0.01 : 0.03) << c.yaml;
  }
}

TEST(Workload, BadDistributionNamesFileAndLine) {
  try {
    parse_workload(parse_yaml("requests: 1\narrival: {process: poisson, rate_per_s: 1}\ninput_tokens: {dist: weibull}\n"
                              "output_tokens: 1\n",
                              "w.yaml"),
                   1000);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("w.yaml:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("lognormal"), std::string::npos) << e.what();
  }
}

TEST(Workload, TraceAcceptsAzureColumnsAndDateTimes) {
  const auto dir = std::filesystem::temp_directory_path() / "fathom_trace_test";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "azure.csv").string();
  std::ofstream(path) << "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                         "2023-11-16 18:15:46.6805900,374,44\n"
                         "2023-11-16 18:15:50.9951690,396,109\n"
                         "2023-11-16 18:16:01.0000000,879,0\n";
  const auto rows = load_trace(path, 8192);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_DOUBLE_EQ(rows[0].time_s, 0.0);
  EXPECT_NEAR(rows[1].time_s, 4.314579, 1e-6);
  EXPECT_NEAR(rows[2].time_s, 14.31942, 1e-5);
  EXPECT_EQ(rows[1].input, 396);
  EXPECT_EQ(rows[2].output, 1);  // a request always yields its first token
}

TEST(Workload, TraceErrorsNameTheLine) {
  const auto dir = std::filesystem::temp_directory_path() / "fathom_trace_test";
  std::filesystem::create_directories(dir);
  auto expect_error = [&](const std::string& body, const std::string& what) {
    const auto path = (dir / "bad.csv").string();
    std::ofstream(path) << body;
    try {
      load_trace(path, 8192);
      FAIL() << body;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error("timestamp,input_tokens,output_tokens\n0,10,5\n1,-3,5\n", "bad.csv:3");
  expect_error("timestamp,input_tokens,output_tokens\n5,10,5\n1,10,5\n", "in order");
  expect_error("time,prompt,out\n0,1,1\n", "expected columns");
  expect_error("timestamp,input_tokens,output_tokens\n0,9000,5\n", "maximum model length");
}

// --- Engine invariants ----------------------------------------------------------------------

// Acceptance: Little's law holds on a batched run, every token that enters leaves, and the same
// seed gives byte-identical output.
TEST(Serve, BatchedRunConservesRequestsAndTokensAndObeysLittlesLaw) {
  const auto s = scenario(kBatched);
  ServeOptions o;
  o.keep_records = true;
  const ServeResult r = simulate(s, o);
  ASSERT_EQ(r.records.size(), 3000u);
  EXPECT_EQ(r.requests, 3000);
  EXPECT_EQ(r.completed, 3000);
  int64_t out = 0, in = 0;
  for (const auto& q : r.records) {
    EXPECT_GE(q.scheduled_ns, q.arrival_ns);
    EXPECT_GT(q.first_token_ns, q.scheduled_ns);
    EXPECT_GE(q.finish_ns, q.first_token_ns);
    out += q.output;
    in += q.input;
  }
  EXPECT_EQ(r.output_tokens, out);
  EXPECT_EQ(r.input_tokens, in);
  // Prefill work: every prompt token is computed or read from the prefix cache (this workload
  // shares no prefixes), plus recomputation after preemptions.
  EXPECT_GE(r.prefill_tokens_computed + r.cached_tokens, in);
  // L (time average of requests in the system) = λ · W.
  EXPECT_NEAR(r.mean_in_system / (r.arrival_rate * r.e2e.mean), 1.0, 1e-9);
  EXPECT_GT(r.mean_in_system, 1.0);  // batched: many requests in flight at once
  EXPECT_LE(r.ttft.p50, r.ttft.p99);
  EXPECT_LE(r.itl.p50, r.itl.p99);
  EXPECT_GT(r.mfu, 0.0);
  EXPECT_LT(r.mfu, 1.0);
  EXPECT_GT(r.mbu, 0.0);
  EXPECT_LT(r.mbu, 1.0);
}

TEST(Serve, SameSeedGivesByteIdenticalOutputAndAnotherSeedDoesNot) {
  const auto s = scenario(kBatched);
  ServeOptions o;
  o.timeseries = true;
  o.keep_records = true;
  const ServeResult a = simulate(s, o), b = simulate(s, o);
  EXPECT_EQ(requests_csv(a), requests_csv(b));
  std::ostringstream ta, tb;
  write_timeseries_csv(ta, a);
  write_timeseries_csv(tb, b);
  EXPECT_EQ(ta.str(), tb.str());
  EXPECT_GT(a.timeseries.size(), 100u);
  for (const auto& p : a.timeseries) {
    EXPECT_GE(p.kv_used, 0.0);
    EXPECT_LE(p.kv_used, 1.0);
  }
  o.seed = 8;
  EXPECT_NE(requests_csv(simulate(s, o)), requests_csv(a));
}

// Acceptance: the queueing checks over 1,000,000 requests each.
// Under the sanitizers (a Debug build about 20 times slower) the same runs use 50,000 requests
// and check the bookkeeping only; the statistics are checked in the Release test stage.
TEST(Serve, QueueingTheoryMD1AndMM1) {
#ifdef FATHOM_SANITIZED
  const int64_t n = 50000;
  const bool statistics = false;
#else
  const int64_t n = 1000000;
  const bool statistics = true;
#endif
  const auto checks = validate_queueing(test::hardware(), test::models(), n);
  ASSERT_EQ(checks.size(), 4u);
  for (const auto& c : checks) {
    SCOPED_TRACE(c.name + " rho " + std::to_string(c.rho));
    EXPECT_EQ(c.requests, n);
    if (statistics) {
      EXPECT_LT(std::abs(c.error), c.tolerance);
    }
    EXPECT_NEAR(c.little_L / c.little_lambda_W, 1.0, 1e-9);
  }
}

// Acceptance: TensorRT-LLM maximum throughput, median absolute error ≤ 20%.
TEST(Serve, PublishedTensorRtLlmThroughput) {
  const auto t = validate_trtllm(data_dir() + "/validation/trtllm_throughput.csv", test::hardware(), test::models(), 1500);
  EXPECT_EQ(t.rows.size(), 88u);
  EXPECT_LE(t.median_abs_error, 0.20);
  for (const auto& r : t.rows) EXPECT_GT(r.predicted, 0) << r.label << " " << r.config;
}

// Acceptance: iteration latency far beyond any calibrated range follows the cost chain
// smoothly from 1k to 128k tokens of context (no cliff, no plateau).
TEST(Serve, LongContextIterationLatencyIsSmooth) {
  const auto& m = *test::models().find("llama-3.1-8b");
  const auto& gpu = *test::hardware().find_gpu("h100-sxm");
  auto eff = std::make_shared<hw::DefaultEfficiencyModel>();
  hw::CostModel cm(gpu, hw::make_cluster(gpu, 1, 8), eff);
  model::Layout L;
  IterationCost c(m, L, {}, cm);
  std::vector<double> ctx, decode, prefill;
  for (double k = 1024; k <= 131072; k *= std::sqrt(2.0)) {
    const auto kv = static_cast<int64_t>(k);
    IterationCost::Attention a;
    a.decode_rows = 4;
    a.decode_kv = 4.0 * static_cast<double>(kv);
    ctx.push_back(static_cast<double>(kv));
    decode.push_back(c.dense(4).time_s + c.head(4).time_s + c.attention(a, 1).time_s);
    IterationCost::Attention p;
    c.add_prefill(p, 512, kv - 512);  // the last 512-token chunk of a prompt of kv tokens
    prefill.push_back(c.dense(512).time_s + c.head(1).time_s + c.attention(p, 1).time_s);
  }
  for (size_t i = 1; i < ctx.size(); ++i) {
    EXPECT_GT(decode[i], decode[i - 1]);
    EXPECT_GT(prefill[i], prefill[i - 1]);
    // Growth per token of context stays within a factor 2 of its neighbour's: no cliff.
    if (i >= 2) {
      const double s1 = (decode[i] - decode[i - 1]) / (ctx[i] - ctx[i - 1]);
      const double s0 = (decode[i - 1] - decode[i - 2]) / (ctx[i - 1] - ctx[i - 2]);
      EXPECT_NEAR(s1 / s0, 1.0, 0.5) << ctx[i];
    }
  }
  // Four sequences decoding at 128k context read 4 × 131,072 × 128 KiB = 64 GiB of KV cache per
  // step, four times the weights: the step takes several times the 1k step.
  EXPECT_GT(decode.back() / decode.front(), 3.0);
}

// --- Features -------------------------------------------------------------------------------

TEST(Serve, SpeculativeDecodingEmitsTheExpectedTokensPerStep) {
  const auto s = scenario(R"(  parallel: {tp: 4}
  engine: vllm
  speculative: {draft: llama-3.1-8b, tokens: 4, acceptance: 0.7}
  workload:
    requests: 400
    arrival: {process: poisson, rate_per_s: 2}
    input_tokens: 500
    output_tokens: 400
)",
                          "llama-3.1-70b");
  const ServeResult r = simulate(s);
  EXPECT_EQ(r.completed, 400);
  SpecConfig sp;
  sp.tokens = 4;
  sp.acceptance = 0.7;
  // (1 − α^(k+1)) / (1 − α) = 2.7731; the last step of each request is truncated at its length.
  EXPECT_NEAR(sp.expected_tokens(), 2.7731, 1e-4);
  EXPECT_NEAR(r.spec_tokens_per_step / sp.expected_tokens(), 1.0, 0.02);
  // Fewer target steps per token than plain decoding: lower time per output token.
  const auto plain = scenario(R"(  parallel: {tp: 4}
  engine: vllm
  workload:
    requests: 400
    arrival: {process: poisson, rate_per_s: 2}
    input_tokens: 500
    output_tokens: 400
)",
                              "llama-3.1-70b");
  EXPECT_LT(r.tpot.mean, simulate(plain).tpot.mean);
}

TEST(Serve, PrefixCachingServesSharedPromptsAndSessions) {
  const std::string shared = R"(  parallel: {tp: 1}
  engine: vllm
  kv_cache: {prefix_caching: CACHING}
  workload:
    requests: 2000
    arrival: {process: poisson, rate_per_s: 10}
    input_tokens: 200
    output_tokens: 50
    shared_prefix: {groups: 4, tokens: 1024}
)";
  auto with = [&](const std::string& base, const char* v) {
    std::string y = base;
    y.replace(y.find("CACHING"), 7, v);
    return simulate(scenario(y));
  };
  const ServeResult on = with(shared, "true"), off = with(shared, "false");
  EXPECT_EQ(off.cached_tokens, 0);
  EXPECT_GT(on.cached_tokens, 1900 * 1024);  // all but the first few of each group hit
  EXPECT_LT(on.prefill_tokens_computed, off.prefill_tokens_computed / 3);
  EXPECT_LT(on.ttft.mean, off.ttft.mean);

  const std::string sessions = R"(  parallel: {tp: 1}
  engine: vllm
  kv_cache: {prefix_caching: CACHING}
  workload:
    requests: 1000
    arrival: {process: poisson, rate_per_s: 2}
    input_tokens: 300
    output_tokens: 100
    sessions: {turns: 5, think_time_s: 2}
)";
  const ServeResult s_on = with(sessions, "true"), s_off = with(sessions, "false");
  EXPECT_EQ(s_on.completed, 1000);
  EXPECT_EQ(s_off.completed, 1000);
  EXPECT_GT(s_on.cached_tokens, 0);
  // Turns grow: turn k's prompt holds every earlier turn.
  EXPECT_GT(s_on.input_tokens, 1000 * 300 * 2);
  EXPECT_LT(s_on.prefill_tokens_computed, s_off.prefill_tokens_computed / 2);
}

TEST(Serve, PreemptionByRecomputeAndBySwapFinishEveryRequest) {
  for (const std::string engine : {"vllm-v0", "vllm"}) {
    for (const std::string mode : {"recompute", "swap"}) {
      const auto s = scenario("  parallel: {tp: 1}\n  engine: " + engine + "\n  max_model_len: 4096\n"
                              "  scheduler: {preemption: " + mode + "}\n" + R"(  kv_cache: {blocks: 400}
  workload:
    requests: 600
    arrival: {process: all_at_once}
    input_tokens: {dist: uniform, low: 100, high: 1000}
    output_tokens: {dist: uniform, low: 50, high: 1500}
)");
      const ServeResult r = simulate(s);
      SCOPED_TRACE(engine + " " + mode);
      EXPECT_EQ(r.completed, 600);
      EXPECT_GT(r.preemptions, 0);
      EXPECT_EQ(r.engine, engine);
    }
  }
}

TEST(Serve, EverySchedulerCompletesTheWorkload) {
  for (const char* sched : {"static", "orca", "vllm", "sarathi"}) {
    const auto s = scenario(std::string(R"(  parallel: {tp: 1}
  engine: vllm
  scheduler: {name: )") + sched + R"(, max_seqs: 64, token_budget: 2048}
  workload:
    requests: 500
    arrival: {process: gamma, rate_per_s: 6, cv: 2}
    input_tokens: {dist: lognormal, median: 600, sigma: 0.6, max: 4000}
    output_tokens: {dist: lognormal, median: 150, sigma: 0.6, max: 1000}
)");
    const ServeResult r = simulate(s);
    SCOPED_TRACE(sched);
    EXPECT_EQ(r.completed, 500);
    EXPECT_EQ(r.scheduler, sched);
  }
}

TEST(Serve, DisaggregatedPoolsHandKvOverTheLink) {
  const auto s = scenario(R"(  parallel: {tp: 4}
  engine: vllm
  disaggregated:
    prefill: {tp: 2, replicas: 1}
    decode: {tp: 2, replicas: 2}
    link: {bandwidth: 50 GB/s, latency: 20 us}
  workload:
    requests: 1000
    arrival: {process: poisson, rate_per_s: 10}
    input_tokens: 2000
    output_tokens: 200
)",
                          "llama-3.1-8b");
  const ServeResult r = simulate(s);
  EXPECT_EQ(r.completed, 1000);
  EXPECT_EQ(r.scheduler, "disaggregated");
  ASSERT_EQ(r.replica_stats.size(), 3u);
  EXPECT_EQ(r.replica_stats[0].role, "prefill");
  EXPECT_EQ(r.replica_stats[1].role, "decode");
  EXPECT_GT(r.replica_stats[1].requests, 300);
  EXPECT_GT(r.replica_stats[2].requests, 300);
  // The decode pool never runs a prefill: the inter-token latency does not see prefill stalls.
  EXPECT_LT(r.itl.p99, 2 * r.itl.p50);
}

TEST(Serve, RoutersSpreadOrPinRequests) {
  auto run = [&](const char* router) {
    return simulate(scenario(std::string(R"(  parallel: {tp: 1, replicas: 4}
  engine: vllm
  router: )") + router + R"(
  workload:
    requests: 2000
    arrival: {process: poisson, rate_per_s: 20}
    input_tokens: 300
    output_tokens: 60
    shared_prefix: {groups: 2, tokens: 512}
)"));
  };
  const ServeResult rr = run("round_robin");
  for (const auto& st : rr.replica_stats) EXPECT_EQ(st.requests, 500);
  const ServeResult pa = run("prefix_affinity");
  int used = 0;
  for (const auto& st : pa.replica_stats) used += st.requests > 0;
  EXPECT_LE(used, 2);  // two prefix groups: at most two replicas
  EXPECT_GT(pa.cached_tokens, rr.cached_tokens);
  const ServeResult lo = run("least_outstanding");
  const ServeResult kv = run("least_kv");
  EXPECT_EQ(lo.completed, 2000);
  EXPECT_EQ(kv.completed, 2000);
}

TEST(Serve, KvCompressionAndSamplesChangeMemoryPressure) {
  auto run = [&](const std::string& extra_kv, int samples) {
    return simulate(scenario(R"(  parallel: {tp: 1}
  engine: vllm
  max_model_len: 8192
  kv_cache: {blocks: 2000)" + extra_kv + R"(}
  workload:
    requests: 300
    arrival: {process: all_at_once}
    input_tokens: 2000
    output_tokens: 500
    samples: )" + std::to_string(samples) + "\n"));
  };
  const ServeResult full = run("", 1), half = run(", compression: 0.5", 1), four = run("", 4);
  EXPECT_LT(half.makespan_s, full.makespan_s);  // twice the sequences fit
  EXPECT_EQ(four.output_tokens, 4 * full.output_tokens);
  EXPECT_EQ(four.completed, 300);
}

// The example scenario and the speed benchmark's scenario load; the example runs to completion
// with its SLOs met at 80% of capacity.
TEST(Serve, ExampleScenariosLoadAndRun) {
  const auto s = sim::load_scenario(data_dir() + "/scenarios/llama3.1-8b-serve-h100.yaml", test::hardware(), test::models());
  const ServeResult r = simulate(s);
  EXPECT_EQ(r.completed, 10000);
  EXPECT_GT(r.slo_attainment, 0.95);
  EXPECT_NEAR(r.request_throughput, 10.0, 0.5);
  const auto b = sim::load_scenario(data_dir() + "/../bench/serve_1m.yaml", test::hardware(), test::models());
  EXPECT_EQ(b.serve->sim->workload.requests, 1000000);
}

// --- Bad input ------------------------------------------------------------------------------

TEST(Serve, BadConfigurationsAreErrorsNamingTheKey) {
  auto error_of = [&](const std::string& y, const std::string& model = "llama-3.1-8b", int gpus = 8) -> std::string {
    try {
      simulate(scenario(y, model, "h100-sxm", gpus));
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  const std::string wl = R"(
  workload:
    requests: 10
    arrival: {process: poisson, rate_per_s: 1}
    input_tokens: 100
    output_tokens: 10
)";
  EXPECT_NE(error_of("  parallel: {tp: 1}\n  scheduler: {name: vlm}" + wl).find("did you mean 'vllm'"), std::string::npos);
  EXPECT_NE(error_of("  parallel: {tp: 1}\n  engine: tgi" + wl).find("trtllm"), std::string::npos);
  // Llama-3.1-70B in bf16 on one H100: no memory left for the KV cache.
  EXPECT_NE(error_of("  parallel: {tp: 1}" + wl, "llama-3.1-70b").find("leave no memory"), std::string::npos);
  // A cache too small for one request of the maximum model length.
  EXPECT_NE(error_of("  parallel: {tp: 1}\n  kv_cache: {blocks: 100}" + wl).find("serve.max_model_len"), std::string::npos);
  EXPECT_NE(error_of("  parallel: {tp: 1, replicas: 9}" + wl).find("replicas"), std::string::npos);
  EXPECT_NE(error_of("  parallel: {tp: 1}\n  scheduler: {name: disaggregated}" + wl).find("disaggregated:"), std::string::npos);
  EXPECT_NE(error_of("  parallel: {tp: 1}\n  kv_cache: {compression: 0.5, prefix_caching: true}" + wl).find("compression"),
            std::string::npos);
}

}  // namespace fathom::serve
