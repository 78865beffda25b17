#include "calib/cuda/lt_gemm.h"

#include <cstdint>
#include <stdexcept>

namespace fathom::calib::cuda {

void check_lt(cublasStatus_t s, const std::string& what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  throw LtError(what + " failed: " + cublasLtGetStatusName(s) + " (" + std::to_string(static_cast<int>(s)) +
                "): " + cublasLtGetStatusString(s));
}

std::optional<GemmTypes> gemm_types(const std::string& dtype) {
  GemmTypes t;
  t.dtype = dtype;
  if (dtype == "bf16") return t;  // bf16 in and out, fp32 accumulation
  if (dtype == "fp16") {
    t.ab = t.cd = CUDA_R_16F;
    t.in = t.out = ElemType::kFp16;
    return t;
  }
  if (dtype == "tf32" || dtype == "fp32") {
    t.ab = t.cd = CUDA_R_32F;
    t.in = t.out = ElemType::kFp32;
    t.compute = dtype == "tf32" ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    return t;
  }
  if (dtype == "fp8") {  // e4m3 inputs, bf16 output (and C), unit scales
    t.ab = CUDA_R_8F_E4M3;
    t.in = ElemType::kFp8E4M3;
    return t;
  }
  return std::nullopt;
}

LtHandle::LtHandle() { check_lt(cublasLtCreate(&h_), "cublasLtCreate"); }
LtHandle::~LtHandle() {
  if (h_ != nullptr) cublasLtDestroy(h_);
}

struct LtMatmul::Descs {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Descs() {  // destroy calls only fail on a null handle; nothing to report from here
    if (pref != nullptr) cublasLtMatmulPreferenceDestroy(pref);
    if (c != nullptr) cublasLtMatrixLayoutDestroy(c);
    if (b != nullptr) cublasLtMatrixLayoutDestroy(b);
    if (a != nullptr) cublasLtMatrixLayoutDestroy(a);
    if (op != nullptr) cublasLtMatmulDescDestroy(op);
  }
};

namespace {

void set_batch(cublasLtMatrixLayout_t layout, int32_t batch, int64_t stride, const std::string& what) {
  if (batch <= 1) return;
  check_lt(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch),
           what + " batch count");
  check_lt(
      cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride),
      what + " batch stride");
}

}  // namespace

LtMatmul::LtMatmul(const LtHandle& handle, const GemmTypes& types, const GemmShape& shape, size_t workspace_bytes)
    : handle_(handle.get()), d_(std::make_unique<Descs>()), workspace_bytes_(workspace_bytes) {
  const std::string label = "cuBLASLt " + types.dtype + " " + gemm_shape_text(shape);
  if (shape.m <= 0 || shape.n <= 0 || shape.k <= 0 || shape.batch <= 0 || shape.batch > INT32_MAX) {
    throw std::invalid_argument(label + ": expected positive sizes and a batch below 2^31");
  }
  const auto m = static_cast<uint64_t>(shape.m), n = static_cast<uint64_t>(shape.n), k = static_cast<uint64_t>(shape.k);
  check_lt(cublasLtMatmulDescCreate(&d_->op, types.compute, CUDA_R_32F), label + ": cublasLtMatmulDescCreate");
  const int32_t transa = CUBLAS_OP_T, transb = CUBLAS_OP_N;
  check_lt(cublasLtMatmulDescSetAttribute(d_->op, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof transa),
           label + ": set TRANSA");
  check_lt(cublasLtMatmulDescSetAttribute(d_->op, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof transb),
           label + ": set TRANSB");
  // Column-major views of the row-major buffers: W [n×k] is A (k×n, ld k) transposed; X [m×k]
  // is B (k×m, ld k); Y [m×n] is C = D (n×m, ld n).
  check_lt(cublasLtMatrixLayoutCreate(&d_->a, types.ab, k, n, static_cast<int64_t>(k)), label + ": layout of W");
  check_lt(cublasLtMatrixLayoutCreate(&d_->b, types.ab, k, m, static_cast<int64_t>(k)), label + ": layout of X");
  check_lt(cublasLtMatrixLayoutCreate(&d_->c, types.cd, n, m, static_cast<int64_t>(n)), label + ": layout of Y");
  const auto batch = static_cast<int32_t>(shape.batch);
  set_batch(d_->a, batch, static_cast<int64_t>(n * k), label + ": W");
  set_batch(d_->b, batch, static_cast<int64_t>(m * k), label + ": X");
  set_batch(d_->c, batch, static_cast<int64_t>(m * n), label + ": Y");

  check_lt(cublasLtMatmulPreferenceCreate(&d_->pref), label + ": cublasLtMatmulPreferenceCreate");
  const uint64_t ws = workspace_bytes;
  check_lt(cublasLtMatmulPreferenceSetAttribute(d_->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
           label + ": set the workspace limit");
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t s =
      cublasLtMatmulAlgoGetHeuristic(handle_, d_->op, d_->a, d_->b, d_->c, d_->c, d_->pref, 1, &result, &found);
  if (s != CUBLAS_STATUS_SUCCESS) {
    why_ = std::string("cublasLtMatmulAlgoGetHeuristic returned ") + cublasLtGetStatusName(s);
  } else if (found == 0 || result.state != CUBLAS_STATUS_SUCCESS) {
    why_ =
        "cuBLASLt's heuristic found no algorithm within a " + std::to_string(workspace_bytes >> 20) + " MiB workspace";
  } else if (result.workspaceSize > workspace_bytes) {
    why_ = "the algorithm wants " + std::to_string(result.workspaceSize) + " bytes of workspace, more than " +
           std::to_string(workspace_bytes);
  } else {
    d_->algo = result.algo;
    usable_ = true;
  }
}

LtMatmul::~LtMatmul() = default;

void LtMatmul::run(const void* x, const void* w, void* y, void* workspace, cudaStream_t stream) const {
  if (!usable_) throw std::logic_error("LtMatmul::run on a product without an algorithm: " + why_);
  const float alpha = 1.0f, beta = 0.0f;  // scale type 32F for every dtype here
  check_lt(cublasLtMatmul(handle_, d_->op, &alpha, w, d_->a, x, d_->b, &beta, y, d_->c, y, d_->c, &d_->algo, workspace,
                          workspace_bytes_, stream),
           "cublasLtMatmul");
}

}  // namespace fathom::calib::cuda
