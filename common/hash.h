#pragma once
// SHA-256 (FIPS 180-4) of a byte string, as 64 lowercase hex digits: the identity of a resolved
// scenario, a sweep spec and a point, stored with every result.
#include <string>
#include <string_view>

namespace fathom {

std::string sha256_hex(std::string_view data);

}  // namespace fathom
