#include "common/units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace fathom {

std::string to_string(Dimension d) {
  switch (d) {
    case Dimension::kCount: return "a count";
    case Dimension::kBytes: return "a size such as '80 GiB'";
    case Dimension::kByteRate: return "a bandwidth such as '3.35 TB/s'";
    case Dimension::kFlopRate: return "a compute rate such as '989 TFLOP/s'";
    case Dimension::kTime: return "a time such as '3 us'";
    case Dimension::kFrequency: return "a frequency such as '1980 MHz'";
    case Dimension::kPower: return "a power such as '700 W'";
  }
  return "a quantity";
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits a unit into (prefix multiplier, rest). Binary prefixes first.
bool split_prefix(std::string_view unit, std::string_view base, double& mult) {
  struct P { std::string_view p; double m; };
  static constexpr P kPrefixes[] = {
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
      {"P", 1e15}, {"E", 1e18}, {"m", 1e-3}, {"u", 1e-6}, {"n", 1e-9}, {"", 1.0}};
  for (const auto& p : kPrefixes) {
    if (unit.size() == p.p.size() + base.size() && unit.substr(0, p.p.size()) == p.p &&
        unit.substr(p.p.size()) == base) {
      mult = p.m;
      return true;
    }
  }
  return false;
}

bool unit_multiplier(std::string_view unit, Dimension dim, double& mult) {
  switch (dim) {
    case Dimension::kCount: {
      if (unit.empty()) { mult = 1; return true; }
      if (unit == "k" || unit == "K") { mult = 1e3; return true; }
      if (unit == "M") { mult = 1e6; return true; }
      if (unit == "B" || unit == "G") { mult = 1e9; return true; }
      if (unit == "T") { mult = 1e12; return true; }
      return false;
    }
    case Dimension::kBytes:
      if (split_prefix(unit, "B", mult)) return mult >= 1.0;
      if (split_prefix(unit, "b", mult) && mult >= 1.0) { mult /= 8; return true; }
      return false;
    case Dimension::kByteRate:
      if (split_prefix(unit, "B/s", mult)) return mult >= 1.0;
      if (split_prefix(unit, "b/s", mult) && mult >= 1.0) { mult /= 8; return true; }
      if (split_prefix(unit, "bps", mult) && mult >= 1.0) { mult /= 8; return true; }
      return false;
    case Dimension::kFlopRate:
      if (split_prefix(unit, "FLOP/s", mult) || split_prefix(unit, "FLOPS", mult) ||
          split_prefix(unit, "OP/s", mult) || split_prefix(unit, "OPS", mult))
        return mult >= 1.0;
      return false;
    case Dimension::kTime:
      if (unit == "us" || unit == "µs") { mult = 1e-6; return true; }
      if (unit == "min") { mult = 60; return true; }
      if (unit == "h") { mult = 3600; return true; }
      if (split_prefix(unit, "s", mult)) return mult <= 1.0;
      return false;
    case Dimension::kFrequency:
      if (split_prefix(unit, "Hz", mult)) return mult >= 1.0;
      return false;
    case Dimension::kPower:
      if (split_prefix(unit, "W", mult)) return mult >= 1.0;
      return false;
  }
  return false;
}

}  // namespace

double parse_quantity(std::string_view text, Dimension dim) {
  std::string_view s = trim(text);
  if (s.empty()) throw std::invalid_argument("expected " + to_string(dim) + ", found an empty value");
  // Longest numeric prefix that from_chars accepts.
  double value = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec == std::errc::result_out_of_range) {
    throw std::invalid_argument("expected a finite " + to_string(dim) + ", found '" + std::string(s) + "' (out of range)");
  }
  if (ec != std::errc() || ptr == begin) {
    throw std::invalid_argument("expected " + to_string(dim) + ", found '" + std::string(s) + "'");
  }
  std::string_view unit = trim(std::string_view(ptr, static_cast<size_t>(end - ptr)));
  double mult = 1;
  if (!unit_multiplier(unit, dim, mult)) {
    throw std::invalid_argument("expected " + to_string(dim) + ", found '" + std::string(s) +
                                "' (unknown unit '" + std::string(unit) + "')");
  }
  double v = value * mult;
  if (!std::isfinite(v)) {
    throw std::invalid_argument("expected a finite " + to_string(dim) + ", found '" + std::string(s) + "'");
  }
  return v;
}

namespace {
std::string scaled(double v, const char* const* units, int n, double step, const char* suffix) {
  int i = 0;
  double a = std::fabs(v);
  while (i + 1 < n && a >= step) { a /= step; v /= step; ++i; }
  return fmt::format("{:.3g} {}{}", v, units[i], suffix);
}
}  // namespace

std::string format_bytes(double bytes) {
  static const char* const u[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
  return scaled(bytes, u, 6, 1024.0, "B");
}
std::string format_rate(double bps) {
  static const char* const u[] = {"", "k", "M", "G", "T", "P"};
  return scaled(bps, u, 6, 1000.0, "B/s");
}
std::string format_flops(double f) {
  static const char* const u[] = {"", "k", "M", "G", "T", "P", "E", "Z"};
  return scaled(f, u, 8, 1000.0, "FLOP");
}
std::string format_flop_rate(double f) {
  static const char* const u[] = {"", "k", "M", "G", "T", "P", "E"};
  return scaled(f, u, 7, 1000.0, "FLOP/s");
}
std::string format_count(double n) {
  static const char* const u[] = {"", "K", "M", "B", "T"};
  return scaled(n, u, 5, 1000.0, "");
}
std::string format_seconds(double s) {
  double a = std::fabs(s);
  if (a == 0) return "0 s";
  if (a < 1e-6) return fmt::format("{:.3g} ns", s * 1e9);
  if (a < 1e-3) return fmt::format("{:.3g} us", s * 1e6);
  if (a < 1) return fmt::format("{:.3g} ms", s * 1e3);
  if (a < 3600) return fmt::format("{:.3g} s", s);
  if (a < 86400 * 2) return fmt::format("{:.3g} h", s / 3600);
  return fmt::format("{:.3g} days", s / 86400);
}

}  // namespace fathom
