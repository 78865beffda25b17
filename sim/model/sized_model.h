#pragma once
// A model of a requested parameter count that follows a named family's shape, for planners that
// choose a model size (`fathom plan total`, docs/planning-total.md).
//
// Family "llama" (alias "llama-3"): the Llama 3.1 dense decoder: head dimension 128, grouped-query
// attention with 8 KV heads (fewer heads than that: one KV head per query head), SwiGLU FFN, RMSNorm,
// RoPE, untied embeddings, vocabulary 128256. Anchors (the released configurations, as in
// data/models/llama-3.1-{8b,70b,405b}.yaml from the meta-llama config.json files):
//     hidden  layers  ffn     ffn/hidden
//     4096    32      14336   3.5
//     8192    80      28672   3.5
//     16384   126     53248   3.25
// Rules, for a request of P parameters (count_params(...).total):
//   1. log hidden, log layers and the FFN ratio are interpolated linearly in log P between the
//      anchors' own parameter counts; outside [8B, 405B] the nearest segment is extended.
//   2. hidden is rounded to a multiple of 1024 (128 × 8 KV heads) from 1024 up, to a multiple of
//      128 below; layers to an integer ≥ 1; the FFN width to a multiple of 256.
//   3. Candidates: hidden rounded down and up, and narrower valid widths down to ĥ/4 (near 1B the
//      2 × 128256 × hidden embeddings weigh heavily); layers within ±3 of the interpolation and of
//      what the count needs at that width (at most 4·L̂ + 3). For each, the FFN width is solved for
//      the exact count (kept within 2.5–4.5 × hidden) and rounded to 256. The winner minimises
//        10·max(0, |count/P − 1| − 0.005) + |log hidden/ĥ| + |log layers/L̂| + 0.5·|log ffn/(ratio·hidden)|:
//      counts within 0.5% cost nothing, so the shape stays at the family's aspect ratio, and beyond
//      that the count wins (within 3% of P from 1e9 to 1e13 parameters, tested).
#include <string>
#include <vector>

#include "sim/model/model_spec.h"

namespace fathom::model {

// The families sized_model knows ("llama").
std::vector<std::string> sized_families();

// Throws FlagError("family", ...) for an unknown family and for a request outside
// [1e9, 1e13] parameters (below 1e9 the 128256-entry embeddings outweigh any Llama-like body).
ModelSpec sized_model(const std::string& family, double params);

}  // namespace fathom::model
