#include "calib/measure.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "common/stats.h"

namespace fathom::calib {

ShapeMap parse_shape(const std::string& text) {
  ShapeMap out;
  if (text.empty()) return out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string part = text.substr(pos, comma - pos);
    const size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw std::invalid_argument("shape '" + text + "': expected key=integer, found '" + part + "'");
    }
    const std::string key = part.substr(0, eq);
    int64_t v = 0;
    const char* b = part.data() + eq + 1;
    const char* e = part.data() + part.size();
    auto [p, ec] = std::from_chars(b, e, v);
    if (ec != std::errc() || p != e || b == e) {
      throw std::invalid_argument("shape '" + text + "': expected an integer for '" + key + "', found '" +
                                  part.substr(eq + 1) + "'");
    }
    if (!out.emplace(key, v).second) throw std::invalid_argument("shape '" + text + "': '" + key + "' given twice");
    pos = comma + 1;
  }
  return out;
}

std::string format_shape(const std::vector<std::pair<std::string, int64_t>>& parts) {
  std::string s;
  for (const auto& [k, v] : parts) {
    if (!s.empty()) s += ',';
    s += k + "=" + std::to_string(v);
  }
  return s;
}

int64_t shape_get(const ShapeMap& s, const std::string& key) {
  auto it = s.find(key);
  if (it == s.end()) {
    std::string have;
    for (const auto& [k, v] : s) have += (have.empty() ? "" : ",") + k;
    throw std::invalid_argument("shape has no '" + key + "' (found: " + (have.empty() ? "nothing" : have) + ")");
  }
  return it->second;
}

bool GemmShape::operator<(const GemmShape& o) const {
  if (m != o.m) return m < o.m;
  if (n != o.n) return n < o.n;
  if (k != o.k) return k < o.k;
  return batch < o.batch;
}

double dtype_size(const std::string& dtype) {
  if (dtype == "fp64") return 8;
  if (dtype == "fp32" || dtype == "tf32") return 4;
  if (dtype == "bf16" || dtype == "fp16") return 2;
  if (dtype == "fp8" || dtype == "int8") return 1;
  throw std::invalid_argument("unknown dtype '" + dtype + "' (expected fp64, fp32, tf32, bf16, fp16, fp8 or int8)");
}

std::string gemm_output_dtype(const std::string& dtype) {
  return dtype == "tf32" || dtype == "fp32" || dtype == "fp64" ? (dtype == "fp64" ? "fp64" : "fp32") : "bf16";
}

static double d(int64_t v) { return static_cast<double>(v); }

Work gemm_work(const GemmShape& g, const std::string& dtype) {
  const double in = dtype_size(dtype), out = dtype_size(gemm_output_dtype(dtype));
  const double b = d(std::max<int64_t>(1, g.batch));
  return {2.0 * d(g.m) * d(g.n) * d(g.k) * b, (d(g.m) * d(g.k) + d(g.k) * d(g.n)) * in * b + d(g.m) * d(g.n) * out * b};
}

Work memory_work(const std::string& name, double buffer_bytes) {
  if (name == "copy") return {0, 2 * buffer_bytes};
  if (name == "read" || name == "write") return {0, buffer_bytes};
  if (name == "triad") return {2 * buffer_bytes / 4, 3 * buffer_bytes};
  throw std::invalid_argument("unknown memory kernel '" + name + "' (expected copy, read, write or triad)");
}

std::string rowwise_kind(const std::string& name) {
  if (name == "silu_mul" || name == "add") return "elementwise";
  if (name == "rmsnorm" || name == "softmax") return "reduction";
  throw std::invalid_argument("unknown rowwise kernel '" + name + "' (expected silu_mul, add, rmsnorm or softmax)");
}

Work rowwise_work(const std::string& name, int64_t rows, int64_t cols) {
  const double e = d(rows) * d(cols);
  if (name == "silu_mul") return {5 * e, 3 * e * 2};
  if (name == "add") return {e, 3 * e * 2};
  if (name == "rmsnorm") return {4 * e, (2 * e + d(cols)) * 2};
  if (name == "softmax") return {5 * e, 2 * e * 2};
  rowwise_kind(name);  // throws
  return {};
}

Work attention_work(const AttentionShape& a) {
  // Causal: query i (aligned to the end of the keys) sees kv - q + i + 1 keys.
  double pairs = d(a.q_len) * d(a.kv_len);
  if (a.causal) {
    const double q = d(a.q_len), kv = d(a.kv_len);
    pairs = q * (kv - q) + q * (q + 1) / 2;
  }
  const double flops = 4.0 * d(a.batch) * d(a.heads) * pairs * d(a.head_dim);
  const double bytes = 2.0 * d(a.batch) * d(a.head_dim) *
                       (2 * d(a.heads) * d(a.q_len) + 2 * d(a.kv_heads) * d(a.kv_len));
  return {flops, bytes};
}

std::string gemm_shape_text(const GemmShape& g) {
  std::vector<std::pair<std::string, int64_t>> p = {{"m", g.m}, {"n", g.n}, {"k", g.k}};
  if (g.batch > 1) p.emplace_back("batch", g.batch);
  return format_shape(p);
}

std::string attention_shape_text(const AttentionShape& a) {
  return format_shape({{"batch", a.batch}, {"heads", a.heads}, {"kv_heads", a.kv_heads}, {"q", a.q_len},
                       {"kv", a.kv_len}, {"d", a.head_dim}, {"causal", a.causal ? 1 : 0}});
}

GemmShape gemm_from_shape(const std::string& text) {
  const ShapeMap s = parse_shape(text);
  GemmShape g{shape_get(s, "m"), shape_get(s, "n"), shape_get(s, "k"), 1};
  if (auto it = s.find("batch"); it != s.end()) g.batch = it->second;
  if (g.m <= 0 || g.n <= 0 || g.k <= 0 || g.batch <= 0) {
    throw std::invalid_argument("shape '" + text + "': expected positive m, n, k and batch");
  }
  return g;
}

AttentionShape attention_from_shape(const std::string& text) {
  const ShapeMap s = parse_shape(text);
  AttentionShape a;
  a.batch = shape_get(s, "batch");
  a.heads = shape_get(s, "heads");
  a.kv_heads = shape_get(s, "kv_heads");
  a.q_len = shape_get(s, "q");
  a.kv_len = shape_get(s, "kv");
  a.head_dim = shape_get(s, "d");
  a.causal = shape_get(s, "causal") != 0;
  if (a.batch <= 0 || a.heads <= 0 || a.kv_heads <= 0 || a.q_len <= 0 || a.kv_len <= 0 || a.head_dim <= 0) {
    throw std::invalid_argument("shape '" + text + "': expected positive sizes");
  }
  if (a.causal && a.q_len > a.kv_len) throw std::invalid_argument("shape '" + text + "': causal with q > kv");
  return a;
}

store::MeasurementRecord summarise(std::string kind, std::string name, std::string dtype, std::string shape,
                                   Work work, std::vector<double> times) {
  if (times.empty()) throw std::invalid_argument("no times for " + kind + " " + name + " " + shape);
  const auto [lo, hi] = std::minmax_element(times.begin(), times.end());
  const double min_s = *lo, max_s = *hi;
  const size_t n = times.size();
  store::MeasurementRecord r;
  r.kind = std::move(kind);
  r.name = std::move(name);
  r.dtype = std::move(dtype);
  r.shape = std::move(shape);
  r.flops = work.flops;
  r.bytes = work.bytes;
  r.time_s = median(std::move(times));
  r.min_s = min_s;
  r.max_s = max_s;
  r.repeats = static_cast<int64_t>(n);
  return r;
}

}  // namespace fathom::calib
