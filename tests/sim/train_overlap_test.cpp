// The overlap model of the training step (docs/training.md, "Overlap"): every collective whole,
// hidden and exposed; faster scale-out links shrink what ZeRO-3/FSDP and data parallelism expose;
// hidden collectives slow the compute beside them; interleaving with uneven end stages keeps the
// interleaved bubble (Llama 3 405B's layout on 16,384 H100).
// The loop efficiency divides kernel times and no collective.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "catalog_fixture.h"
#include "sim/train/train.h"

namespace fathom::train {
namespace {

using test::hardware;
using test::models;

hw::ClusterSpec with_scale_out_scaled(hw::ClusterSpec c, double factor) {
  for (size_t i = 1; i < c.levels.size(); ++i) c.levels[i].bandwidth_per_direction_Bps *= factor;
  return c;
}

TrainModel h100_model(const model::ModelSpec& m, const hw::ClusterSpec& cluster) {
  return TrainModel(m, hardware().gpu("h100-sxm", "test"), cluster, model::Precision{});
}

// Llama 3.1 8B, FSDP over 256 H100 (32 nodes), one 4k-token sequence per GPU: the per-layer
// gathers and reduce-scatters cross the scale-out network and take about as long as the layer.
TrainConfig fsdp_config() {
  TrainConfig c;
  c.layout.dp = 256;
  c.seq_len = 4096;
  c.global_batch = 256;
  c.microbatch = 1;
  c.zero = 3;
  c.recompute = model::Recompute::kNone;
  return c;
}

// The same model Megatron-style: TP 8 in a node, data parallel over 32 nodes, distributed optimizer.
TrainConfig megatron_config() {
  TrainConfig c;
  c.layout.tp = 8;
  c.layout.dp = 32;
  c.layout.sequence_parallel = true;
  c.seq_len = 8192;
  c.global_batch = 128;
  c.microbatch = 4;
  c.zero = 1;
  return c;
}

double exposed_dp(const TrainResult& r) { return r.time.dp_grad.exposed + r.time.param_gather.exposed; }

TEST(TrainOverlap, EveryCollectiveIsWholeEqualsHiddenPlusExposed) {
  const hw::ClusterSpec& cl = hardware().cluster("dgx-h100-superpod-16k", "test");
  TrainModel tm = h100_model(*models().find("llama-3.1-8b"), cl);
  for (const TrainConfig& c : {fsdp_config(), megatron_config()}) {
    TrainResult r = tm.evaluate(c);
    ASSERT_TRUE(r.feasible()) << r.infeasible->reason;
    const auto& T = r.time;
    for (const CommTerm& k : {T.tp, T.cp, T.ep, T.pp, T.dp_grad, T.param_gather, T.step_tail}) {
      EXPECT_GE(k.exposed, 0.0);
      EXPECT_GE(k.overlapped(), -1e-12);
    }
    EXPECT_GT(T.dp_grad.total, 0.0);
    EXPECT_GT(T.param_gather.total, 0.0);
    // The breakdown adds up to the step.
    const double parts = T.forward + T.backward + T.recompute + T.tp_comm + T.cp_comm + T.ep_comm + T.pp_comm + T.bubble + T.dp_comm +
                         T.step_tail.exposed + T.contention + T.host + T.optimizer + T.offload;
    EXPECT_NEAR(parts, T.step, 1e-9 * T.step);
  }
}

TEST(TrainOverlap, DoublingScaleOutBandwidthShrinksExposedShardedAndDataParallelTime) {
  const hw::ClusterSpec& cl = hardware().cluster("dgx-h100-superpod-16k", "test");
  const model::ModelSpec& m = *models().find("llama-3.1-8b");
  TrainModel base = h100_model(m, cl);
  TrainModel fast = h100_model(m, with_scale_out_scaled(cl, 2.0));
  for (const TrainConfig& c : {fsdp_config(), megatron_config()}) {
    TrainResult a = base.evaluate(c), b = fast.evaluate(c);
    ASSERT_TRUE(a.feasible() && b.feasible());
    std::printf("zero %d: exposed DP/ZeRO %.4f s -> %.4f s with 2x scale-out bandwidth (whole %.4f -> %.4f s); step %.4f -> %.4f s\n",
                c.zero, exposed_dp(a), exposed_dp(b), a.time.dp_grad.total + a.time.param_gather.total,
                b.time.dp_grad.total + b.time.param_gather.total, a.time.step, b.time.step);
    EXPECT_GT(exposed_dp(a), 0.0);
    EXPECT_LT(exposed_dp(b), 0.8 * exposed_dp(a));
    EXPECT_LT(b.time.dp_grad.total, a.time.dp_grad.total);
    EXPECT_LT(b.time.step, a.time.step);
  }
}

TEST(TrainOverlap, HiddenCollectivesSlowTheComputeBesideThem) {
  const hw::ClusterSpec& cl = hardware().cluster("dgx-h100-superpod-16k", "test");
  TrainModel tm = h100_model(*models().find("llama-3.1-8b"), cl);
  // FSDP: what the gathers and reduce-scatters hide costs the compute beside them κ of that time.
  TrainResult f = tm.evaluate(fsdp_config());
  ASSERT_TRUE(f.feasible());
  const double hidden = f.time.dp_grad.overlapped() + f.time.param_gather.overlapped();
  EXPECT_GT(hidden, 0.0);
  EXPECT_NEAR(f.time.contention, TrainModel::kContention * hidden, 1e-9 * f.time.step);
  // TP overlapped with the GEMMs (userbuffers-style): hidden, not free. The layer's compute with
  // the overlap is slower than alone, and the step is still faster than with TP exposed.
  TrainConfig c = megatron_config();
  c.overlap_tp = true;
  TrainResult o = tm.evaluate(c);
  c.overlap_tp = false;
  TrainResult e = tm.evaluate(c);
  ASSERT_TRUE(o.feasible() && e.feasible());
  std::printf("TP overlap: hidden %.4f s, contention %.4f s; step %.4f s (exposed TP: %.4f s)\n", o.time.tp.overlapped(),
              o.time.contention, o.time.step, e.time.step);
  EXPECT_GT(o.time.tp.overlapped(), 0.0);
  EXPECT_GT(o.time.contention, 0.0);
  EXPECT_GT(o.time.forward + o.time.backward + o.time.contention, e.time.forward + e.time.backward);
  EXPECT_EQ(o.time.forward, e.time.forward);  // the GEMMs alone are the same
  EXPECT_LT(o.time.step, e.time.step);
}

TEST(TrainOverlap, ShardGroupsAndNoReshardChangeWhatIsGathered) {
  const hw::ClusterSpec& cl = hardware().cluster("dgx-h100-superpod-16k", "test");
  TrainModel tm = h100_model(*models().find("llama-3.1-8b"), cl);
  TrainConfig c = fsdp_config();
  TrainResult full = tm.evaluate(c);
  c.reshard_after_forward = false;
  TrainResult keep = tm.evaluate(c);
  ASSERT_TRUE(full.feasible() && keep.feasible());
  // Without resharding the backward gathers nothing: half the gathers, more memory.
  EXPECT_NEAR(keep.time.param_gather.total, full.time.param_gather.total / 2, 0.05 * full.time.param_gather.total);
  EXPECT_GT(keep.memory.total, full.memory.total);
  // HSDP within a node: the gathers stay on NVLink, the gradients are all-reduced across 32 replicas.
  c = fsdp_config();
  c.shard_group = 8;
  TrainResult hsdp = tm.evaluate(c);
  ASSERT_TRUE(hsdp.feasible());
  EXPECT_LT(hsdp.time.param_gather.total, full.time.param_gather.total);
  EXPECT_GT(hsdp.memory.weights, full.memory.weights);
  c.shard_group = 3;
  EXPECT_FALSE(tm.evaluate(c).feasible());
}

TEST(TrainOverlap, InterleavingWithUnevenEndStagesKeepsTheInterleavedBubble) {
  // Llama 3 405B on 16,384 H100 (Dubey et al. 2024, §3.3.2, Table 4): TP 8, PP 16, DP 128, one
  // layer fewer on the first and the last stage (7 + 14 × 8 + 7 = 126), interleaved.
  const hw::ClusterSpec& cl = hardware().cluster("h100-rocev2-24k", "test");
  const model::ModelSpec& m = *models().find("llama-3.1-405b");
  TrainModel tm = h100_model(m, cl);
  TrainConfig c;
  c.layout.tp = 8;
  c.layout.pp = 16;
  c.layout.dp = 128;
  c.layout.sequence_parallel = true;
  c.seq_len = 8192;
  c.global_batch = 2048;  // 16M tokens
  c.microbatch = 1;
  c.zero = 1;
  c.recompute = model::Recompute::kFull;
  c.first_stage_layers = 7;
  c.last_stage_layers = 7;
  const double p = 16, mb = static_cast<double>(c.microbatches());
  auto fraction = [&](int v) {
    c.virtual_stages = v;
    TrainResult r = tm.evaluate(c);
    EXPECT_TRUE(r.feasible()) << (r.infeasible ? r.infeasible->reason : "");
    const double work = r.time.forward + r.time.backward + r.time.recompute + r.time.tp_comm + r.time.contention;
    return std::pair{r.time.bubble / work, r.time.bubble};
  };
  const auto [f1, b1] = fraction(1);
  const auto [f4, b4] = fraction(4);
  std::printf("405B pp16 uneven 7/8/7, m = %.0f: bubble/work %.4f (v=1), %.4f (v=4); (p-1)/m = %.4f, (p-1)/(v m) = %.4f\n", mb, f1, f4,
              (p - 1) / mb, (p - 1) / (4 * mb));
  // The end stages hold fewer layers, so the bubble is a little under the even formula's.
  EXPECT_NEAR(f4, (p - 1) / (4 * mb), 0.15 * (p - 1) / (4 * mb));
  EXPECT_LT(f4, 0.5 * (p - 1) / mb);
  EXPECT_NEAR(b4, b1 / 4, 0.02 * b1);
  // A chunk count that does not divide a middle stage's 8 layers, or end stages shorter than a
  // chunk each, cannot be built.
  c.virtual_stages = 3;
  EXPECT_FALSE(tm.evaluate(c).feasible());
  c.virtual_stages = 8;
  EXPECT_FALSE(tm.evaluate(c).feasible());
}

TEST(TrainOverlap, AllGatherContextParallelismIsPricedAndExposed) {
  const hw::ClusterSpec& cl = hardware().cluster("h100-rocev2-24k", "test");
  TrainModel tm = h100_model(*models().find("llama-3.1-70b"), cl);
  TrainConfig c;
  c.layout.tp = 8;
  c.layout.cp = 4;
  c.layout.pp = 4;
  c.layout.dp = 2;
  c.layout.sequence_parallel = true;
  c.seq_len = 131072;
  c.global_batch = 8;
  c.microbatch = 1;
  c.zero = 1;
  c.recompute = model::Recompute::kFull;
  c.cp_kind = CpKind::kAllGather;
  TrainResult ag = tm.evaluate(c);
  c.cp_kind = CpKind::kRing;
  TrainResult ring = tm.evaluate(c);
  ASSERT_TRUE(ag.feasible() && ring.feasible()) << (ag.infeasible ? ag.infeasible->reason : "");
  std::printf("cp4 128k: all-gather CP whole %.3f s exposed %.3f s; ring whole %.3f s exposed %.3f s\n", ag.time.cp.total,
              ag.time.cp.exposed, ring.time.cp.total, ring.time.cp.exposed);
  EXPECT_GT(ag.time.cp.total, 0.0);
  EXPECT_DOUBLE_EQ(ag.time.cp.exposed, ag.time.cp.total);
  EXPECT_LT(ring.time.cp.exposed, ring.time.cp.total);
  c.layout.cp_all_to_all = true;
  c.cp_kind = CpKind::kAllGather;
  EXPECT_FALSE(tm.evaluate(c).feasible());
}

TEST(TrainOverlap, MegatronPadsTheVocabularyFsdpDoesNot) {
  TrainConfig c;
  c.layout.tp = 8;
  EXPECT_EQ(padded_vocab_size(50257, c), 51200);  // GPT-2/3 tokenizer: 50 × 128 × 8
  c.layout.tp = 1;
  EXPECT_EQ(padded_vocab_size(50257, c), 50304);
  EXPECT_EQ(padded_vocab_size(128256, c), 128256);  // Llama 3: already a multiple of 128
  c.zero = 3;                                       // FSDP-style: the checkpoint's vocabulary
  EXPECT_EQ(padded_vocab_size(50257, c), 50257);
  c.framework = Framework::kMegatron;
  EXPECT_EQ(padded_vocab_size(50257, c), 50304);
  // The padded head costs what its rows cost: GPT-3 175B on tp 8 runs a 51,200-row head.
  const hw::ClusterSpec& cl = hardware().cluster("dgx-h100-superpod-16k", "test");
  const model::ModelSpec& m = *models().find("gpt-3-175b");
  TrainModel tm = h100_model(m, cl);
  TrainConfig g;
  g.layout.tp = 8;
  g.layout.pp = 8;
  g.layout.dp = 4;
  g.seq_len = 2048;
  g.global_batch = 64;
  g.recompute = model::Recompute::kFull;
  TrainResult meg = tm.evaluate(g);
  g.framework = Framework::kFsdp;  // same layout, vocabulary as in the checkpoint
  TrainResult raw = tm.evaluate(g);
  ASSERT_TRUE(meg.feasible() && raw.feasible());
  const double head_flops_per_token = 6.0 * static_cast<double>(m.hidden_size) * (51200.0 - 50257.0);
  EXPECT_NEAR(meg.model_flops_per_step - raw.model_flops_per_step, head_flops_per_token * meg.tokens_per_step,
              0.02 * head_flops_per_token * meg.tokens_per_step);
}

// The loop efficiency (docs/training.md, "Loop efficiency") divides every kernel time and no
// collective: halving it doubles forward, backward and the optimizer step and leaves each TP
// collective whole as it was. Evaluated one after the other on the same model, so the memoised
// layer costs must tell the two apart.
TEST(TrainLoopEfficiency, DividesKernelTimesAndLeavesCollectivesAlone) {
  const hw::ClusterSpec& cl = hardware().cluster("dgx-h100-superpod-16k", "test");
  TrainModel tm = h100_model(*models().find("llama-3.1-8b"), cl);
  TrainConfig one = megatron_config();
  one.loop_efficiency = 1.0;
  TrainConfig half = one;
  half.loop_efficiency = 0.5;
  const TrainResult a = tm.evaluate(one), b = tm.evaluate(half), d = tm.evaluate(megatron_config());
  ASSERT_TRUE(a.feasible() && b.feasible() && d.feasible());
  std::printf("loop efficiency 1 -> 0.5: forward %.4f -> %.4f s, backward %.4f -> %.4f s, TP whole %.4f -> %.4f s\n",
              a.time.forward, b.time.forward, a.time.backward, b.time.backward, a.time.tp.total, b.time.tp.total);
  // Per layer every kernel doubles and every collective stays; the step's forward and backward
  // also hold the embedding's and head's collectives, so they grow a little less than twice.
  const LayerCosts la = tm.layer_costs(one), lb = tm.layer_costs(half), ld = tm.layer_costs(megatron_config());
  EXPECT_NEAR(lb.fwd / la.fwd, 2.0, 1e-12);
  EXPECT_NEAR(lb.bwd / la.bwd, 2.0, 1e-12);
  EXPECT_NEAR(lb.gemm_fwd / la.gemm_fwd, 2.0, 1e-12);
  EXPECT_NEAR(lb.attn_bwd / la.attn_bwd, 2.0, 1e-12);
  EXPECT_NEAR(ld.fwd * kDefaultLoopEfficiency, la.fwd, 1e-12 * la.fwd);  // the default, 0.92
  EXPECT_GT(la.tp_fwd, 0.0);
  EXPECT_DOUBLE_EQ(lb.tp_fwd, la.tp_fwd);
  EXPECT_DOUBLE_EQ(lb.tp_bwd, la.tp_bwd);
  EXPECT_GT(b.time.forward / a.time.forward, 1.95);
  EXPECT_LT(b.time.forward / a.time.forward, 2.0);
  EXPECT_NEAR(b.time.optimizer / a.time.optimizer, 2.0, 1e-12);
  EXPECT_GT(a.time.tp.total, 0.0);
  EXPECT_DOUBLE_EQ(b.time.tp.total, a.time.tp.total);
  EXPECT_GT(b.time.step, a.time.step);
}

TEST(TrainLoopEfficiency, OutsideZeroToOneIsRefusedNamingTheField) {
  const model::ModelSpec& m = *models().find("llama-3.1-8b");
  for (double v : {0.0, -0.5, 1.5, std::nan("")}) {
    TrainConfig c = megatron_config();
    c.loop_efficiency = v;
    const auto bad = check_config(m, c, c.gpus());
    ASSERT_TRUE(bad.has_value()) << v;
    EXPECT_EQ(bad->field, "loop_efficiency");
  }
  TrainConfig c = megatron_config();
  c.loop_efficiency = 1.0;
  EXPECT_FALSE(check_config(m, c, c.gpus()).has_value());
}

}  // namespace
}  // namespace fathom::train
