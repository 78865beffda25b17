#include "common/yaml.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/error.h"
#include "common/input_file.h"
#include "common/suggest.h"

namespace fathom {

YamlNode::YamlNode(std::shared_ptr<const std::string> file, YAML::Node node, std::string path)
    : file_(std::move(file)), node_(std::move(node)), path_(std::move(path)) {}

YamlNode YamlNode::with_origins(std::shared_ptr<const Origins> origins) const {
  YamlNode n = *this;
  n.origins_ = std::move(origins);
  return n;
}

YamlNode YamlNode::child(YAML::Node node, std::string path) const {
  YamlNode n(file_, std::move(node), std::move(path));
  n.origins_ = origins_;
  return n;
}

std::string YamlNode::where() const {
  // `a` is `b` or lies under it ("serve.parallel.tp" under "serve.parallel").
  auto under = [](const std::string& a, const std::string& b) {
    return a == b || b.empty() ||
           (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && (a[b.size()] == '.' || a[b.size()] == '['));
  };
  std::string within;  // an override inside this node: named beside the file's line
  if (origins_) {
    // The last override at or above this path set it (later overrides win, as applied).
    for (auto it = origins_->rbegin(); it != origins_->rend(); ++it) {
      if (under(path_, it->first)) return it->second;
      if (within.empty() && under(it->first, path_)) within = " (with " + it->second + ")";
    }
  }
  if (node_.IsDefined()) {
    auto m = node_.Mark();
    if (m.line >= 0) return fmt::format("{}:{}{}", *file_, m.line + 1, within);
  }
  return *file_ + within;
}

std::string YamlNode::found() const {
  if (!node_.IsDefined() || node_.IsNull()) return "nothing";
  if (node_.IsScalar()) return "'" + node_.Scalar() + "'";
  if (node_.IsSequence()) return "a list";
  if (node_.IsMap()) return "a map";
  return "an unreadable value";
}

void YamlNode::fail(const std::string& expected) const {
  std::string key = path_.empty() ? "" : "'" + path_ + "': ";
  throw InputError(where(), key + "expected " + expected + ", found " + found());
}

void YamlNode::fail_message(const std::string& message) const {
  std::string key = path_.empty() ? "" : "'" + path_ + "': ";
  throw InputError(where(), key + message);
}

void YamlNode::expect_map() const {
  if (!node_.IsMap()) fail("a map of keys");
}

bool YamlNode::has(std::string_view key) const { return find(key).has_value(); }

std::optional<YamlNode> YamlNode::find(std::string_view key) const {
  expect_map();
  YAML::Node child = node_[std::string(key)];
  if (!child.IsDefined() || child.IsNull()) return std::nullopt;
  std::string p = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  return this->child(child, p);
}

YamlNode YamlNode::at(std::string_view key) const {
  auto c = find(key);
  if (!c) {
    std::string p = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    std::vector<std::string> keys;
    for (auto it = node_.begin(); it != node_.end(); ++it) keys.push_back(it->first.as<std::string>());
    std::string hint;
    auto close = closest_names(key, keys, 1);
    if (!close.empty() && close[0] != key) hint = " (found '" + close[0] + "' instead; misspelled?)";
    throw InputError(where(), "missing required key '" + p + "'" + hint);
  }
  return *c;
}

std::vector<YamlNode> YamlNode::items() const {
  if (!node_.IsSequence()) fail("a list");
  std::vector<YamlNode> r;
  size_t i = 0;
  for (const auto& n : node_) r.push_back(child(n, fmt::format("{}[{}]", path_, i++)));
  return r;
}

std::vector<std::pair<std::string, YamlNode>> YamlNode::entries() const {
  expect_map();
  std::vector<std::pair<std::string, YamlNode>> r;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    std::string k = it->first.as<std::string>();
    std::string p = path_.empty() ? k : path_ + "." + k;
    r.emplace_back(k, child(it->second, p));
  }
  return r;
}

void YamlNode::expect_keys(std::initializer_list<std::string_view> allowed) const {
  expect_map();
  std::vector<std::string> names(allowed.begin(), allowed.end());
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    std::string k = it->first.as<std::string>();
    bool ok = false;
    for (auto a : allowed) ok = ok || a == k;
    if (!ok) {
      std::string p = path_.empty() ? k : path_ + "." + k;
      YamlNode key_node = child(it->first, p);
      std::string hint = did_you_mean(k, names);
      throw InputError(key_node.where(), "unknown key '" + p + "'" + hint);
    }
  }
}

std::string YamlNode::as_string() const {
  if (!node_.IsScalar()) fail("a string");
  return node_.Scalar();
}

namespace {
// A scalar as a number, or a failure that says why: not a number, or not finite.
double number_of(const YamlNode& n, const std::string& expected) {
  if (!n.is_scalar()) n.fail(expected);
  try {
    return parse_quantity(n.raw().Scalar(), Dimension::kCount);
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()).find("finite") != std::string::npos) n.fail(expected == "a number" ? std::string("a finite number") : expected + ", finite");
    n.fail(expected);
  }
}
constexpr double kMaxInt = 9.0e15;  // integers above this are not exact in a double
}  // namespace

double YamlNode::as_number() const { return number_of(*this, "a number"); }

double YamlNode::as_positive_number() const {
  double v = as_number();
  if (!(v > 0)) fail("a positive number");
  return v;
}

double YamlNode::as_nonnegative_number() const {
  double v = as_number();
  if (!(v >= 0)) fail("a number >= 0");
  return v;
}

int64_t YamlNode::as_int() const {
  const double v = number_of(*this, "an integer");
  if (std::floor(v) != v) fail("an integer");
  if (std::fabs(v) > kMaxInt) fail("an integer of magnitude at most 9e15");
  return static_cast<int64_t>(v);
}

int64_t YamlNode::as_positive_int() const {
  const double v = number_of(*this, "a positive integer");
  if (!(v >= 1) || std::floor(v) != v) fail("a positive integer");
  if (v > kMaxInt) fail("a positive integer of at most 9e15");
  return static_cast<int64_t>(v);
}

int64_t YamlNode::as_nonnegative_int() const {
  const double v = number_of(*this, "an integer >= 0");
  if (!(v >= 0) || std::floor(v) != v) fail("an integer >= 0");
  if (v > kMaxInt) fail("an integer from 0 to 9e15");
  return static_cast<int64_t>(v);
}

bool YamlNode::as_bool() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    if (s == "true" || s == "True" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "False" || s == "no" || s == "off") return false;
  }
  fail("true or false");
}

double YamlNode::as_quantity(Dimension dim) const {
  if (!node_.IsScalar()) fail(to_string(dim));
  double v;
  try {
    v = parse_quantity(node_.Scalar(), dim);
  } catch (const std::invalid_argument& e) {
    fail_message(e.what());
  }
  if (!(v > 0)) fail("a positive value: " + to_string(dim));
  return v;
}

std::string YamlNode::str_or(std::string_view key, const std::string& def) const {
  auto c = find(key);
  return c ? c->as_string() : def;
}
int64_t YamlNode::count_or(std::string_view key, int64_t def) const {
  auto c = find(key);
  return c ? c->as_positive_int() : def;
}
int YamlNode::small_count(std::string_view key, int64_t max, std::optional<int64_t> def) const {
  auto c = def ? find(key) : std::optional<YamlNode>(at(key));
  if (!c) return static_cast<int>(*def);
  const int64_t v = c->as_positive_int();
  if (v > max) c->fail("a positive integer of at most " + std::to_string(max));
  return static_cast<int>(v);
}

double YamlNode::number_or(std::string_view key, double def) const {
  auto c = find(key);
  return c ? c->as_number() : def;
}
double YamlNode::quantity_or(std::string_view key, Dimension d, double def) const {
  auto c = find(key);
  return c ? c->as_quantity(d) : def;
}
bool YamlNode::flag_or(std::string_view key, bool def) const {
  auto c = find(key);
  return c ? c->as_bool() : def;
}

namespace {

// Every map's keys are scalars and distinct. yaml-cpp accepts a map or list as a key and keeps
// every duplicate (lookups then see the first): both would reach the readers as a crash or a
// silent choice, so they are refused here, with the lines. Aliases share nodes, so a document
// can name far more nodes than it has bytes; the walk stops at a budget instead of expanding
// them (a "billion laughs" file).
constexpr int64_t kMaxVisits = 4'000'000;

std::string line_of(const YAML::Node& n, const std::string& name) {
  const auto m = n.Mark();
  return m.line >= 0 ? fmt::format("{}:{}", name, m.line + 1) : name;
}

std::string kind_of(const YAML::Node& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return "'" + n.Scalar() + "'";
}

}  // namespace

void check_yaml_structure(const YAML::Node& root, const std::string& name) {
  std::vector<std::pair<YAML::Node, int>> stack{{root, 0}};
  int64_t visits = 0;
  while (!stack.empty()) {
    const auto [n, depth] = stack.back();
    stack.pop_back();
    if (++visits > kMaxVisits) {
      throw InputError(line_of(n, name), fmt::format("expected at most {} YAML nodes, found more (aliases expanding "
                                                     "too far?)", kMaxVisits));
    }
    if (n.IsSequence()) {
      for (const auto& c : n) stack.emplace_back(c, depth + 1);
    } else if (n.IsMap()) {
      std::vector<std::pair<std::string, int>> seen;
      for (auto it = n.begin(); it != n.end(); ++it) {
        const YAML::Node k = it->first;  // a copy: it->first lives in a temporary proxy
        if (!k.IsScalar()) {
          throw InputError(line_of(k, name), "expected a plain key (a name), found " + kind_of(k) + " used as a key");
        }
        const int line = k.Mark().line + 1;
        for (const auto& [key, first] : seen) {
          if (key == k.Scalar()) {
            throw InputError(line_of(k, name), fmt::format("expected each key once in a map, found '{}' again (first "
                                                           "at line {})", key, first));
          }
        }
        if (n.size() <= 64) seen.emplace_back(k.Scalar(), line);
        stack.emplace_back(it->second, depth + 1);
      }
      if (n.size() > 64) {  // many keys: sort once instead of comparing pairs
        std::vector<std::pair<std::string, int>> keys;
        for (auto it = n.begin(); it != n.end(); ++it) keys.emplace_back(it->first.Scalar(), it->first.Mark().line + 1);
        std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (size_t i = 1; i < keys.size(); ++i) {
          if (keys[i].first == keys[i - 1].first) {
            const int a = std::min(keys[i].second, keys[i - 1].second), b = std::max(keys[i].second, keys[i - 1].second);
            throw InputError(fmt::format("{}:{}", name, b),
                             fmt::format("expected each key once in a map, found '{}' again (first at line {})",
                                         keys[i].first, a));
          }
        }
      }
    }
  }
}

YamlNode parse_yaml(const std::string& text, const std::string& name) {
  check_utf8(text, name);
  auto file = std::make_shared<const std::string>(name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.line >= 0 ? fmt::format("{}:{}", name, e.mark.line + 1) : name;
    throw InputError(where, "expected valid YAML, found a syntax error: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) throw InputError(name, "expected a YAML map, found an empty file");
  if (!root.IsMap()) throw InputError(name + ":1", "expected a YAML map of keys at the top level");
  check_yaml_structure(root, name);
  return YamlNode(file, root, "");
}

YamlNode load_yaml_file(const std::string& path) {
  return parse_yaml(read_input_file(path, InputKind::kStructured, "YAML file"), path);
}

std::string yaml_number(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::string yaml_quote(const std::string& s) {
  std::string r = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') r += '\\';
    if (c == '\n') {
      r += "\\n";
      continue;
    }
    r += c;
  }
  return r + "\"";
}

}  // namespace fathom
