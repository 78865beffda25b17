#include "gui/chart/chart.h"

#include <fmt/format.h>

#include "common/csv.h"

namespace fathom::gui {

bool Chart::empty() const {
  for (const auto& s : series) {
    if (!s.y.empty() || !s.y_lo.empty()) return false;
  }
  return true;
}

std::string Chart::csv() const {
  std::string out = "series,x,y,y_lo,y_hi\n";
  for (const auto& s : series) {
    const size_t n = std::max(s.y.size(), s.y_lo.size());
    for (size_t i = 0; i < n; ++i) {
      std::string xs;
      if (s.kind == SeriesKind::kStackedBar && i < x.categories.size()) xs = csv_field(x.categories[i]);
      else if (i < s.x.size()) xs = fmt::format("{}", s.x[i]);
      auto num = [](const std::vector<double>& v, size_t k) { return k < v.size() ? fmt::format("{}", v[k]) : std::string(); };
      out += fmt::format("{},{},{},{},{}\n", csv_field(s.name), xs, num(s.y, i), num(s.y_lo, i), num(s.y_hi, i));
    }
  }
  return out;
}

}  // namespace fathom::gui
