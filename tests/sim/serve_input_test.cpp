// Bad serving input: every number that becomes an integer, and every documented range, is
// checked at load and reported as InputError "file:line: 'key': expected ..., found ..." —
// never an abort, a silent change or a hang (docs/scenario.md, serving rules).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "catalog_fixture.h"
#include "common/error.h"
#include "common/yaml.h"
#include "sim/scenario.h"
#include "sim/serve/config.h"
#include "sim/serve/simulator.h"
#include "sim/serve/workload.h"

namespace fathom::serve {

namespace {

// The message of the InputError that `f` throws; fails the test if it throws nothing or
// something else.
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected InputError, got none";
  return "";
}

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

// A workload section (file w.yaml) whose output_tokens line is line 4.
std::string workload_error(const std::string& output, const std::string& extra = "", int64_t max_model_len = 8192) {
  return input_error([&] {
    parse_workload(parse_yaml("requests: 10\narrival: {process: poisson, rate_per_s: 1}\ninput_tokens: 100\n"
                              "output_tokens: " + output + "\n" + extra,
                              "w.yaml"),
                   max_model_len);
  });
}

std::string arrival_error(const std::string& arrival) {
  return input_error([&] {
    parse_workload(parse_yaml("requests: 10\narrival: " + arrival + "\ninput_tokens: 100\noutput_tokens: 10\n", "w.yaml"),
                   8192);
  });
}

// A serve section of test.yaml (the `serve:` key on line 3, its first key on line 4).
std::string serve_error(const std::string& serve_yaml) {
  return input_error([&] {
    const std::string text = "model: llama-3.1-8b\nhardware: {gpu: h100-sxm, nodes: 1, gpus_per_node: 8}\nserve:\n" +
                             serve_yaml + R"(
  workload:
    requests: 10
    arrival: {process: poisson, rate_per_s: 1}
    input_tokens: 100
    output_tokens: 10
)";
    simulate(sim::parse_scenario(parse_yaml(text, "test.yaml"), test::hardware(), test::models()));
  });
}

std::string trace_error(const std::string& body, int64_t max_model_len = 8192) {
  const auto dir = std::filesystem::temp_directory_path() / "fathom_serve_input_test";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "bad.csv").string();
  std::ofstream(path) << body;
  return input_error([&] { load_trace(path, max_model_len); });
}

}  // namespace

// --- Trace files ------------------------------------------------------------------------------

// 1e19 used to overflow the float-to-integer conversion and abort on an internal check.
TEST(ServeInput, TraceTokenCountBeyondTheModelLengthNamesLineAndColumn) {
  const std::string e = trace_error("timestamp,input_tokens,output_tokens\n0,10,5\n1,1e19,5\n");
  EXPECT_HAS(e, "bad.csv:3");
  EXPECT_HAS(e, "column 'input_tokens': expected an integer of at most 8191");
  EXPECT_HAS(e, "found 1e19");
}

// 1e19 output tokens used to become one token silently.
TEST(ServeInput, TraceOutputCountBeyondTheModelLengthIsAnError) {
  const std::string e = trace_error("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,5\n1,10,1e19\n");
  EXPECT_HAS(e, "bad.csv:3");
  EXPECT_HAS(e, "column 'GeneratedTokens': expected an integer of at most 8191");
}

TEST(ServeInput, TracePrefixTokensBeyondTheModelLengthIsAnError) {
  const std::string e = trace_error("timestamp,input_tokens,output_tokens,prefix_id,prefix_tokens\n0,10,5,a,1e19\n");
  EXPECT_HAS(e, "bad.csv:2");
  EXPECT_HAS(e, "column 'prefix_tokens': expected an integer of at most");
}

TEST(ServeInput, TraceTimesBeyondTheSimulatedRangeAreAnErrorAtLoad) {
  const std::string e = trace_error("timestamp,input_tokens,output_tokens\n0,10,5\n1e12,10,5\n");
  EXPECT_HAS(e, "bad.csv:3");
  EXPECT_HAS(e, "column 'timestamp': expected a time at most 1e+09 s after the first row's");
  // A year past four digits is not a date-time (no integer overflow in the reader).
  EXPECT_HAS(trace_error("timestamp,input_tokens,output_tokens\n99999999999-01-01 00:00:00,10,5\n"),
             "bad.csv:2: column 'timestamp': expected seconds or a date-time");
}

TEST(ServeInput, TraceSlowedPastTheSimulatedRangeNamesTheSpeedup) {
  const auto dir = std::filesystem::temp_directory_path() / "fathom_serve_input_test";
  std::filesystem::create_directories(dir);
  std::ofstream((dir / "slow.csv").string()) << "timestamp,input_tokens,output_tokens\n0,10,5\n1e7,10,5\n";
  const std::string yaml = (dir / "w.yaml").string();
  std::ofstream(yaml) << "arrival:\n  process: trace\n  file: slow.csv\n  speedup: 0.001\n";
  const std::string e = input_error([&] { parse_workload(load_yaml_file(yaml), 8192); });
  EXPECT_HAS(e, "w.yaml:4: 'arrival.speedup': expected the replayed trace to end within 1e+09 s");
}

// --- Length distributions -----------------------------------------------------------------------

TEST(ServeInput, LengthParametersFarBeyondTheModelLengthAreErrorsNotClamps) {
  EXPECT_HAS(workload_error("{dist: lognormal, median: 1e19, sigma: 0.5}"),
             "w.yaml:4: 'output_tokens.median': expected a positive number of at most 8191 tokens");
  EXPECT_HAS(workload_error("{dist: normal, mean: 1e19, sd: 1}"), "w.yaml:4: 'output_tokens.mean': expected a positive number");
  EXPECT_HAS(workload_error("{dist: geometric, mean: 1e19}"), "w.yaml:4: 'output_tokens.mean'");
  EXPECT_HAS(workload_error("{dist: normal, mean: 100, sd: 1e19}"), "w.yaml:4: 'output_tokens.sd': expected a standard deviation");
  EXPECT_HAS(workload_error("{dist: lognormal, median: 100, sigma: 1e19}"), "'output_tokens.sigma': expected a sigma of at most 10");
  EXPECT_HAS(workload_error("{dist: uniform, low: 1, high: 100000}"),
             "'output_tokens.high': expected a length below the maximum model length 8192");
  EXPECT_HAS(workload_error("1e19"), "w.yaml:4: 'output_tokens': expected a positive integer");
  // Zipf with a huge exponent used to put every draw on `min` silently.
  EXPECT_HAS(workload_error("{dist: zipf, s: 1e19, min: 1, max: 100}"), "'output_tokens.s': expected an exponent of at most 10");
}

TEST(ServeInput, MinAboveTheLargestLengthIsReportedAtMin) {
  // Without a `max` key the error used to be "missing required key 'max'".
  const std::string e = workload_error("{dist: lognormal, median: 100, sigma: 0.5, min: 100000}");
  EXPECT_HAS(e, "w.yaml:4: 'output_tokens.min': expected a length below the maximum model length 8192");
  EXPECT_HAS(workload_error("{dist: lognormal, median: 100, sigma: 0.5, min: 1e19}"), "'output_tokens.min'");
}

TEST(ServeInput, EmpiricalWeightsWhoseSumOverflowsAreAnError) {
  const std::string e = workload_error("{dist: empirical, bins: [1, 10, 100], weights: [1e308, 1e308]}");
  EXPECT_HAS(e, "w.yaml:4: 'output_tokens.weights[1]': expected weights whose sum is finite");
}

TEST(ServeInput, SessionTurnsAndPrefixGroupsHaveLimits) {
  EXPECT_HAS(workload_error("10", "sessions: {turns: 1e12}\n"), "w.yaml:5: 'sessions.turns': expected at most 1000000 turns");
  EXPECT_HAS(workload_error("10", "shared_prefix: {groups: 1e15, tokens: 10}\n"),
             "w.yaml:5: 'shared_prefix.groups': expected at most 1000000000 groups");
}

TEST(ServeInput, SamplesThatWouldOverflowASequenceAreAnError) {
  // 1025 × 10,000,000 tokens does not fit a 32-bit count.
  const std::string e = workload_error("10", "samples: 1024\n", 10'000'000);
  EXPECT_HAS(e, "w.yaml:5: 'samples': expected at most 213 samples with the maximum model length 10000000");
  EXPECT_HAS(workload_error("10", "samples: 1e12\n"), "'samples': expected at most 1024 samples per prompt");
}

// --- Arrivals ---------------------------------------------------------------------------------

TEST(ServeInput, ArrivalParametersOutsideTheirRangesAreErrors) {
  // cv 1e200 used to make the gamma shape 0 and abort on an internal check.
  EXPECT_HAS(arrival_error("{process: gamma, rate_per_s: 1, cv: 1e200}"),
             "w.yaml:2: 'arrival.cv': expected a coefficient of variation from 0.01 to 100, found '1e200'");
  EXPECT_HAS(arrival_error("{process: poisson, rate_per_s: 1e300}"), "'arrival.rate_per_s': expected a rate from 0.000001");
  EXPECT_HAS(arrival_error("{process: constant, rate_per_s: 1e-300}"), "'arrival.rate_per_s'");
  EXPECT_HAS(arrival_error("{process: burst, rate_per_s: 1, on_s: 1e-12, off_s: 1}"), "'arrival.on_s': expected an on-period");
  EXPECT_HAS(arrival_error("{process: burst, rate_per_s: 1, on_s: 1, off_s: 1e12}"), "'arrival.off_s'");
  // Ten requests at 10⁻⁶ per second of on-time, on for a millionth of each second, would arrive
  // over 10¹³ s: caught at load, with the line, rather than after drawing them.
  EXPECT_HAS(arrival_error("{process: burst, rate_per_s: 1e-6, on_s: 1e-6, off_s: 1}"),
             "w.yaml:2: 'arrival.rate_per_s': expected the 10 arrivals to span at most 1e+09 s, found 1e+13 s");
}

// A slow rate in short bursts used to loop once per burst period for every arrival.
TEST(ServeInput, BurstsMuchShorterThanTheGapsDoNotHang) {
  WorkloadSpec w = parse_workload(parse_yaml("requests: 20\narrival: {process: burst, rate_per_s: 0.001, on_s: 0.001, "
                                             "off_s: 1}\ninput_tokens: 100\noutput_tokens: 10\n",
                                             "w.yaml"),
                                  8192);
  RequestSource src(w);
  const auto start = std::chrono::steady_clock::now();
  int n = 0;
  while (auto r = src.next_arrival()) {
    // Each arrival lies in an on-period (to the clock's nanosecond).
    const double t = des::to_s(r->arrival_ns);
    EXPECT_LE(std::fmod(t, 1.001), 0.001 + 1e-6) << t;
    ++n;
  }
  EXPECT_EQ(n, 20);
  // About a million periods per gap: the old loop took seconds, the skip takes microseconds.
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.5);
}

// --- Engine keys ------------------------------------------------------------------------------

// A KV block count of 1e15 used to be accepted (and overflow the engine's 32-bit block counts).
TEST(ServeInput, KvBlockCountBeyondTheLimitIsAnError) {
  const std::string e = serve_error("  parallel: {tp: 1}\n  kv_cache: {blocks: 1e15}");
  EXPECT_HAS(e, "test.yaml:5: 'serve.kv_cache.blocks': expected at most 62500000 blocks of 16 tokens");
}

TEST(ServeInput, SchedulerCacheAndLinkKeysOutsideTheirRangesAreErrors) {
  EXPECT_HAS(serve_error("  parallel: {tp: 1}\n  scheduler: {max_seqs: 1e12}"),
             "test.yaml:5: 'serve.scheduler.max_seqs': expected at most 1000000 sequences");
  EXPECT_HAS(serve_error("  parallel: {tp: 1}\n  scheduler: {token_budget: 1e12}"),
             "test.yaml:5: 'serve.scheduler.token_budget': expected at most 1000000000 tokens");
  EXPECT_HAS(serve_error("  parallel: {tp: 1}\n  kv_cache: {swap_space: 1e9 TiB}"),
             "test.yaml:5: 'serve.kv_cache.swap_space': expected at most 1 PiB per GPU");
  const std::string disagg = "  parallel: {tp: 2}\n  disaggregated:\n    prefill: {tp: 1}\n    decode: {tp: 1}\n";
  EXPECT_HAS(serve_error(disagg + "    link: {bandwidth: 1 B/s}"),
             "test.yaml:8: 'serve.disaggregated.link.bandwidth': expected a bandwidth of at least 1 MB/s");
  EXPECT_HAS(serve_error(disagg + "    link: {latency: 100 s}"),
             "test.yaml:8: 'serve.disaggregated.link.latency': expected a latency of at most 1 s");
}

TEST(ServeInput, AModelLongerThanTheLimitNeedsAnExplicitMaxModelLen) {
  model::ModelSpec m = *test::models().find("llama-3.1-8b");
  m.max_position = 4'000'000'000;
  const auto& gpu = *test::hardware().find_gpu("h100-sxm");
  const auto serve = parse_yaml("serve:\n  parallel: {tp: 1}\n  workload: {requests: 1}\n", "m.yaml").at("serve");
  const std::string e = input_error([&] { parse_serve_config(serve, m, gpu, {}, {}, test::models()); });
  EXPECT_HAS(e, "m.yaml:2: 'serve': expected 'max_model_len' (at most 1000000000 tokens)");
}

}  // namespace fathom::serve
