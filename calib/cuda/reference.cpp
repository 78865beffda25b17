#include "calib/cuda/reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace fathom::calib::cuda {

float bf16_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;  // bf16 is the top half of an fp32
  float f = 0;
  std::memcpy(&f, &wide, sizeof f);
  return f;
}

float fp16_to_float(uint16_t bits) {
  const bool negative = (bits & 0x8000u) != 0;
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  double v = 0;
  if (exponent == 0) {
    v = std::ldexp(static_cast<double>(mantissa), -24);  // subnormal: m · 2^-24
  } else if (exponent == 31) {
    v = mantissa == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else {
    v = std::ldexp(static_cast<double>(mantissa + 1024), exponent - 25);  // (1 + m/1024) · 2^(e−15)
  }
  return static_cast<float>(negative ? -v : v);
}

float e4m3_to_float(uint8_t bits) {
  const bool negative = (bits & 0x80u) != 0;
  const int exponent = (bits >> 3) & 0xf;
  const int mantissa = bits & 0x7;
  double v = 0;
  if (exponent == 15 && mantissa == 7) {
    v = std::numeric_limits<double>::quiet_NaN();
  } else if (exponent == 0) {
    v = std::ldexp(static_cast<double>(mantissa), -9);  // subnormal: (m/8) · 2^-6
  } else {
    v = std::ldexp(static_cast<double>(mantissa + 8), exponent - 10);  // (1 + m/8) · 2^(e−7)
  }
  return static_cast<float>(negative ? -v : v);
}

Comparison compare_rows(const std::vector<float>& got, const std::vector<double>& ref, int64_t rows, int64_t cols) {
  const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  if (got.size() < n || ref.size() < n) {
    throw std::invalid_argument("self-check: expected " + std::to_string(n) + " values, found " +
                                std::to_string(got.size()) + " computed and " + std::to_string(ref.size()) +
                                " reference");
  }
  Comparison worst;
  for (int64_t r = 0; r < rows; ++r) {
    double err = 0, scale = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const size_t i = static_cast<size_t>(r * cols + c);
      const double g = got[i];
      // A value that is not finite on either side is a failure, not something max() skips.
      const double d = std::isfinite(g) && std::isfinite(ref[i]) ? std::abs(g - ref[i])
                                                                 : std::numeric_limits<double>::infinity();
      err = std::max(err, d);
      scale = std::max(scale, std::abs(ref[i]));
    }
    const double rel = err / std::max(scale, 1e-30);
    if (rel > worst.worst || worst.row < 0) worst = {rel, r, err, scale};
  }
  return worst;
}

void require_close(const Comparison& c, double tolerance, const std::string& what) {
  if (c.worst <= tolerance) return;
  throw std::runtime_error("self-check failed: " + what + ": row " + std::to_string(c.row) + " is off by " +
                           std::to_string(c.err) + " against a largest |reference| of " + std::to_string(c.scale) +
                           " (relative " + std::to_string(c.worst) + ", expected ≤ " + std::to_string(tolerance) + ")");
}

std::vector<double> gemm_reference(const std::vector<float>& x, const std::vector<float>& w, const GemmShape& g) {
  const auto m = static_cast<size_t>(g.m), n = static_cast<size_t>(g.n), k = static_cast<size_t>(g.k);
  const auto batch = static_cast<size_t>(std::max<int64_t>(1, g.batch));
  if (x.size() < batch * m * k || w.size() < batch * n * k) {
    throw std::invalid_argument("gemm_reference: inputs smaller than the shape " + gemm_shape_text(g));
  }
  std::vector<double> y(batch * m * n);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t i = 0; i < m; ++i) {
      const float* xr = x.data() + (b * m + i) * k;
      for (size_t j = 0; j < n; ++j) {
        const float* wr = w.data() + (b * n + j) * k;
        double acc = 0;
        for (size_t l = 0; l < k; ++l) acc += static_cast<double>(xr[l]) * static_cast<double>(wr[l]);
        y[(b * m + i) * n + j] = acc;
      }
    }
  }
  return y;
}

namespace {
void require_sizes(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what + ": inputs smaller than the shape");
}
}  // namespace

std::vector<double> silu_mul_reference(const std::vector<float>& a, const std::vector<float>& b) {
  require_sizes(b.size() >= a.size(), "silu_mul_reference");
  std::vector<double> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i];
    out[i] = x / (1.0 + std::exp(-x)) * static_cast<double>(b[i]);
  }
  return out;
}

std::vector<double> add_reference(const std::vector<float>& a, const std::vector<float>& b) {
  require_sizes(b.size() >= a.size(), "add_reference");
  std::vector<double> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = static_cast<double>(a[i]) + static_cast<double>(b[i]);
  return out;
}

std::vector<double> rmsnorm_reference(const std::vector<float>& x, const std::vector<float>& w, int64_t rows,
                                      int64_t cols, double eps) {
  const auto c = static_cast<size_t>(cols);
  require_sizes(rows >= 0 && cols >= 0 && x.size() >= static_cast<size_t>(rows) * c && w.size() >= c, "rmsnorm_reference");
  std::vector<double> out(static_cast<size_t>(rows) * c);
  for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
    double sum_sq = 0;
    for (size_t j = 0; j < c; ++j) sum_sq += static_cast<double>(x[r * c + j]) * x[r * c + j];
    const double inv = 1.0 / std::sqrt(sum_sq / static_cast<double>(cols) + eps);
    for (size_t j = 0; j < c; ++j) out[r * c + j] = x[r * c + j] * inv * w[j];
  }
  return out;
}

std::vector<double> softmax_reference(const std::vector<float>& x, int64_t rows, int64_t cols) {
  const auto c = static_cast<size_t>(cols);
  require_sizes(rows >= 0 && cols >= 0 && x.size() >= static_cast<size_t>(rows) * c, "softmax_reference");
  std::vector<double> out(static_cast<size_t>(rows) * c);
  for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
    double mx = -std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < c; ++j) mx = std::max(mx, static_cast<double>(x[r * c + j]));
    double sum = 0;
    for (size_t j = 0; j < c; ++j) sum += std::exp(x[r * c + j] - mx);
    for (size_t j = 0; j < c; ++j) out[r * c + j] = std::exp(x[r * c + j] - mx) / sum;
  }
  return out;
}

std::vector<double> attention_reference(const std::vector<float>& q, const std::vector<float>& k,
                                        const std::vector<float>& v, const AttentionShape& a) {
  const auto B = static_cast<size_t>(a.batch), H = static_cast<size_t>(a.heads), HKV = static_cast<size_t>(a.kv_heads),
             Q = static_cast<size_t>(a.q_len), KV = static_cast<size_t>(a.kv_len), D = static_cast<size_t>(a.head_dim);
  if (HKV == 0 || H % HKV != 0 || (a.causal && Q > KV) || q.size() < B * Q * H * D || k.size() < B * KV * HKV * D ||
      v.size() < B * KV * HKV * D) {
    throw std::invalid_argument("attention_reference: inputs do not match " + attention_shape_text(a));
  }
  const size_t group = H / HKV;
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  std::vector<double> out(B * Q * H * D);
  std::vector<double> s(KV);
  for (size_t b = 0; b < B; ++b) {
    for (size_t i = 0; i < Q; ++i) {
      const size_t limit = a.causal ? i + (KV - Q) + 1 : KV;  // keys 0 … limit−1
      for (size_t h = 0; h < H; ++h) {
        const float* qr = q.data() + ((b * Q + i) * H + h) * D;
        const size_t kvh = h / group;
        double mx = -std::numeric_limits<double>::infinity();
        for (size_t j = 0; j < limit; ++j) {
          const float* kr = k.data() + ((b * KV + j) * HKV + kvh) * D;
          double dot = 0;
          for (size_t d = 0; d < D; ++d) dot += static_cast<double>(qr[d]) * kr[d];
          s[j] = dot * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (size_t j = 0; j < limit; ++j) {
          s[j] = std::exp(s[j] - mx);
          sum += s[j];
        }
        double* o = out.data() + ((b * Q + i) * H + h) * D;
        for (size_t j = 0; j < limit; ++j) {
          const float* vr = v.data() + ((b * KV + j) * HKV + kvh) * D;
          const double p = s[j] / sum;
          for (size_t d = 0; d < D; ++d) o[d] += p * vr[d];
        }
      }
    }
  }
  return out;
}

}  // namespace fathom::calib::cuda
