#include "sim/model/ops_builder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "catalog_fixture.h"
#include "sim/model/params.h"

namespace fathom::model {

namespace {
double matmul_model_flops(const std::vector<hw::Op>& ops) {
  double f = 0;
  for (const auto& op : ops)
    if (op.kind == hw::OpKind::kGemm || op.kind == hw::OpKind::kAttention) f += op.model_flops * op.count;
  return f;
}
}  // namespace

// Narayanan et al. 2021, §5.1: without recomputation a training step of a GPT model costs
// 72·B·s·l·h²·(1 + s/(6h) + V/(12·h·l)) FLOPs (full s² attention, as Megatron computes it).
TEST(Operations, TrainingFlopsMatchMegatronFormulaForGptShapes) {
  for (const char* name : {"gpt-1.7b", "gpt-18.4b", "gpt-145.6b", "gpt-3-175b", "gpt-1008b"}) {
    const ModelSpec& m = *test::models().find(name);
    Batch b;
    b.sequences = 4;
    b.seq_len = 2048;
    OpsOptions o;
    o.causal_skip = false;
    o.include_optimizer = false;
    auto ops = build_ops(m, Phase::kTrain, b, Layout{}, Precision{}, o);
    const double B = 4, s = 2048, l = static_cast<double>(m.layers), h = static_cast<double>(m.hidden_size),
                 V = static_cast<double>(m.vocab_size);
    const double expected = 72 * B * s * l * h * h * (1 + s / (6 * h) + V / (12 * h * l));
    EXPECT_NEAR(matmul_model_flops(ops) / expected, 1.0, 1e-12) << name;
  }
}

// The same step with tensor and pipeline parallelism: the per-GPU share times the GPUs gives
// the same total.
TEST(Operations, ParallelLayoutsSplitTheWorkExactly) {
  const ModelSpec& m = *test::models().find("gpt-3-175b");
  Batch b{1, 2048, 8};
  OpsOptions o;
  o.include_optimizer = false;
  const double one = matmul_model_flops(build_ops(m, Phase::kTrain, b, Layout{}, Precision{}, o));
  Layout L;
  L.tp = 8;
  L.pp = 8;
  const double split = matmul_model_flops(build_ops(m, Phase::kTrain, b, L, Precision{}, o));
  // The LM head's vocabulary (50,257) is padded up to a multiple of tp, hence the tolerance.
  EXPECT_NEAR(split * 64 / one, 1.0, 1e-4);
}

// Training FLOPs per token of catalog models: 6·N (N = parameters in matrix products, active
// experts only) plus 3 × the attention scores and values at the causal average context.
TEST(Operations, TrainingFlopsPerTokenAreSixNPlusAttention) {
  for (const char* name : {"llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "qwen2.5-7b", "deepseek-v3", "jamba-v0.1"}) {
    const ModelSpec& m = *test::models().find(name);
    const double s = 4096;
    Batch b{1, static_cast<int64_t>(s), 1};
    OpsOptions o;
    o.include_optimizer = false;
    auto ops = build_ops(m, Phase::kTrain, b, Layout{}, Precision{}, o);
    const ParamCount p = count_params(m);
    const auto& a = m.attention;
    const double attn = 3.0 * 2.0 * static_cast<double>(a.heads * (a.qk_dim() + a.v_dim())) * (s + 1) / 2.0 *
                        static_cast<double>(m.attention_layer_count());
    const double expected = 6.0 * p.matmul_active + attn;
    const double got = matmul_model_flops(ops) / s;
    std::printf("%-14s %.4g FLOP/token (6N + attention: %.4g, %+.3f%%)\n", name, got, expected, 100 * (got / expected - 1));
    // Uniform routing gives each expert T·k/E tokens exactly; the Mamba x_proj is counted at
    // its full width. 0.5% covers nothing but those.
    EXPECT_NEAR(got / expected, 1.0, 0.005) << name;
  }
}

TEST(Operations, DecodeReadsAllWeightsAndTheKvCache) {
  const ModelSpec& m = *test::models().find("llama-3.1-70b");
  Layout L;
  L.tp = 8;
  Batch b{64, 2048, 1};
  auto ops = build_ops(m, Phase::kDecode, b, L, Precision{}, {});
  double w = 0, kv = 0;
  for (const auto& op : ops) {
    w += op.weight_bytes * op.count;
    if (op.kind == hw::OpKind::kAttention) kv += op.kv_bytes * op.count;
  }
  const ParamCount p = count_params(m);
  // Every weight except the embedding table is read once per iteration, split over 8 GPUs.
  EXPECT_NEAR(w / ((p.total - p.embedding) * 2 / 8), 1.0, 0.002);
  // KV read: 64 sequences × 2048 tokens × 327,680 bytes / 8 GPUs.
  EXPECT_NEAR(kv, 64.0 * 2048 * 327680 / 8, 1.0);
}

TEST(Operations, Fp8WeightsHalveWeightBytesAndRunFp8Gemms) {
  const ModelSpec& m = *test::models().find("llama-3.1-8b");
  Precision p8;
  p8.weights = DType::kFp8;
  Precision i4;
  i4.weights = DType::kInt4;
  Batch b{8, 1024, 1};
  auto w = [&](const Precision& p, DType& dt) {
    double sum = 0;
    for (const auto& op : build_ops(m, Phase::kDecode, b, Layout{}, p, {})) {
      sum += op.weight_bytes * op.count;
      if (op.name == "mlp.down_proj") dt = op.dtype;
    }
    return sum;
  };
  DType d16, d8, d4;
  const double w16 = w(Precision{}, d16), w8 = w(p8, d8), w4 = w(i4, d4);
  EXPECT_NEAR(w8 / w16, 0.5, 1e-9);
  EXPECT_NEAR(w4 / w16, 0.25, 1e-9);
  EXPECT_EQ(d16, DType::kBf16);
  EXPECT_EQ(d8, DType::kFp8);
  EXPECT_EQ(d4, DType::kBf16);  // W4A16: dequantised in the kernel
}

TEST(Operations, MoeDecodeReadsOnlyTheExpertsItRoutesTo) {
  const ModelSpec& m = *test::models().find("mixtral-8x7b");
  auto expert_bytes = [&](int64_t batch) {
    double sum = 0;
    for (const auto& op : build_ops(m, Phase::kDecode, Batch{batch, 512, 1}, Layout{}, Precision{}, {}))
      if (op.category == "moe" && op.kind == hw::OpKind::kGemm && op.name != "moe.router") sum += op.weight_bytes * op.count;
    return sum;
  };
  // One token picks 2 of 8 experts: 1 − (6/8) = 1/4 of the expert weights; a large batch reads all.
  const double all = 32.0 * 8 * 3 * 4096 * 14336 * 2;
  EXPECT_NEAR(expert_bytes(1) / all, 0.25, 1e-9);
  EXPECT_NEAR(expert_bytes(256) / all, 1.0, 1e-6);
}

TEST(Operations, EveryCatalogModelDecomposesInEveryPhase) {
  for (const auto& m : test::models().models()) {
    for (Phase ph : {Phase::kTrain, Phase::kPrefill, Phase::kDecode}) {
      auto ops = build_ops(m, ph, Batch{2, 256, 2}, Layout{}, Precision{}, {});
      ASSERT_FALSE(ops.empty()) << m.name;
      for (const auto& op : ops) {
        EXPECT_TRUE(std::isfinite(op.flops) && op.flops >= 0) << m.name << " " << op.name;
        EXPECT_TRUE(std::isfinite(op.bytes) && op.bytes >= 0) << m.name << " " << op.name;
        EXPECT_GT(op.count, 0) << m.name << " " << op.name;
      }
    }
  }
}

TEST(Operations, TensorParallelMustDivideHeads) {
  const ModelSpec& m = *test::models().find("llama-3.1-70b");  // 64 heads, 8 KV heads
  Layout L;
  L.tp = 3;
  try {
    build_ops(m, Phase::kDecode, Batch{1, 16, 1}, L, Precision{}, {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("divides the 64 attention heads"), std::string::npos) << e.what();
  }
}

}  // namespace fathom::model
