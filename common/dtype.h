#pragma once
// Numeric data types of weights, activations, KV cache and GEMM compute.
#include <string>
#include <string_view>
#include <vector>

namespace fathom {

enum class DType { kFp64, kFp32, kTf32, kBf16, kFp16, kFp8, kInt8, kInt4, kFp4 };

inline constexpr DType kAllDTypes[] = {DType::kFp64, DType::kFp32, DType::kTf32, DType::kBf16, DType::kFp16,
                                       DType::kFp8,  DType::kInt8, DType::kInt4, DType::kFp4};

std::string to_string(DType t);
// Throws std::invalid_argument naming the accepted spellings.
DType parse_dtype(std::string_view s);
// Storage size of one element in bytes (tf32 is stored as fp32; int4/fp4 are half a byte).
double dtype_bytes(DType t);
std::vector<std::string> dtype_names();

}  // namespace fathom
