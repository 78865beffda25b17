#include "common/flag_values.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "common/error.h"

namespace fathom {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// "NAME=REST" → (NAME, REST); throws naming the flag.
std::pair<std::string, std::string> split_assign(const std::string& text, const std::string& flag,
                                                 const std::string& what) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw FlagError(flag, "expected NAME=" + what + ", found '" + text + "'");
  std::string name = text.substr(0, eq);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  while (!name.empty() && name.front() == ' ') name.erase(name.begin());
  return {name, text.substr(eq + 1)};
}

double parse_number(const std::string& text, const std::string& flag) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) throw FlagError(flag, "expected a number, found '" + text + "'");
  return v;
}

std::vector<double> parse_list(const std::string& text, const std::string& flag) {
  std::vector<double> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(parse_number(item, flag));
  if (v.empty()) throw FlagError(flag, "expected a comma-separated list of numbers, found '" + text + "'");
  return v;
}

std::pair<double, double> parse_range(const std::string& text, const std::string& flag) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) throw FlagError(flag, "expected LOW:HIGH, found '" + text + "'");
  const double lo = parse_number(text.substr(0, colon), flag), hi = parse_number(text.substr(colon + 1), flag);
  if (!(lo < hi)) throw FlagError(flag, "expected LOW < HIGH, found '" + text + "'");
  return {lo, hi};
}

}  // namespace fathom
