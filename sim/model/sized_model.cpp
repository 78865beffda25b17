#include "sim/model/sized_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "common/error.h"
#include "sim/model/params.h"

namespace fathom::model {

namespace {

double dbl(int64_t v) { return static_cast<double>(v); }

struct Anchor {
  double hidden, layers, ffn_ratio;
};
// Llama 3.1 8B, 70B, 405B (data/models/llama-3.1-*.yaml; meta-llama config.json files).
constexpr std::array<Anchor, 3> kLlamaAnchors{{{4096, 32, 3.5}, {8192, 80, 3.5}, {16384, 126, 3.25}}};
constexpr int64_t kLlamaVocab = 128256;
constexpr int64_t kHeadDim = 128;
constexpr int64_t kKvHeads = 8;
constexpr int64_t kFfnMultiple = 256;

ModelSpec llama_shape(int64_t hidden, int64_t layers, int64_t ffn) {
  ModelSpec m;
  m.family = "llama";
  m.source = "fathom sized_model: Llama 3.1 shape rules (sim/model/sized_model.h)";
  m.architecture = Architecture::kDecoder;
  m.vocab_size = kLlamaVocab;
  m.hidden_size = hidden;
  m.layers = layers;
  m.max_position = 131072;
  m.norm = NormKind::kRmsNorm;
  m.position = PositionKind::kRope;
  m.tie_embeddings = false;
  const int64_t heads = hidden / kHeadDim;
  m.attention.kind = heads > kKvHeads ? AttentionKind::kGqa : AttentionKind::kMha;
  m.attention.heads = heads;
  m.attention.kv_heads = std::min(heads, kKvHeads);
  m.attention.head_dim = kHeadDim;
  m.ffn.kind = FfnKind::kGated;
  m.ffn.activation = "silu";
  m.ffn.hidden = ffn;
  return m;
}

double total_params(int64_t hidden, int64_t layers, int64_t ffn) {
  return count_params(llama_shape(hidden, layers, ffn)).total;
}

// (log hidden, log layers, ffn ratio) at log P, piecewise linear between the anchors.
std::array<double, 3> interpolate(double log_p) {
  std::array<double, 3> lp{};
  for (size_t i = 0; i < kLlamaAnchors.size(); ++i) {
    const auto& a = kLlamaAnchors[i];
    const int64_t ffn = static_cast<int64_t>(std::llround(a.ffn_ratio * a.hidden));
    lp[i] = std::log(total_params(static_cast<int64_t>(a.hidden), static_cast<int64_t>(a.layers), ffn));
  }
  const size_t seg = log_p < lp[1] ? 0 : 1;
  const double t = (log_p - lp[seg]) / (lp[seg + 1] - lp[seg]);
  const Anchor& a = kLlamaAnchors[seg];
  const Anchor& b = kLlamaAnchors[seg + 1];
  return {std::log(a.hidden) + t * (std::log(b.hidden) - std::log(a.hidden)),
          std::log(a.layers) + t * (std::log(b.layers) - std::log(a.layers)),
          a.ffn_ratio + t * (b.ffn_ratio - a.ffn_ratio)};
}

std::string size_name(double params) {
  char b[48];
  if (params >= 1e9) {
    std::snprintf(b, sizeof b, "llama-sized-%.3gb", params / 1e9);
  } else {
    std::snprintf(b, sizeof b, "llama-sized-%.3gm", params / 1e6);
  }
  return b;
}

ModelSpec sized_llama(double params) {
  const auto [log_h, log_l, ratio] = interpolate(std::log(params));
  const double h_hat = std::exp(log_h), l_hat = std::exp(log_l);
  const int64_t step = h_hat >= 1024 ? kHeadDim * kKvHeads : kHeadDim;
  const int64_t h_down = std::max<int64_t>(kHeadDim, static_cast<int64_t>(std::floor(h_hat / dbl(step))) * step);
  const int64_t h_up = std::max<int64_t>(kHeadDim, static_cast<int64_t>(std::ceil(h_hat / dbl(step))) * step);

  // Candidate widths: the two around the interpolation, and every narrower valid width (below
  // about 1B parameters the 128256-entry embeddings alone outweigh the interpolated width).
  std::vector<int64_t> widths{h_up};
  for (int64_t h = h_down; h >= kHeadDim && dbl(h) >= h_hat / 4; h -= h > 1024 ? kHeadDim * kKvHeads : kHeadDim)
    widths.push_back(h);
  double best_score = std::numeric_limits<double>::infinity();
  ModelSpec best;
  for (int64_t h : widths) {
    // Layers: around the interpolation, and around what the count needs at this width.
    const int64_t f0 = std::llround(ratio * dbl(h) / dbl(kFfnMultiple)) * kFfnMultiple;
    const double per_layer = total_params(h, 2, f0) - total_params(h, 1, f0);
    const double fixed = total_params(h, 1, f0) - per_layer;
    const int64_t l_need = std::max<int64_t>(1, std::llround((params - fixed) / per_layer));
    const int64_t l0 = std::max<int64_t>(1, std::llround(l_hat));
    std::vector<int64_t> layer_choices;
    for (int64_t d = -3; d <= 3; ++d) {
      if (l0 + d >= 1) layer_choices.push_back(l0 + d);
      if (l_need + d >= 1) layer_choices.push_back(l_need + d);
    }
    for (int64_t l : layer_choices) {
      if (dbl(l) > 4 * l_hat + 3) continue;  // far from the family's depth: never a winner, and slow to count
      // The count is linear in the FFN width: solve for the request, then round.
      const double c1 = total_params(h, l, kFfnMultiple), c2 = total_params(h, l, 2 * kFfnMultiple);
      const double slope = (c2 - c1) / dbl(kFfnMultiple);
      const double f_exact = dbl(kFfnMultiple) + (params - c1) / slope;
      const double f_clamped = std::clamp(f_exact, 2.5 * dbl(h), 4.5 * dbl(h));
      const int64_t f = std::max<int64_t>(
          kFfnMultiple, static_cast<int64_t>(std::llround(f_clamped / dbl(kFfnMultiple))) * kFfnMultiple);
      const double count = total_params(h, l, f);
      // Count errors under 0.5% are free; beyond, each 0.1% weighs like 1% of shape distortion.
      const double score = 10 * std::max(0.0, std::fabs(count / params - 1) - 0.005) +
                           std::fabs(std::log(dbl(h) / h_hat)) + std::fabs(std::log(dbl(l) / l_hat)) +
                           0.5 * std::fabs(std::log(dbl(f) / (ratio * dbl(h))));
      if (score < best_score) {
        best_score = score;
        best = llama_shape(h, l, f);
      }
    }
  }
  best.released_params.reset();
  best.name = size_name(count_params(best).total);
  best.display_name = "Llama-shaped " + best.name.substr(std::string("llama-sized-").size());
  return best;
}

}  // namespace

std::vector<std::string> sized_families() { return {"llama"}; }

ModelSpec sized_model(const std::string& family, double params) {
  if (!(params >= 1e9 && params <= 1e13 && std::isfinite(params))) {
    char b[64];
    std::snprintf(b, sizeof b, "%g", params);
    throw FlagError("family", std::string("expected a model size between 1e9 and 1e13 parameters (below 1e9 the "
                                          "128256-token embeddings dominate a Llama shape), found ") +
                                  b);
  }
  if (family == "llama" || family == "llama-3" || family == "llama3") return sized_llama(params);
  throw FlagError("family", "expected a model family sized_model knows (llama), found '" + family + "'");
}

}  // namespace fathom::model
