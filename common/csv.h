#pragma once
// A small CSV reader for data files (validation tables, traces): RFC 4180 quoting, a UTF-8
// byte-order mark, CRLF line ends and '#' comment lines before the header. Errors name the
// file and line.
#include <cstddef>
#include <string>
#include <vector>

namespace fathom {

// A field as CSV writes it: as it is, or in double quotes (quotes doubled) when it holds a comma,
// a quote or a line break (RFC 4180).
std::string csv_field(const std::string& s);

class CsvTable {
 public:
  // Throws InputError when the file cannot be read, a quote is unterminated, or a row has a
  // different number of cells than the header.
  // `comments` false reads a leading '#' as data (headers such as "# GPUs").
  static CsvTable load(const std::string& path, bool comments = true);
  static CsvTable parse(const std::string& text, const std::string& name, bool comments = true);

  const std::vector<std::string>& header() const { return header_; }
  size_t rows() const { return rows_.size(); }
  const std::vector<std::string>& row(size_t i) const { return rows_[i]; }
  int line(size_t i) const { return lines_[i]; }  // 1-based line of row i in the file
  const std::string& name() const { return name_; }

  // Index of a column; throws InputError naming the file and the missing column.
  size_t column(const std::string& name) const;
  bool has_column(const std::string& name) const;
  // Cell (row, column) as a number; throws InputError "file:line: column 'x': expected a number, found ...".
  double number(size_t row, size_t col) const;
  const std::string& cell(size_t row, size_t col) const { return rows_[row][col]; }

 private:
  std::string name_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<int> lines_;
};

}  // namespace fathom
