#pragma once
// A table as data, free of Qt: what a page shows in a table view and exports as CSV. Each cell
// can carry its provenance as a tooltip (the formula, the profile or default, the interval).
#include <string>
#include <variant>
#include <vector>

namespace fathom::gui {

struct Cell {
  std::variant<std::monostate, double, std::string> value;
  std::string tip;  // provenance; empty: the column's
  int digits = -1;  // significant digits shown (-1: the column's)

  static Cell number(double v, std::string tip = {}, int digits = -1) { return {v, std::move(tip), digits}; }
  static Cell text(std::string s, std::string tip = {}) { return {std::move(s), std::move(tip), -1}; }
  bool is_number() const { return std::holds_alternative<double>(value); }
  double as_number() const;       // NaN when not a number
  std::string display(int column_digits) const;
  std::string csv() const;        // shortest text that reads back to the same double
};

struct Column {
  std::string name;
  std::string tip;   // what it is, unit, where it comes from
  int digits = 4;    // significant digits shown
  bool highlight = false;  // drawn emphasised (the percentile an SLO is judged at); CSV unchanged
};

struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<Cell>> rows;

  // RFC 4180: header of column names, then the rows (numbers in shortest round-trip form).
  std::string csv() const;
};

}  // namespace fathom::gui
