#pragma once
// Strong unit types over double, in SI units (seconds, bytes, FLOPs, FLOP/s, bytes/s, watts,
// US dollars), and the parser of unit strings such as "3.35 TB/s" or "80 GiB".
#include <compare>
#include <string>
#include <string_view>

namespace fathom {

template <class Tag>
class Quantity {
 public:
  constexpr Quantity() = default;
  constexpr explicit Quantity(double v) : v_(v) {}
  constexpr double value() const { return v_; }
  constexpr Quantity operator+(Quantity o) const { return Quantity(v_ + o.v_); }
  constexpr Quantity operator-(Quantity o) const { return Quantity(v_ - o.v_); }
  constexpr Quantity& operator+=(Quantity o) { v_ += o.v_; return *this; }
  constexpr Quantity& operator-=(Quantity o) { v_ -= o.v_; return *this; }
  constexpr Quantity operator*(double k) const { return Quantity(v_ * k); }
  constexpr Quantity operator/(double k) const { return Quantity(v_ / k); }
  constexpr double operator/(Quantity o) const { return v_ / o.v_; }
  constexpr auto operator<=>(const Quantity&) const = default;

 private:
  double v_ = 0.0;
};

template <class Tag>
constexpr Quantity<Tag> operator*(double k, Quantity<Tag> q) { return q * k; }

using Seconds = Quantity<struct SecondsTag>;
using Bytes = Quantity<struct BytesTag>;
using Flops = Quantity<struct FlopsTag>;
using FlopRate = Quantity<struct FlopRateTag>;   // FLOP/s
using ByteRate = Quantity<struct ByteRateTag>;   // bytes/s
using Watts = Quantity<struct WattsTag>;
using Dollars = Quantity<struct DollarsTag>;
using Hertz = Quantity<struct HertzTag>;

constexpr Seconds operator/(Flops f, FlopRate r) { return Seconds(f.value() / r.value()); }
constexpr Seconds operator/(Bytes b, ByteRate r) { return Seconds(b.value() / r.value()); }

// What a unit string measures; the parser accepts only units of the requested dimension.
enum class Dimension { kCount, kBytes, kByteRate, kFlopRate, kTime, kFrequency, kPower };

std::string to_string(Dimension d);

// Parses "<number> <unit>" into SI units of `dim`. Decimal prefixes k M G T P are powers of
// 1000, binary prefixes Ki Mi Gi Ti Pi powers of 1024; "B" is a byte and "b" a bit.
// Counts accept a bare number or a suffix k/K, M, B/G, T ("4M" tokens = 4e6).
// A bare number is accepted for every dimension and read as SI. Throws std::invalid_argument
// with a message describing what was expected; callers add file and line.
double parse_quantity(std::string_view text, Dimension dim);

// Formats SI values for people: "3.35 TB/s", "80.0 GiB", "12.3 ms".
std::string format_bytes(double bytes);
std::string format_rate(double bytes_per_s);
std::string format_flops(double flops);
std::string format_flop_rate(double flops_per_s);
std::string format_seconds(double s);
std::string format_count(double n);

}  // namespace fathom
