#include <algorithm>

#include "calib/suite.h"

namespace fathom::calib {

size_t SuitePlan::benchmark_count() const {
  return gemms.size() * gemm_dtypes.size() + memory_bytes.size() * 4 + rowwise.size() * 4 + attention.size() + 1;
}

void add_gemm_shapes(SuitePlan& plan, const std::vector<GemmShape>& shapes) {
  for (const GemmShape& g : shapes) {
    if (g.m > 0 && g.n > 0 && g.k > 0 && g.batch > 0) plan.gemms.push_back(g);
  }
  std::sort(plan.gemms.begin(), plan.gemms.end());
  plan.gemms.erase(std::unique(plan.gemms.begin(), plan.gemms.end()), plan.gemms.end());
}

SuitePlan default_plan(bool quick) {
  SuitePlan p;
  // Square products from 256 to 16,384 and skinny (decode-like) ones against a 8192×8192 weight.
  std::vector<GemmShape> g;
  const std::vector<int64_t> square = quick ? std::vector<int64_t>{512, 2048, 8192}
                                            : std::vector<int64_t>{256, 512, 1024, 2048, 4096, 6144, 8192, 12288, 16384};
  for (int64_t s : square) g.push_back({s, s, s, 1});
  const std::vector<int64_t> skinny = quick ? std::vector<int64_t>{1, 16, 128}
                                            : std::vector<int64_t>{1, 2, 4, 8, 16, 32, 64, 128, 256};
  for (int64_t m : skinny) g.push_back({m, 8192, 8192, 1});
  add_gemm_shapes(p, g);
  if (quick) p.gemm_dtypes = {"bf16", "fp8"};

  // One buffer from 4 MiB (smaller than every current GPU's L2, but rotation keeps repeats out of
  // it, so every size measures device memory) to 4 GiB.
  const int64_t lo = 22, hi = quick ? 30 : 32;
  for (int64_t e = lo; e <= hi; ++e) p.memory_bytes.push_back(static_cast<double>(int64_t{1} << e));

  // Rows × hidden of norms and activations: tokens 1…16,384 at hidden 4,096 and 8,192.
  const std::vector<int64_t> rows = quick ? std::vector<int64_t>{16, 1024, 16384}
                                          : std::vector<int64_t>{1, 16, 128, 512, 2048, 8192, 16384};
  for (int64_t h : {int64_t{4096}, int64_t{8192}}) {
    for (int64_t r : rows) p.rowwise.push_back({r, h});
  }

  // Prefill (causal, q = kv) and decode (q = 1) of a Llama-3-8B-like head layout.
  const std::vector<int64_t> ctx = quick ? std::vector<int64_t>{256, 2048, 8192} : std::vector<int64_t>{256, 1024, 4096, 16384};
  for (int64_t c : ctx) {
    p.attention.push_back({1, 32, 8, c, c, 128, true});
    p.attention.push_back({quick ? 16 : 32, 32, 8, 1, c, 128, false});
  }
  if (quick) {
    p.repeats = 7;
    p.launch_samples = 500;
  }
  return p;
}

}  // namespace fathom::calib
