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

  // Where values set outside the file came from: dotted path -> origin (e.g. "--set a.b=1").
  // A node at or under such a path reports that origin instead of file:line.
  using Origins = std::vector<std::pair<std::string, std::string>>;
  YamlNode with_origins(std::shared_ptr<const Origins> origins) const;

  // "file:line" of this node (1-based line), or the origin of a value set from outside the file.
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
  YamlNode child(YAML::Node node, std::string path) const;
  std::shared_ptr<const std::string> file_;
  YAML::Node node_;
  std::string path_;
  std::shared_ptr<const Origins> origins_;
};

// Loads a YAML file or text. Syntax errors become InputError with file:line.
YamlNode load_yaml_file(const std::string& path);
YamlNode parse_yaml(const std::string& text, const std::string& name);

// The structural checks every document gets: keys are plain scalars, each key once per map, at
// most a few million nodes after alias expansion. Throws InputError naming `name`:line.
void check_yaml_structure(const YAML::Node& root, const std::string& name);

// One override of a document value, as `--set PATH=VALUE` gives it: PATH is dotted keys
// (`serve.parallel.tp`), with `[i]` or a numeric segment for list elements; VALUE is YAML
// flow text (`4`, `h200-sxm`, `[1, 2]`, `{tp: 2, pp: 1}`; `null` removes the key). `origin`
// names it in errors ("--set serve.parallel.tp=4").
struct YamlOverride {
  std::string path;
  std::string value;
  std::string origin;
};
// Parses "PATH=VALUE"; `flag` names the source in errors (default "--set"). Throws FlagError.
YamlOverride parse_override(const std::string& text, const std::string& flag = "--set");
// A copy of `root` with the overrides applied in order (the document is not changed). Missing
// maps on the way are created; a path through a scalar or past a list's end is an error naming
// the override. Values get the same structural checks as a file.
YamlNode apply_overrides(const YamlNode& root, const std::vector<YamlOverride>& overrides);
// The document as block YAML text, keys in document order: the same tree gives the same text.
std::string emit_yaml(const YAML::Node& node);

// Writing YAML by hand: a double that reads back to the same bits (%.17g; .nan, .inf), and a
// double-quoted string with quotes and backslashes escaped.
std::string yaml_number(double v);
std::string yaml_quote(const std::string& s);

}  // namespace fathom
