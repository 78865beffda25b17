#include "sim/serve/cost.h"

#include <string_view>

#include "common/error.h"

namespace fathom::serve {

namespace {
constexpr int64_t kTable = 1 << 15;

bool is_head(const hw::Op& op) { return std::string_view(op.name).substr(0, 7) == "lm_head"; }
bool is_attention_core(const hw::Op& op) { return op.name == "attn.core"; }
}  // namespace

IterationCost::IterationCost(const model::ModelSpec& m, const model::Layout& layout, const model::Precision& precision,
                             const hw::CostModel& cost)
    : m_(m), layout_(layout), precision_(precision), cost_(cost) {
  attn_template_ = model::serve_attention_op(m_, layout_, precision_, 1, 1, 1);
  decode_ = linear(1);
}

IterationCost::Linear IterationCost::linear(int q) const {
  const double qd = static_cast<double>(q);
  const double k1 = 1024 + qd, k2 = 2048 + qd;
  const hw::Op a = model::serve_attention_op(m_, layout_, precision_, 1, qd, k1);
  const hw::Op b = model::serve_attention_op(m_, layout_, precision_, 1, qd, k2);
  Linear l;
  l.flops_kv = (b.flops - a.flops) / (k2 - k1);
  l.bytes_kv = (b.bytes - a.bytes) / (k2 - k1);
  l.flops_row = a.flops - l.flops_kv * k1;
  l.bytes_row = a.bytes - l.bytes_kv * k1;
  return l;
}

Work IterationCost::evaluate(const std::vector<hw::Op>& ops) const {
  Work w;
  for (const auto& op : ops) {
    w.time_s += cost_.cost(op).total_s(op);
    w.flops += op.model_flops * op.count;
    w.bytes += op.bytes * op.count;
  }
  return w;
}

const Work& IterationCost::dense(int64_t tokens) {
  FATHOM_CHECK(tokens >= 0);
  static const Work zero{};
  if (tokens == 0) return zero;
  auto compute = [&] {
    model::Batch b;
    b.sequences = tokens;
    b.seq_len = 1;
    auto ops = model::build_ops(m_, model::Phase::kDecode, b, layout_, precision_);
    std::vector<hw::Op> keep;
    keep.reserve(ops.size());
    for (auto& op : ops) {
      if (!is_head(op) && !is_attention_core(op)) keep.push_back(std::move(op));
    }
    return evaluate(keep);
  };
  if (tokens < kTable) {
    if (dense_.size() <= static_cast<size_t>(tokens)) dense_.resize(static_cast<size_t>(tokens) + 1, Work{-1, 0, 0});
    Work& w = dense_[static_cast<size_t>(tokens)];
    if (w.time_s < 0) w = compute();
    return w;
  }
  auto it = dense_big_.find(tokens);
  if (it == dense_big_.end()) it = dense_big_.emplace(tokens, compute()).first;
  return it->second;
}

const Work& IterationCost::head(int64_t seqs) {
  FATHOM_CHECK(seqs >= 0 && seqs < (int64_t{1} << 31));
  static const Work zero{};
  if (seqs == 0) return zero;
  if (head_.size() <= static_cast<size_t>(seqs)) head_.resize(static_cast<size_t>(seqs) + 1, Work{-1, 0, 0});
  Work& w = head_[static_cast<size_t>(seqs)];
  if (w.time_s < 0) {
    model::Batch b;
    b.sequences = seqs;
    b.seq_len = 1;
    auto ops = model::build_ops(m_, model::Phase::kDecode, b, layout_, precision_);
    std::vector<hw::Op> keep;
    for (auto& op : ops) {
      if (is_head(op)) keep.push_back(std::move(op));
    }
    w = evaluate(keep);
  }
  return w;
}

void IterationCost::add_prefill(Attention& a, int64_t q, int64_t cached) const {
  FATHOM_CHECK(q >= 1 && cached >= 0 && q < (int64_t{1} << 32) && cached < (int64_t{1} << 32));
  const uint64_t key = static_cast<uint64_t>(q) << 32 | static_cast<uint64_t>(cached);
  if (prefill_.empty()) prefill_.resize(kPrefillCache);
  PrefillEntry& e = prefill_[((key * 0x9e3779b97f4a7c15ULL) >> 40) % kPrefillCache];
  if (e.key != key) {
    const hw::Op op = model::serve_attention_op(m_, layout_, precision_, 1, static_cast<double>(q),
                                                static_cast<double>(cached + q));
    e = PrefillEntry{key, op.flops, op.bytes};
  }
  a.prefill_flops += e.flops;
  a.prefill_bytes += e.bytes;
}

Work IterationCost::attention(const Attention& a, int spec_q) {
  Work w;
  auto add = [&](const hw::Op& op) {
    if (op.count <= 0) return;
    w.time_s += cost_.cost(op).total_s(op);
    w.flops += op.model_flops * op.count;
    w.bytes += op.bytes * op.count;
  };
  auto linear_op = [&](const Linear& l, double rows, double kv) {
    hw::Op op = attn_template_;
    op.flops = l.flops_row * rows + l.flops_kv * kv;
    op.model_flops = op.flops;
    op.bytes = l.bytes_row * rows + l.bytes_kv * kv;
    add(op);
  };
  if (a.decode_rows > 0) linear_op(decode_, a.decode_rows, a.decode_kv);
  if (a.spec_rows > 0) {
    if (spec_q_ != spec_q) {
      spec_ = linear(spec_q);
      spec_q_ = spec_q;
    }
    linear_op(spec_, a.spec_rows, a.spec_kv);
  }
  if (a.prefill_flops > 0 || a.prefill_bytes > 0) {
    hw::Op op = attn_template_;
    op.flops = a.prefill_flops;
    op.model_flops = a.prefill_flops;
    op.bytes = a.prefill_bytes;
    op.kv_bytes = 0;
    add(op);
  }
  return w;
}

}  // namespace fathom::serve
