#pragma once
// Small parsers of command-line values (`--grid a=1,2`, `--bounds a=0:1`), shared by the fit,
// predict and optimal commands and by fit::prepare_fit (which the GUI calls with the same texts):
// each throws FlagError naming the flag, with what was expected and what was found.
#include <string>
#include <utility>
#include <vector>

namespace fathom {

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ");
// "NAME=REST" → (NAME, REST).
std::pair<std::string, std::string> split_assign(const std::string& text, const std::string& flag, const std::string& what);
// A finite number.
double parse_number(const std::string& text, const std::string& flag);
// Comma-separated finite numbers.
std::vector<double> parse_list(const std::string& text, const std::string& flag);
// LOW:HIGH with LOW < HIGH.
std::pair<double, double> parse_range(const std::string& text, const std::string& flag);

}  // namespace fathom
