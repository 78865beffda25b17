#pragma once
// Shared pieces of the reporters: the JSON provenance header, CSV quoting and a plain text table.
#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/version.h"

namespace fathom::cli {

inline nlohmann::json context(const std::string& command) {
  return nlohmann::json{{"tool", "fathom"},
              {"version", version()},
              {"build_type", build_type()},
              {"machine", host_name()},
              {"schema_version", 1},
              {"command", command}};
}

inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string r = "\"";
  for (char c : s) {
    if (c == '"') r += '"';
    r += c;
  }
  return r + "\"";
}

// A plain text table: columns sized to content, numbers right-aligned.
struct Table {
  std::vector<std::string> header;
  std::vector<bool> right;
  std::vector<std::vector<std::string>> rows;
  void print(std::ostream& os) const {
    std::vector<size_t> w(header.size());
    for (size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
    for (const auto& r : rows)
      for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
    auto line = [&](const std::vector<std::string>& r) {
      std::string out;
      for (size_t i = 0; i < r.size(); ++i) {
        if (i) out += "  ";
        const size_t pad = w[i] - r[i].size();
        out += right[i] ? std::string(pad, ' ') + r[i] : r[i] + (i + 1 < r.size() ? std::string(pad, ' ') : "");
      }
      os << out << "\n";
    };
    line(header);
    std::vector<std::string> dashes;
    for (size_t x : w) dashes.push_back(std::string(x, '-'));
    line(dashes);
    for (const auto& r : rows) line(r);
  }
};


}  // namespace fathom::cli
