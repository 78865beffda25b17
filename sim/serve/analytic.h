#pragma once
// A serving scenario's figures without simulating (the GUI's live panel, docs/gui-serve.md): the
// memory of one GPU of a replica against its HBM (replica_memory, the figures the simulator
// runs with), the KV-cache capacity and the decode batch it holds, one engine iteration at that
// typical batch priced by the cost chain (sim::estimate), the cost chain's best-case throughput
// against the offered rate, and what binds. Cheap: two or three sim::estimate calls.
//
// The typical batch follows the analytic screen of `fathom plan serve` (plan_serve_units.cpp):
// B = clamp(⌊KV tokens / (Ī + Ō)⌋, 1, max_seqs) sequences, each holding its whole request,
// decoded at a mean context of Ī + Ō/2 tokens, where Ī and Ō are the workload's mean input and
// output lengths (LengthDist::mean clamped to the distribution's [min, max], or a trace's
// means). The best-case rate of a replica is 1 / (Ī / prefill tokens/s + Ō / decode tokens/s),
// prefill priced at the token budget in chunks of min(budget, Ī) tokens: no queueing, no
// overheads, so an offered rate at or above it cannot be served. A scenario with
// `serve.iteration` is priced at that iteration instead, so that the figures are those of
// `fathom estimate FILE`; one without a workload takes the vLLM preset's KV cache.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/estimate.h"
#include "sim/scenario.h"
#include "sim/serve/config.h"

namespace fathom::serve {

struct ServeAnalysis {
  std::string engine;     // the engine whose KV cache is sized (the scenario's, or vllm)
  std::string pool;       // "replica", or "decode pool" when disaggregated
  int gpus_per_replica = 1;
  int replicas = 1;       // aggregated replicas, or decode replicas when disaggregated
  // Memory of one GPU of a replica (bytes): weights, activations, runtime, KV cache.
  ReplicaMemory memory;
  double hbm_bytes = 0;     // the GPU's memory
  double engine_bytes = 0;  // what the engine takes: weights + activations + runtime + KV
  int64_t kv_tokens = 0;    // KV capacity of a replica: blocks × block size
  int64_t block_size = 16;
  // The requests the batch is made of (tokens): mean input and output lengths, and the KV
  // footprint of one sequence at completion (input + output).
  double mean_input = 0, mean_output = 0, footprint = 0;
  int64_t kv_batch = 0;   // sequences the KV cache holds at `footprint` tokens each
  int64_t max_seqs = 0;   // the scheduler's cap on sequences per iteration
  // The iteration priced: its phase, sequences and length (context for decode, prompt for
  // prefill), and the `serve.iteration` value that makes `fathom estimate` price the same one.
  std::string phase = "decode";
  int64_t batch = 1, length = 1;
  std::string batch_limit;        // "KV cache", "max_seqs" or "serve.iteration"
  std::string iteration_yaml;     // "{phase: decode, sequences: 87, context: 1377}"
  bool scenario_iteration = false;  // serve.iteration given: the figures are its
  sim::EstimateResult iteration;    // sim::estimate of that iteration
  // The typical decode iteration (B sequences at a context of Ī + Ō/2; the scenario's own when it
  // is a decode iteration without a workload), which the throughput bounds and the frontier use.
  int64_t decode_batch = 1, decode_context = 1;
  double decode_iteration_s = 0;
  // Throughput bounds of one replica from the cost chain (tokens/s, requests/s), and the
  // offered rate of the workload (requests/s; 0 for all-at-once arrivals or no workload).
  double decode_tokens_per_s = 0, prefill_tokens_per_s = 0, prefill_chunk_s = 0;
  int64_t prefill_chunk = 0, prefill_sequences = 0;
  double capacity_req_per_s = 0;  // all replicas (disaggregated: the slower pool)
  double offered_req_per_s = 0;
  // The iteration's dominant roofline bound ("compute", "memory", "latency", "communication")
  // and its share of the iteration's time, and the binding resource in words.
  std::string bound;
  double bound_share = 0;
  // The binding resource in a few words ("memory bandwidth", "compute (tensor-core FLOP/s)",
  // "capacity: offered rate ≥ best case", ...) and in a sentence with its numbers.
  std::string binding_resource;
  std::string binding;
  std::vector<std::string> notes;
};

// Throws fathom::Error when the scenario has no serve section or the iteration cannot be priced.
ServeAnalysis analyze_serving(const sim::Scenario& s);

// Decode throughput against interactivity from the cost chain: for batches from 1 to the KV
// batch (a geometric ladder of at most `points` sizes), one decode iteration at the analysis'
// context: tokens/s per GPU = B / (t · GPUs of a replica), tokens/s per user = 1 / t. No
// prefill, queueing or overheads: the frontier a replica approaches, not what it achieves.
struct FrontierPoint {
  int64_t batch = 0;
  double iteration_s = 0;
  double tokens_per_s_per_gpu = 0;
  double tokens_per_s_per_user = 0;
};
std::vector<FrontierPoint> interactivity_frontier(const sim::Scenario& s, const ServeAnalysis& a, int points = 12);

}  // namespace fathom::serve
