// Training model: memory formulas of Korthikanti et al. 2022, the pipeline schedule, ZeRO
// sharding, infeasible layouts, determinism and the search (validation: train_validate_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "catalog_fixture.h"
#include "common/version.h"
#include "sim/train/search.h"

namespace fathom::train {
namespace {

using test::hardware;
using test::models;

TrainModel a100_model(const model::ModelSpec& m, int nodes = 128) {
  hw::GpuSpec gpu = hardware().gpu("a100-sxm-80gb", "test");
  return TrainModel(m, gpu, hw::make_cluster(gpu, nodes, 8), model::Precision{});
}

TrainConfig gpt3_config(int tp, int pp, int dp) {
  TrainConfig c;
  c.layout.tp = tp;
  c.layout.pp = pp;
  c.layout.dp = dp;
  c.seq_len = 2048;
  c.global_batch = 1536;
  c.microbatch = 1;
  return c;
}

// Korthikanti et al. 2022, eqs. 1–4: activation bytes per layer for s·b tokens of a GPT layer
// (MHA, MLP 4h, dropout, 16-bit activations).
TEST(TrainMemory, ActivationsMatchKorthikantiFormulas) {
  const model::ModelSpec& m = *models().find("gpt-3-175b");
  const double h = static_cast<double>(m.hidden_size), a = static_cast<double>(m.attention.heads), s = 2048;
  TrainConfig c = gpt3_config(1, 1, 1);
  c.dropout = true;
  c.flash_attention = false;
  struct Case {
    int t;
    bool sp;
    model::Recompute rc;
    double expected;  // bytes per token
  } cases[] = {
      {1, false, model::Recompute::kNone, h * (34 + 5 * a * s / h)},
      {8, false, model::Recompute::kNone, h * (10 + 24.0 / 8 + 5 * a * s / (h * 8))},
      {8, true, model::Recompute::kNone, h * (34.0 / 8 + 5 * a * s / (h * 8))},
      {8, true, model::Recompute::kSelective, h * 34.0 / 8},
      {8, false, model::Recompute::kSelective, h * (10 + 24.0 / 8)},
  };
  for (const Case& k : cases) {
    c.layout.tp = k.t;
    c.layout.sequence_parallel = k.sp;
    c.recompute = k.rc;
    const double got = activation_bytes_per_token_layer(m, c, DType::kBf16);
    std::printf("t=%d sp=%d %-9s: %.1f bytes/token/layer, formula %.1f\n", k.t, k.sp, model::to_string(k.rc).c_str(), got,
                k.expected);
    EXPECT_NEAR(got, k.expected, 1e-9 * k.expected);
  }
  // FlashAttention drops the 5·a·s/h term and keeps an fp32 log-sum-exp per head.
  c.flash_attention = true;
  c.recompute = model::Recompute::kNone;
  c.layout.tp = 8;
  c.layout.sequence_parallel = true;
  EXPECT_NEAR(activation_bytes_per_token_layer(m, c, DType::kBf16), h * 34.0 / 8 + 4.0 * a / 8, 1e-6);
}

TEST(TrainMemory, ZeroStagesShardWhatTheySay) {
  const model::ModelSpec& m = *models().find("llama-3.1-8b");
  TrainModel tm = a100_model(m, 8);
  TrainConfig c;
  c.layout.dp = 64;
  c.seq_len = 4096;
  c.global_batch = 512;
  c.microbatch = 1;
  c.recompute = model::Recompute::kFull;
  TrainResult z[4];
  for (int k = 0; k < 4; ++k) {
    c.zero = k;
    z[k] = tm.evaluate(c);
  }
  const double P = z[0].memory.weights / 2.0;  // bf16 weights
  EXPECT_NEAR(P, 8.03e9, 0.01e9);
  EXPECT_NEAR(z[0].memory.optimizer, 12.0 * P, 1e-6 * P);
  EXPECT_NEAR(z[1].memory.optimizer, 12.0 * P / 64, 1e-6 * P);
  EXPECT_NEAR(z[1].memory.gradients, 4.0 * P, 1e-6 * P);
  EXPECT_NEAR(z[2].memory.gradients, 4.0 * P / 64, 1e-6 * P);
  EXPECT_NEAR(z[2].memory.weights, 2.0 * P, 1e-6 * P);
  EXPECT_NEAR(z[3].memory.weights, 2.0 * P / 64, 1e-6 * P);
  EXPECT_FALSE(z[0].feasible());  // 16 bytes per parameter of an 8B model does not fit 80 GB with activations
  EXPECT_EQ(z[0].infeasible->field, "memory");
  EXPECT_TRUE(z[1].feasible());
  // Offloading the optimizer removes its state from the GPU and costs host-link time.
  c.zero = 0;
  c.offload_optimizer = true;
  TrainResult off = tm.evaluate(c);
  EXPECT_EQ(off.memory.optimizer, 0.0);
  EXPECT_GT(off.time.offload, 0.0);
}

TEST(TrainTime, InterleavingShrinksTheBubbleAsPublished) {
  // Bubble of 1F1B: (p − 1)/m of the ideal time; interleaved over v chunks: (p − 1)/(v·m)
  // (Narayanan et al. 2021, §2.2).
  const model::ModelSpec& m = *models().find("gpt-3-175b");
  TrainModel tm = a100_model(m);
  TrainConfig c = gpt3_config(8, 8, 16);
  c.recompute = model::Recompute::kFull;
  for (int v : {1, 2, 4}) {
    c.virtual_stages = v;
    TrainResult r = tm.evaluate(c);
    ASSERT_TRUE(r.feasible()) << r.infeasible->reason;
    const double ideal = r.time.forward + r.time.backward + r.time.recompute + r.time.tp_comm;
    const double expected = ideal * (8 - 1) / (v * static_cast<double>(c.microbatches()));
    std::printf("v=%d: bubble %.4f s, (p-1)/(v m) x ideal %.4f s\n", v, r.time.bubble, expected);
    EXPECT_NEAR(r.time.bubble, expected, 0.02 * expected);
  }
}

TEST(TrainTime, UnevenStagesMoveTheBottleneck) {
  const model::ModelSpec& m = *models().find("llama-3.1-8b");
  TrainModel tm = a100_model(m, 1);
  TrainConfig c;
  c.layout.pp = 4;
  c.layout.dp = 2;
  c.seq_len = 4096;
  c.global_batch = 64;
  c.recompute = model::Recompute::kFull;
  TrainResult even = tm.evaluate(c);
  // The last stage also runs the 128k-vocabulary head: giving it fewer layers shortens the step.
  c.first_stage_layers = 9;
  c.last_stage_layers = 5;
  ASSERT_FALSE(check_config(m, c, 8));
  TrainResult uneven = tm.evaluate(c);
  std::printf("even 8/8/8/8: %.4f s; uneven 9/9/9/5: %.4f s\n", even.time.step, uneven.time.step);
  EXPECT_LT(uneven.time.step, even.time.step);
  c.last_stage_layers = 6;  // 32 − 9 − 6 = 17 does not split over 2 middle stages
  auto bad = check_config(m, c, 8);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->field, "parallel.first_stage_layers");
}

TEST(TrainCheck, LayoutsThatCannotRunSayWhy) {
  const model::ModelSpec& m = *models().find("gpt-3-175b");
  struct Case {
    int tp, pp, dp;
    int64_t gpus;
    const char* field;
    const char* text;
  } cases[] = {
      {64, 1, 16, 1024, "parallel.tp", "divides the 96 attention heads"},
      {8, 5, 16, 640, "parallel.pp", "divides the 96 layers"},
      {8, 8, 16, 2048, "parallel", "= 2048 GPUs"},
      {8, 8, 7, 448, "global_batch", "multiple of dp × microbatch"},
  };
  for (const Case& k : cases) {
    auto bad = check_config(m, gpt3_config(k.tp, k.pp, k.dp), k.gpus);
    ASSERT_TRUE(bad) << k.field;
    EXPECT_EQ(bad->field, k.field);
    EXPECT_NE(bad->reason.find(k.text), std::string::npos) << bad->reason;
  }
  TrainConfig cp = gpt3_config(8, 8, 8);
  cp.layout.cp = 3;
  auto bad = check_config(m, cp, 1536);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->field, "parallel.cp");
  // Memory over capacity: no recomputation, no sharding, on 8 GPUs.
  TrainModel tm = a100_model(m);
  TrainResult r = tm.evaluate(gpt3_config(8, 1, 1));
  ASSERT_FALSE(r.feasible());
  EXPECT_EQ(r.infeasible->field, "memory");
}

TEST(TrainTime, ContextParallelSplitsAttentionWork) {
  model::ModelSpec m = *models().find("llama-3.1-8b");
  TrainModel tm = a100_model(m, 1);
  TrainConfig c;
  c.layout.dp = 8;
  c.seq_len = 32768;
  c.global_batch = 8;
  c.recompute = model::Recompute::kFull;
  TrainResult one = tm.evaluate(c);
  c.layout.dp = 2;
  c.layout.cp = 4;
  TrainResult four = tm.evaluate(c);
  // Same job, same model FLOPs; each GPU holds a quarter of the sequence's activations.
  EXPECT_NEAR(four.model_flops_per_step, one.model_flops_per_step, 1e-9 * one.model_flops_per_step);
  EXPECT_NEAR(four.memory.activation_bytes_per_layer, one.memory.activation_bytes_per_layer / 4, 1e-6 * one.memory.activation_bytes_per_layer);
}

TEST(TrainTime, SameInputsSameNumbers) {
  const model::ModelSpec& m = *models().find("gpt-3-175b");
  TrainModel a = a100_model(m), b = a100_model(m);
  TrainConfig c = gpt3_config(8, 8, 16);
  c.virtual_stages = 2;
  c.recompute = model::Recompute::kSelective;
  const TrainResult x = a.evaluate(c);
  a.evaluate(gpt3_config(4, 8, 32));  // a warm cache must not change the answer
  const TrainResult y = a.evaluate(c), z = b.evaluate(c);
  EXPECT_EQ(x.time.step, y.time.step);
  EXPECT_EQ(x.time.step, z.time.step);
  EXPECT_EQ(x.memory.total, z.memory.total);
}

TEST(TrainSearch, Gpt3On1024A100RanksFeasibleLayoutsAndCountsRejections) {
  const model::ModelSpec& m = *models().find("gpt-3-175b");
  TrainModel tm = a100_model(m);
  TrainConfig base = gpt3_config(1, 1, 1);
  SearchOptions o;
  o.gpu_counts = {1024};
  o.top = 5;
  SearchResult r = search(tm, base, o, 300e9);
  std::printf("%lld costed, %lld feasible, %lld rejected\n", static_cast<long long>(r.evaluated),
              static_cast<long long>(r.feasible), static_cast<long long>(r.rejected_total));
  ASSERT_EQ(r.top.size(), 5u);
  EXPECT_GT(r.evaluated, 10000);
  EXPECT_GT(r.rejected.at("memory").count, 0);
  EXPECT_GT(r.rejected.at("parallel.tp").count, 0);
  for (size_t i = 0; i < r.top.size(); ++i) {
    EXPECT_TRUE(r.top[i].feasible());
    EXPECT_LE(r.top[i].memory.total, r.top[i].memory.capacity);
    EXPECT_EQ(r.top[i].config.gpus(), 1024);
    if (i > 0) {
      EXPECT_GE(r.top[i].time.step, r.top[i - 1].time.step);
    }
  }
  // Deterministic: a second search gives the same ranking.
  SearchResult again = search(a100_model(m), base, o, 300e9);
  for (size_t i = 0; i < r.top.size(); ++i) EXPECT_EQ(again.top[i].time.step, r.top[i].time.step);
}

}  // namespace
}  // namespace fathom::train
