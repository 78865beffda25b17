#pragma once
// The time of one engine iteration for its exact mix of work, from the per-operation cost chain
// (sim/model → hw/cost): the token-proportional operations (projections, MLP or experts, norms,
// KV writes, TP collectives) for all tokens of the iteration, the LM head for the sequences
// that sample, and the attention kernels for each prefill chunk and for the decoding sequences
// with their KV lengths. Token-proportional and LM-head parts are memoised on their token
// count; attention is linear in its shape and costed per iteration. Equations: docs/serving.md.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "hw/cost.h"
#include "sim/model/model_spec.h"
#include "sim/model/ops_builder.h"

namespace fathom::serve {

struct Work {
  double time_s = 0;
  double flops = 0;  // model FLOPs
  double bytes = 0;  // device-memory traffic
  Work& operator+=(const Work& o) {
    time_s += o.time_s;
    flops += o.flops;
    bytes += o.bytes;
    return *this;
  }
};

class IterationCost {
 public:
  IterationCost(const model::ModelSpec& m, const model::Layout& layout, const model::Precision& precision,
                const hw::CostModel& cost);

  // Projections, MLP/experts, norms, KV writes and TP collectives for `tokens` tokens.
  const Work& dense(int64_t tokens);
  // Final norm, LM head, sampling and the logits gather for `seqs` sampling sequences.
  const Work& head(int64_t seqs);

  // Attention accumulated over one iteration, then costed as one kernel per kind.
  struct Attention {
    double decode_rows = 0, decode_kv = 0;  // rows decoding one token, Σ of their KV lengths
    double spec_rows = 0, spec_kv = 0;      // rows verifying `spec_q` tokens, Σ KV lengths
    double prefill_flops = 0, prefill_bytes = 0;
    void clear() { *this = Attention{}; }
  };
  // Adds one prefill chunk of q new tokens after `cached` tokens already in the KV cache.
  // Memoised on (q, cached): the same chunks recur (whole prompts, the budget left after the
  // decodes), and building the operation (names, a vector of ops) took about 6% of a serving
  // run. Not thread-safe: each simulation owns its IterationCost.
  void add_prefill(Attention& a, int64_t q, int64_t cached) const;
  Work attention(const Attention& a, int spec_q);

  const model::ModelSpec& model() const { return m_; }

  // FLOPs and bytes of `rows` sequences each adding q tokens after Σ kv keys: linear in rows
  // and Σ kv (the cost chain's attention kernel at fixed q), probed once per q.
  struct Linear {
    double flops_row = 0, flops_kv = 0, bytes_row = 0, bytes_kv = 0;
  };
  Linear linear(int q) const;

 private:
  Work evaluate(const std::vector<hw::Op>& ops) const;

  model::ModelSpec m_;
  model::Layout layout_;
  model::Precision precision_;
  const hw::CostModel& cost_;
  std::vector<Work> dense_;  // by token count, computed on first use (time_s < 0: not yet)
  std::vector<Work> head_;
  std::unordered_map<int64_t, Work> dense_big_;  // token counts past the table
  // (q, cached) → prefill attention FLOPs and bytes: a direct-mapped cache of fixed size (a
  // node-based map grew past the caches and cost more than it saved).
  struct PrefillEntry {
    uint64_t key = ~uint64_t{0};
    double flops = 0, bytes = 0;
  };
  static constexpr size_t kPrefillCache = 2048;
  mutable std::vector<PrefillEntry> prefill_;
  hw::Op attn_template_;
  Linear decode_, spec_;
  int spec_q_ = 0;
};

}  // namespace fathom::serve
