#include "common/csv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/input_file.h"

namespace fathom {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

CsvTable CsvTable::load(const std::string& path, bool comments) {
  return parse(read_input_file(path, InputKind::kTable, "CSV file"), path, comments);
}

CsvTable CsvTable::parse(const std::string& text, const std::string& name, bool comments) {
  CsvTable t;
  t.name_ = name;
  size_t i = 0;
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
      static_cast<unsigned char>(text[2]) == 0xBF) {
    i = 3;
  }
  int line = 1;
  bool have_header = false;
  while (i < text.size()) {
    const int start_line = line;
    // Comment and blank lines (before and between records).
    if ((comments && text[i] == '#') || text[i] == '\n' || text[i] == '\r') {
      while (i < text.size() && text[i] != '\n') ++i;
      if (i < text.size()) ++i;
      ++line;
      continue;
    }
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false, was_quoted = false;
    for (;;) {
      if (i >= text.size()) {
        if (quoted) throw InputError(name + ":" + std::to_string(start_line), "expected a closing quote, found the end of the file");
        cells.push_back(cell);
        break;
      }
      const char ch = text[i];
      if (quoted) {
        if (ch == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            cell += '"';
            i += 2;
          } else {
            quoted = false;
            ++i;
          }
        } else {
          if (ch == '\n') ++line;
          cell += ch;
          ++i;
        }
        continue;
      }
      if (ch == '"' && cell.empty() && !was_quoted) {
        quoted = was_quoted = true;
        ++i;
      } else if (ch == ',') {
        cells.push_back(cell);
        cell.clear();
        was_quoted = false;
        ++i;
      } else if (ch == '\r' || ch == '\n') {
        cells.push_back(cell);
        if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
        break;
      } else {
        cell += ch;
        ++i;
      }
    }
    if (!have_header) {
      t.header_ = std::move(cells);
      have_header = true;
      continue;
    }
    if (cells.size() != t.header_.size()) {
      throw InputError(name + ":" + std::to_string(start_line),
                       "expected " + std::to_string(t.header_.size()) + " cells as in the header, found " + std::to_string(cells.size()));
    }
    t.rows_.push_back(std::move(cells));
    t.lines_.push_back(start_line);
  }
  if (!have_header) throw InputError(name, "expected a header line, found an empty file");
  return t;
}

bool CsvTable::has_column(const std::string& n) const {
  for (const auto& h : header_) if (h == n) return true;
  return false;
}

size_t CsvTable::column(const std::string& n) const {
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == n) return i;
  }
  throw InputError(name_, "expected a column '" + n + "', found none in the header");
}

double CsvTable::number(size_t row, size_t col) const {
  const std::string& s = rows_[row][col];
  const char* b = s.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(b, &end);
  while (end && (*end == ' ' || *end == '\t')) ++end;
  if (s.empty() || end == b || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
    throw InputError(name_ + ":" + std::to_string(lines_[row]),
                     "column '" + header_[col] + "': expected a number, found '" + s + "'");
  }
  return v;
}

}  // namespace fathom
