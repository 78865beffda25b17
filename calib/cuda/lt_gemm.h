#pragma once
// cuBLASLt matrix products as the suite measures them: Y[m×n] = X[m×k] · Wᵀ with the weight W
// stored [n×k] row-major (the layout of a linear layer's weight, out × in features), which in
// cuBLASLt's column-major terms is D(n×m) = op_T(A = W, k×n) · op_N(B = X, k×m), the "TN" form.
// FP8 requires TN; using it for every dtype measures all of them in the same layout.
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "calib/cuda/kernels.h"
#include "calib/measure.h"

namespace fathom::calib::cuda {

// A cuBLASLt call returned an error status (not a CUDA error: the device stays usable, so the
// suite can skip the one product and go on).
class LtError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws LtError("<what> failed: <cuBLAS status name> (<code>): <description>").
void check_lt(cublasStatus_t s, const std::string& what);

// The cuBLASLt types of a measurement dtype (bf16, fp16, tf32, fp32, fp8).
struct GemmTypes {
  std::string dtype;
  cudaDataType_t ab = CUDA_R_16BF, cd = CUDA_R_16BF;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  ElemType in = ElemType::kBf16, out = ElemType::kBf16;
};
// Empty for a dtype the suite cannot run.
std::optional<GemmTypes> gemm_types(const std::string& dtype);

class LtHandle {
 public:
  LtHandle();
  ~LtHandle();
  LtHandle(const LtHandle&) = delete;
  LtHandle& operator=(const LtHandle&) = delete;
  cublasLtHandle_t get() const { return h_; }

 private:
  cublasLtHandle_t h_ = nullptr;
};

// One configured product: descriptors plus the algorithm cuBLASLt's heuristic picks for them
// within `workspace_bytes`. usable() is false (and why() says why) when no algorithm exists.
class LtMatmul {
 public:
  LtMatmul(const LtHandle& handle, const GemmTypes& types, const GemmShape& shape, size_t workspace_bytes);
  ~LtMatmul();
  LtMatmul(const LtMatmul&) = delete;
  LtMatmul& operator=(const LtMatmul&) = delete;

  bool usable() const { return usable_; }
  const std::string& why() const { return why_; }
  // x [batch, m, k], w [batch, n, k], y [batch, m, n], row-major; alpha 1, beta 0.
  void run(const void* x, const void* w, void* y, void* workspace, cudaStream_t stream) const;

 private:
  struct Descs;
  cublasLtHandle_t handle_;
  std::unique_ptr<Descs> d_;
  size_t workspace_bytes_;
  bool usable_ = false;
  std::string why_;
};

}  // namespace fathom::calib::cuda
