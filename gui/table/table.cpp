#include "gui/table/table.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "common/csv.h"

namespace fathom::gui {

double Cell::as_number() const {
  if (const double* d = std::get_if<double>(&value)) return *d;
  return std::numeric_limits<double>::quiet_NaN();
}

std::string Cell::display(int column_digits) const {
  if (const double* d = std::get_if<double>(&value)) {
    const int n = digits > 0 ? digits : column_digits;
    if (!std::isfinite(*d)) return std::isnan(*d) ? "—" : (*d > 0 ? "∞" : "−∞");
    return fmt::format("{:.{}g}", *d, n > 0 ? n : 4);
  }
  if (const std::string* s = std::get_if<std::string>(&value)) return *s;
  return {};
}

std::string Cell::csv() const {
  if (const double* d = std::get_if<double>(&value)) return fmt::format("{}", *d);
  if (const std::string* s = std::get_if<std::string>(&value)) return csv_field(*s);
  return {};
}

std::string Table::csv() const {
  std::string out;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (c) out += ',';
    out += csv_field(columns[c].name);
  }
  out += "\n";
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c) out += ',';
      out += row[c].csv();
    }
    out += "\n";
  }
  return out;
}

}  // namespace fathom::gui
