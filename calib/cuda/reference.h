#pragma once
// Host references for the suite's self-checks: each benchmarked kernel's first timed repeat is
// compared with a plain double-precision computation on the same inputs, copied back, so that
// a wrong index, mask or layout fails the run loudly instead of timing a wrong kernel.
#include <cstdint>
#include <string>
#include <vector>

#include "calib/measure.h"

namespace fathom::calib::cuda {

// Exact widening of the 16- and 8-bit formats (IEEE binary16; bfloat16; OCP FP8 E4M3, whose
// only non-finite code is S.1111.111 = NaN).
float bf16_to_float(uint16_t bits);
float fp16_to_float(uint16_t bits);
float e4m3_to_float(uint8_t bits);

// A loose bound for kernels that round inputs, intermediates or outputs to bf16 (8 significant
// bits: 2^-9 ≈ 0.2 % per rounding): about ten roundings' worth, while a wrong index, mask or
// layout is off by the order of the values themselves.
constexpr double kCheckTolerance = 2e-2;

// The worst row of a [rows, cols] result: its largest |got − ref| over the largest |ref| of the
// same row (each row is normalised by its own scale, so a small row's error is not hidden by a
// large one). A non-finite `got` counts as infinitely wrong.
struct Comparison {
  double worst = 0;  // relative error of the worst row
  int64_t row = -1;
  double err = 0, scale = 0;
};
Comparison compare_rows(const std::vector<float>& got, const std::vector<double>& ref, int64_t rows, int64_t cols);
// Throws std::runtime_error("self-check failed: <what>: row …") when c.worst > tolerance.
void require_close(const Comparison& c, double tolerance, const std::string& what);

// y[m×n] = x[m×k] · w[n×k]ᵀ, per batch (x, w, y consecutive per batch).
std::vector<double> gemm_reference(const std::vector<float>& x, const std::vector<float>& w, const GemmShape& g);
std::vector<double> silu_mul_reference(const std::vector<float>& a, const std::vector<float>& b);
std::vector<double> add_reference(const std::vector<float>& a, const std::vector<float>& b);
std::vector<double> rmsnorm_reference(const std::vector<float>& x, const std::vector<float>& w, int64_t rows,
                                      int64_t cols, double eps);
std::vector<double> softmax_reference(const std::vector<float>& x, int64_t rows, int64_t cols);
// Q, O [batch, q, heads, d], K, V [batch, kv, kv_heads, d]; scale 1/sqrt(d); causal with queries
// aligned to the end of the keys; query head h reads KV head h / (heads / kv_heads).
std::vector<double> attention_reference(const std::vector<float>& q, const std::vector<float>& k,
                                        const std::vector<float>& v, const AttentionShape& a);

}  // namespace fathom::calib::cuda
