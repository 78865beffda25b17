#pragma once
// Parameter, FLOP and KV-cache counts of a model, from its shape alone.
#include "common/dtype.h"
#include "sim/model/model_spec.h"

namespace fathom::model {

struct ParamCount {
  double total = 0;        // every stored parameter (MTP heads and such not in the spec excluded)
  double active = 0;       // parameters used by one token: top-k routed plus shared experts
  double embedding = 0;    // input token embedding (plus learned positions)
  double lm_head = 0;      // output projection (0 when tied to the embedding)
  double attention = 0;    // all attention mixers (self and cross)
  double ssm = 0;          // Mamba mixers
  double ffn_dense = 0;    // dense feed-forward blocks
  double moe_experts = 0;  // routed and shared experts, all of them
  double moe_active = 0;   // routed (top-k) and shared experts used by one token
  double router = 0;
  double norms = 0;
  double encoder = 0;      // encoder stack and front end (encoder–decoder models)
  // Parameters that take part in matrix products for one token (active, without the input
  // embedding lookup, positions, norms and biases): the N of "6·N FLOPs per token".
  double matmul_active = 0;
};

ParamCount count_params(const ModelSpec& m);

// KV-cache bytes one token adds across all layers (self-attention; MLA stores the compressed
// latent plus the rotary key).
double kv_bytes_per_token(const ModelSpec& m, DType kv);

// KV-cache bytes one token adds on one GPU of a tp × pp replica: KV heads split across TP
// (replicated when tp exceeds them), the MLA latent replicated on every TP rank, layers split by PP.
double kv_bytes_per_token_per_gpu(const ModelSpec& m, DType kv, int tp, int pp);

// Forward FLOPs for one token at context length `context` (keys attended to), counting matrix
// products only: 2·N_matmul + attention scores and values (causal average when `causal`).
double forward_flops_per_token(const ModelSpec& m, double context);

}  // namespace fathom::model
