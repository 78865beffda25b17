#include "sim/model/sized_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "catalog_fixture.h"
#include "common/error.h"
#include "sim/model/params.h"

namespace fathom::model {

// Requests at the released Llama 3.1 sizes (their own released_params) give back models within 3%
// of the request whose shapes are the released ones, or next to them: hidden and layers equal,
// the FFN width within 5% (the width absorbs what the rounding of the count leaves).
TEST(SizedModel, LlamaRequestsAtReleasedSizesRebuildTheReleasedShapes) {
  for (const char* name : {"llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b"}) {
    const ModelSpec* rel = test::models().find(name);
    ASSERT_NE(rel, nullptr) << name;
    const double want = *rel->released_params;
    const ModelSpec m = sized_model("llama", want);
    const double got = count_params(m).total;
    std::printf("%-15s request %.4g -> %.4g (%+.2f%%): L%lld d%lld ffn%lld (released L%lld d%lld ffn%lld)\n", name,
                want, got, 100 * (got / want - 1), static_cast<long long>(m.layers),
                static_cast<long long>(m.hidden_size), static_cast<long long>(m.ffn.hidden),
                static_cast<long long>(rel->layers), static_cast<long long>(rel->hidden_size),
                static_cast<long long>(rel->ffn.hidden));
    EXPECT_NEAR(got / want, 1, 0.03) << name;
    EXPECT_EQ(m.hidden_size, rel->hidden_size) << name;
    EXPECT_EQ(m.layers, rel->layers) << name;
    EXPECT_NEAR(static_cast<double>(m.ffn.hidden) / static_cast<double>(rel->ffn.hidden), 1, 0.05) << name;
    EXPECT_EQ(m.attention.kv_heads, rel->attention.kv_heads) << name;
    EXPECT_EQ(m.attention.head_dim, rel->attention.head_dim) << name;
    EXPECT_EQ(m.vocab_size, rel->vocab_size) << name;
  }
}

// Round requests from 1B to 2T parameters: every count within 3%, shapes valid (heads divide
// into KV heads, FFN a multiple of 256), and the width never shrinks as the
// request grows (nor the depth at the same width: a step up in width may take a layer or two).
TEST(SizedModel, LlamaCountsStayWithinThreePercentAcrossSizes) {
  int64_t last_layers = 0, last_hidden = 0;
  for (double p = 1e9; p <= 2e12; p *= 1.5) {
    const ModelSpec m = sized_model("llama", p);
    const double got = count_params(m).total;
    EXPECT_NEAR(got / p, 1, 0.03) << p;
    EXPECT_EQ(m.attention.heads * m.attention.head_dim, m.hidden_size) << p;
    EXPECT_EQ(m.attention.heads % m.attention.kv_heads, 0) << p;
    EXPECT_EQ(m.ffn.hidden % 256, 0) << p;
    EXPECT_GE(m.hidden_size, last_hidden) << p;
    if (m.hidden_size == last_hidden) {
      EXPECT_GE(m.layers, last_layers) << p;
    }
    last_layers = m.layers;
    last_hidden = m.hidden_size;
    // A valid catalog model: what sized_model builds reads back through the catalog parser.
    const ModelSpec back = parse_model(parse_yaml(to_yaml(m), "sized"));
    EXPECT_DOUBLE_EQ(count_params(back).total, got) << p;
  }
}

TEST(SizedModel, UnknownFamilyAndAbsurdSizesAreErrors) {
  EXPECT_THROW(sized_model("gpt-2", 1e9), FlagError);
  EXPECT_THROW(sized_model("llama", 5e8), FlagError);
  EXPECT_THROW(sized_model("llama", std::nan("")), FlagError);
}

}  // namespace fathom::model
