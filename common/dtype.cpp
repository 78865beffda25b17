#include "common/dtype.h"

#include <stdexcept>

namespace fathom {

std::string to_string(DType t) {
  switch (t) {
    case DType::kFp64: return "fp64";
    case DType::kFp32: return "fp32";
    case DType::kTf32: return "tf32";
    case DType::kBf16: return "bf16";
    case DType::kFp16: return "fp16";
    case DType::kFp8: return "fp8";
    case DType::kInt8: return "int8";
    case DType::kInt4: return "int4";
    case DType::kFp4: return "fp4";
  }
  return "?";
}

std::vector<std::string> dtype_names() {
  std::vector<std::string> r;
  for (DType t : kAllDTypes) r.push_back(to_string(t));
  return r;
}

DType parse_dtype(std::string_view s) {
  for (DType t : kAllDTypes) {
    if (s == to_string(t)) return t;
  }
  std::string all;
  for (const auto& n : dtype_names()) all += (all.empty() ? "" : ", ") + n;
  throw std::invalid_argument("expected a data type (" + all + "), found '" + std::string(s) + "'");
}

double dtype_bytes(DType t) {
  switch (t) {
    case DType::kFp64: return 8;
    case DType::kFp32:
    case DType::kTf32: return 4;
    case DType::kBf16:
    case DType::kFp16: return 2;
    case DType::kFp8:
    case DType::kInt8: return 1;
    case DType::kInt4:
    case DType::kFp4: return 0.5;
  }
  return 0;
}

}  // namespace fathom
