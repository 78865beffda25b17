#pragma once
// A thin, error-reporting view over yaml-cpp. Every accessor that rejects a value throws
// InputError with "file:line: 'dotted.key': expected ..., found ...", so that every reader of
// scenarios and catalogs reports bad input the same way.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/units.h"

namespace fathom {

class YamlNode {
 public:
  YamlNode(std::shared_ptr<const std::string> file, YAML::Node node, std::string path);

  // "file:line" of this node (1-based line).
  std::string where() const;
  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  const YAML::Node& raw() const { return node_; }

  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }
  bool is_null() const { return node_.IsNull(); }

  bool has(std::string_view key) const;
  YamlNode at(std::string_view key) const;                   // required key
  std::optional<YamlNode> find(std::string_view key) const;  // optional key (null counts as absent)
  std::vector<YamlNode> items() const;                       // a sequence's elements
  std::vector<std::pair<std::string, YamlNode>> entries() const;  // a map's keys in file order

  // Rejects keys not in `allowed`, suggesting the closest allowed key.
  void expect_keys(std::initializer_list<std::string_view> allowed) const;
  void expect_map() const;

  std::string as_string() const;
  double as_number() const;
  double as_positive_number() const;
  double as_nonnegative_number() const;
  int64_t as_int() const;
  int64_t as_positive_int() const;
  int64_t as_nonnegative_int() const;
  bool as_bool() const;
  double as_quantity(Dimension dim) const;  // positive, SI units

  // Shorthands for keyed access.
  std::string str(std::string_view key) const { return at(key).as_string(); }
  std::string str_or(std::string_view key, const std::string& def) const;
  int64_t count(std::string_view key) const { return at(key).as_positive_int(); }
  int64_t count_or(std::string_view key, int64_t def) const;
  // A positive integer of at most `max` (for values stored as int), `def` when absent.
  int small_count(std::string_view key, int64_t max, std::optional<int64_t> def = std::nullopt) const;
  double number(std::string_view key) const { return at(key).as_number(); }
  double number_or(std::string_view key, double def) const;
  double quantity(std::string_view key, Dimension d) const { return at(key).as_quantity(d); }
  double quantity_or(std::string_view key, Dimension d, double def) const;
  bool flag_or(std::string_view key, bool def) const;

  [[noreturn]] void fail(const std::string& expected) const;  // "expected X, found <this value>"
  [[noreturn]] void fail_message(const std::string& message) const;
  std::string found() const;  // the node's text as shown in messages

 private:
  std::shared_ptr<const std::string> file_;
  YAML::Node node_;
  std::string path_;
};

// Loads a YAML file or text. Syntax errors become InputError with file:line.
YamlNode load_yaml_file(const std::string& path);
YamlNode parse_yaml(const std::string& text, const std::string& name);

// Writing YAML by hand: a double that reads back to the same bits (%.17g; .nan, .inf), and a
// double-quoted string with quotes and backslashes escaped.
std::string yaml_number(double v);
std::string yaml_quote(const std::string& s);

}  // namespace fathom
