// CUDA builds only (reference.cpp is compiled into fathom_calib_run), but nothing here touches a
// GPU: the suite's host references against values worked out by hand. The decoders are checked
// on bit patterns whose values follow from the format definitions (IEEE 754-2008 binary16;
// bfloat16 = the top half of binary32; OCP 8-bit Floating Point Specification v1.0, E4M3 with
// bias 7 and S.1111.111 as its only NaN); the GEMM, attention and row-wise references on inputs
// small enough to multiply out on paper.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "calib/cuda/reference.h"

namespace fathom::calib::cuda {
namespace {

// Every input below is exact in float and every reference computes in double, so the only
// difference from the closed forms is a few double roundings (≈1e-16 each); 1e-12 relative to
// the values' scale (order 1 in every case) leaves room for those and for nothing else.
constexpr double kRel = 1e-12;

void expect_values(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], kRel * std::max(1.0, std::abs(want[i]))) << "at index " << i;
  }
}

// --- decoders --------------------------------------------------------------------------------

TEST(Bf16ToFloat, DecodesNormalValuesAsTheTopHalfOfAnFp32) {
  EXPECT_EQ(bf16_to_float(0x3F80), 1.0f);         // 0 01111111 0000000
  EXPECT_EQ(bf16_to_float(0xC000), -2.0f);        // 1 10000000 0000000
  EXPECT_EQ(bf16_to_float(0x3FC0), 1.5f);         // 0 01111111 1000000
  EXPECT_EQ(bf16_to_float(0x4049), 3.140625f);    // 2 · (1 + 73/128), π rounded to bf16
  EXPECT_EQ(bf16_to_float(0x7F7F), 0x1.FEp127f);  // largest finite: (2 − 2^-7) · 2^127
}

TEST(Bf16ToFloat, DecodesInfinitiesNanAndSignedZero) {
  EXPECT_EQ(bf16_to_float(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bf16_to_float(0xFF80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_float(0x7FC0)));  // quiet NaN
  EXPECT_TRUE(std::isnan(bf16_to_float(0x7F81)));  // signalling-NaN payload: still NaN
  EXPECT_EQ(bf16_to_float(0x8000), 0.0f);
  EXPECT_TRUE(std::signbit(bf16_to_float(0x8000)));
}

TEST(Bf16ToFloat, DecodesSubnormals) {
  EXPECT_EQ(bf16_to_float(0x0001), 0x1p-133f);  // 2^-126 · 2^-7, the smallest subnormal
  EXPECT_EQ(bf16_to_float(0x0040), 0x1p-127f);  // 2^-126 · 1/2
  EXPECT_EQ(bf16_to_float(0x8001), -0x1p-133f);
}

TEST(Fp16ToFloat, DecodesNormalValues) {
  EXPECT_EQ(fp16_to_float(0x3C00), 1.0f);             // 0 01111 0000000000
  EXPECT_EQ(fp16_to_float(0xC000), -2.0f);            // 1 10000 0000000000
  EXPECT_EQ(fp16_to_float(0x7BFF), 65504.0f);         // largest finite: (2 − 2^-10) · 2^15
  EXPECT_EQ(fp16_to_float(0x0400), 0x1p-14f);         // smallest normal
  EXPECT_EQ(fp16_to_float(0x3555), 0.333251953125f);  // 1/3 rounded: (1 + 341/1024) · 2^-2
}

TEST(Fp16ToFloat, DecodesSubnormals) {
  EXPECT_EQ(fp16_to_float(0x0001), 0x1p-24f);            // 2^-14 · 2^-10, the smallest subnormal
  EXPECT_EQ(fp16_to_float(0x03FF), 1023.0f * 0x1p-24f);  // largest subnormal
  EXPECT_EQ(fp16_to_float(0x8001), -0x1p-24f);
}

TEST(Fp16ToFloat, DecodesInfinitiesNanAndSignedZero) {
  EXPECT_EQ(fp16_to_float(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_float(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fp16_to_float(0x7E00)));
  EXPECT_TRUE(std::isnan(fp16_to_float(0x7C01)));
  EXPECT_EQ(fp16_to_float(0x8000), 0.0f);
  EXPECT_TRUE(std::signbit(fp16_to_float(0x8000)));
}

TEST(E4m3ToFloat, DecodesNormalValues) {
  EXPECT_EQ(e4m3_to_float(0x38), 1.0f);  // 0 0111 000: 2^(7−7)
  EXPECT_EQ(e4m3_to_float(0xB8), -1.0f);
  EXPECT_EQ(e4m3_to_float(0x3C), 1.5f);     // 0 0111 100
  EXPECT_EQ(e4m3_to_float(0x08), 0x1p-6f);  // smallest normal
  EXPECT_EQ(e4m3_to_float(0x7E), 448.0f);   // largest finite: (1 + 6/8) · 2^8
  // E4M3 has no infinities: exponent 1111 is an ordinary binade except for mantissa 111.
  EXPECT_EQ(e4m3_to_float(0x78), 256.0f);
  EXPECT_EQ(e4m3_to_float(0xFE), -448.0f);
}

TEST(E4m3ToFloat, DecodesSubnormals) {
  EXPECT_EQ(e4m3_to_float(0x01), 0x1p-9f);         // 2^-6 · 1/8
  EXPECT_EQ(e4m3_to_float(0x07), 7.0f * 0x1p-9f);  // largest subnormal
  EXPECT_EQ(e4m3_to_float(0x81), -0x1p-9f);
  EXPECT_EQ(e4m3_to_float(0x80), 0.0f);
  EXPECT_TRUE(std::signbit(e4m3_to_float(0x80)));
}

TEST(E4m3ToFloat, OnlyAllOnesExponentAndMantissaIsNan) {
  EXPECT_TRUE(std::isnan(e4m3_to_float(0x7F)));
  EXPECT_TRUE(std::isnan(e4m3_to_float(0xFF)));
  for (int bits = 0; bits < 256; ++bits) {
    if ((bits & 0x7F) == 0x7F) continue;
    EXPECT_TRUE(std::isfinite(e4m3_to_float(static_cast<uint8_t>(bits)))) << "bits 0x" << std::hex << bits;
  }
}

// --- GEMM ------------------------------------------------------------------------------------

// y = x · wᵀ with w stored [n, k]: row j of w is column j of the 3×2 right-hand factor.
//   x = | 1 2 3 |   wᵀ = | 7 10 |   y = | 1·7+2·8+3·9  1·10+2·11+3·12 | = |  50  68 |
//       | 4 5 6 |        | 8 11 |       | 4·7+5·8+6·9  4·10+5·11+6·12 |   | 122 167 |
//                        | 9 12 |
// Reading w as [k, n] instead would give y[0][0] = 1·7 + 2·9 + 3·11 = 58.
TEST(GemmReference, MultipliesByTheTransposeOfAnNByKWeight) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  const std::vector<float> w = {7, 8, 9, 10, 11, 12};
  expect_values(gemm_reference(x, w, GemmShape{2, 2, 3, 1}), {50, 68, 122, 167});
}

TEST(GemmReference, KeepsBatchesConsecutive) {
  // Batch 1: x = [[1,0,0],[0,1,0]] selects rows of wᵀ, so y = [[1,4],[2,5]] for w = [[1,2,3],[4,5,6]].
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0};
  const std::vector<float> w = {7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6};
  expect_values(gemm_reference(x, w, GemmShape{2, 2, 3, 2}), {50, 68, 122, 167, 1, 4, 2, 5});
}

TEST(GemmReference, RejectsInputsSmallerThanTheShape) {
  const std::vector<float> x(6, 1.0f), w(5, 1.0f);
  EXPECT_THROW(gemm_reference(x, w, GemmShape{2, 2, 3, 1}), std::invalid_argument);
}

// --- attention -------------------------------------------------------------------------------

// One head, d = 2, scale 1/√2. Q = [q0, q1] = [[1,1],[2,0]], K = [[1,0],[0,2]], V = [[1,2],[3,-1]].
//   query 0: scores (1/√2, 2/√2); p1 = 1/(1 + e^(−1/√2)) = 0.66976…; o = (1 + 2·p1, 2 − 3·p1)
//   query 1: scores (2/√2, 0);    p0 = 1/(1 + e^(−√2))   = 0.80442…; o = (3 − 2·p0, 3·p0 − 1)
// Causal with q = kv: query 0 sees key 0 only, so its output is v0 exactly; query 1 sees both.
AttentionShape one_head(int64_t q_len, int64_t kv_len, bool causal) {
  return AttentionShape{1, 1, 1, q_len, kv_len, 2, causal};
}
const std::vector<float> kQ = {1, 1, 2, 0};
const std::vector<float> kK = {1, 0, 0, 2};
const std::vector<float> kV = {1, 2, 3, -1};
const std::vector<double> kQuery0AllKeys = {2.3395230986533138, -0.00928464797997064};
const std::vector<double> kQuery1AllKeys = {1.3911406349860862, 1.4132890475208706};

TEST(AttentionReference, NonCausalIsSoftmaxOfScaledScoresTimesValues) {
  expect_values(attention_reference(kQ, kK, kV, one_head(2, 2, false)),
                {kQuery0AllKeys[0], kQuery0AllKeys[1], kQuery1AllKeys[0], kQuery1AllKeys[1]});
}

TEST(AttentionReference, CausalMasksKeysAfterTheQuery) {
  expect_values(attention_reference(kQ, kK, kV, one_head(2, 2, true)), {1, 2, kQuery1AllKeys[0], kQuery1AllKeys[1]});
}

TEST(AttentionReference, CausalAlignsQueriesToTheEndOfTheKeys) {
  // A single decode query is the last position, so it sees every key (aligned to the start it
  // would see key 0 only and return v0 = (1, 2)).
  const std::vector<float> q0 = {1, 1};
  expect_values(attention_reference(q0, kK, kV, one_head(1, 2, true)), kQuery0AllKeys);
}

TEST(AttentionReference, QueryHeadReadsKvHeadHOverGroupSize) {
  // 4 query heads on 2 KV heads: heads 0, 1 read KV head 0 and heads 2, 3 read KV head 1. K = 0
  // makes the weights uniform, so each output is the mean over keys of its KV head's values.
  // V [batch, kv, kv_heads, d]: batch 0 has (1,2) (3,4) at key 0 and (5,6) (7,8) at key 1, so
  // KV head 0 averages to (3,4) and KV head 1 to (5,6); batch 1 is batch 0 plus 10.
  const AttentionShape a{2, 4, 2, 1, 2, 2, false};
  const std::vector<float> q(2 * 1 * 4 * 2, 1.0f);
  const std::vector<float> k(2 * 2 * 2 * 2, 0.0f);
  const std::vector<float> v = {1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 17, 18};
  expect_values(attention_reference(q, k, v, a), {3, 4, 3, 4, 5, 6, 5, 6, 13, 14, 13, 14, 15, 16, 15, 16});
}

TEST(AttentionReference, RejectsHeadsNotAMultipleOfKvHeads) {
  const AttentionShape a{1, 3, 2, 1, 1, 2, false};
  const std::vector<float> q(6, 1.0f), kv(4, 1.0f);
  EXPECT_THROW(attention_reference(q, kv, kv, a), std::invalid_argument);
}

// --- row-wise --------------------------------------------------------------------------------

TEST(RmsnormReference, DividesEachRowByItsRootMeanSquareAndScalesByColumnWeight) {
  // Row 0: mean square (4+4+4+4)/4 = 4, rms 2. Row 1: mean square 16/4 = 4, rms 2.
  const std::vector<float> x = {2, -2, 2, -2, 0, 0, 0, 4};
  const std::vector<float> w = {1, 2, 3, 4};
  expect_values(rmsnorm_reference(x, w, 2, 4, 0.0), {1, -2, 3, -4, 0, 0, 0, 8});
}

TEST(RmsnormReference, AddsEpsilonInsideTheRoot) {
  // mean square 1, eps 3: 1/√(1 + 3) = 1/2.
  expect_values(rmsnorm_reference({1, -1}, {1, 1}, 1, 2, 3.0), {0.5, -0.5});
}

TEST(SoftmaxReference, NormalisesEachRowSeparately) {
  // softmax(1, 2, 3) = e^(i−3) / (e^-2 + e^-1 + 1); a constant row is uniform.
  expect_values(softmax_reference({1, 2, 3, 5, 5, 5}, 2, 3),
                {0.09003057317038046, 0.24472847105479767, 0.6652409557748219, 1.0 / 3, 1.0 / 3, 1.0 / 3});
}

TEST(SoftmaxReference, IsStableForLargeLogits) {
  // e^1000 overflows a double; softmax is shift-invariant, so (1000, 1001) = softmax(0, 1).
  expect_values(softmax_reference({1000, 1001}, 1, 2), {1 / (1 + std::exp(1.0)), 1 / (1 + std::exp(-1.0))});
}

TEST(SiluMulReference, MultipliesSiluOfTheFirstInputByTheSecond) {
  // silu(x) = x / (1 + e^-x): silu(1) = 0.731058…, silu(−1) = −0.268941…, silu(2) = 1.761594…
  expect_values(silu_mul_reference({0, 1, -1, 2}, {5, 2, 3, 0.5f}),
                {0, 1.4621171572600098, -0.8068242641099853, 0.8807970779778823});
}

TEST(AddReference, AddsInDoublePrecision) {
  // 2^24 + 1 is not a float (it rounds to 2^24) but is exact in double.
  const std::vector<double> sum = add_reference({16777216.0f, 1.5f, -2}, {1, 0.25f, 2});
  ASSERT_EQ(sum.size(), 3u);
  EXPECT_EQ(sum[0], 16777217.0);
  EXPECT_EQ(sum[1], 1.75);
  EXPECT_EQ(sum[2], 0.0);
}

// --- comparison ------------------------------------------------------------------------------

TEST(CompareRows, IdenticalValuesHaveZeroError) {
  const Comparison c = compare_rows({1, 2, 3, 4}, {1, 2, 3, 4}, 2, 2);
  EXPECT_EQ(c.worst, 0.0);
  EXPECT_NO_THROW(require_close(c, kCheckTolerance, "identical"));
}

TEST(CompareRows, ScalesEachRowByItsOwnLargestReference) {
  // Row 0: |1001 − 1000| / 1000 = 1e-3. Row 1: |1.5 − 1| / 1 = 0.5, the worst although its
  // absolute error is smaller than row 0's.
  const Comparison c = compare_rows({1001, 0, 1.5f, 0.5f}, {1000, 0, 1, 0.5}, 2, 2);
  EXPECT_EQ(c.row, 1);
  EXPECT_DOUBLE_EQ(c.err, 0.5);
  EXPECT_DOUBLE_EQ(c.scale, 1.0);
  EXPECT_DOUBLE_EQ(c.worst, 0.5);
}

TEST(RequireClose, PassesWithinToleranceAndThrowsBeyond) {
  // |101 − 100| / 100 = 1e-2 against the 2e-2 bound, and against a 5e-3 one.
  const Comparison c = compare_rows({101, 1}, {100, 1}, 1, 2);
  EXPECT_DOUBLE_EQ(c.worst, 1e-2);
  EXPECT_NO_THROW(require_close(c, kCheckTolerance, "within"));
  try {
    require_close(c, 5e-3, "gemm m=1,n=2,k=1");
    FAIL() << "expected a throw";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("self-check failed: gemm m=1,n=2,k=1: row 0", 0), 0u) << e.what();
  }
}

TEST(RequireClose, FailsOnANonFiniteResult) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Comparison with_nan = compare_rows({1, 1, 1, nan}, {1, 1, 1, 1}, 2, 2);
  EXPECT_EQ(with_nan.row, 1);
  EXPECT_TRUE(std::isinf(with_nan.worst));
  EXPECT_THROW(require_close(with_nan, kCheckTolerance, "nan"), std::runtime_error);
  EXPECT_THROW(require_close(compare_rows({inf, 1}, {1, 1}, 1, 2), kCheckTolerance, "inf"), std::runtime_error);
}

TEST(CompareRows, RejectsFewerValuesThanTheShape) {
  EXPECT_THROW(compare_rows({1, 2, 3}, {1, 2, 3, 4}, 2, 2), std::invalid_argument);
  EXPECT_THROW(compare_rows({1, 2, 3, 4}, {1, 2, 3}, 2, 2), std::invalid_argument);
}

// --- inputs that must be refused, not read out of bounds -----------------------------------

TEST(AttentionReference, RejectsCausalWithMoreQueriesThanKeys) {
  const std::vector<float> q(3 * 2, 1.0f);
  EXPECT_THROW(attention_reference(q, kK, kV, one_head(3, 2, true)), std::invalid_argument);
}

TEST(RowwiseReferences, RejectInputsSmallerThanTheShape) {
  const std::vector<float> two = {1, 2}, three = {1, 2, 3};
  EXPECT_THROW(silu_mul_reference(three, two), std::invalid_argument);
  EXPECT_THROW(add_reference(three, two), std::invalid_argument);
  EXPECT_THROW(rmsnorm_reference(three, two, 2, 2, 1e-6), std::invalid_argument);  // x holds 3 of 4
  EXPECT_THROW(rmsnorm_reference(two, {1}, 1, 2, 1e-6), std::invalid_argument);    // w holds 1 of 2
  EXPECT_THROW(softmax_reference(three, 2, 2), std::invalid_argument);
}

TEST(RequireClose, FailsOnANonFiniteReference) {
  // A reference that came out NaN (a softmax row of −inf) must not pass as "no error".
  const std::vector<float> got = {1, 2};
  const std::vector<double> ref = {std::nan(""), std::nan("")};
  EXPECT_THROW(require_close(compare_rows(got, ref, 1, 2), 2e-2, "nan reference"), std::runtime_error);
}

}  // namespace
}  // namespace fathom::calib::cuda
