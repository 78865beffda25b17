// `--set PATH=VALUE` overrides of a YAML document, and writing a document back as text.
#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "common/error.h"
#include "common/input_file.h"
#include "common/yaml.h"

namespace fathom {

namespace {

struct Segment {
  std::string key;                // a map key (empty when only an index was written: "[2]")
  std::optional<size_t> index;    // "[i]": a list element
};

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "a.b[0].c" -> a, b, [0], c. A numeric dotted segment ("b.0") is kept as a key here and read as
// an index when it meets a list.
std::vector<Segment> split_path(const std::string& path, const std::string& origin) {
  std::vector<Segment> out;
  size_t i = 0;
  auto bad = [&](const std::string& why) -> FlagError {
    return FlagError(origin, "expected PATH as dotted keys (e.g. serve.parallel.tp), " + why);
  };
  while (i <= path.size()) {
    size_t end = path.find_first_of(".[", i);
    std::string key = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
    if (key.empty() && (end == std::string::npos || path[end] == '.')) throw bad("found an empty key in '" + path + "'");
    if (!key.empty()) out.push_back({key, std::nullopt});
    if (end == std::string::npos) break;
    i = end + 1;
    while (end < path.size() && path[end] == '[') {
      const size_t close = path.find(']', end);
      if (close == std::string::npos) throw bad("found '[' without ']' in '" + path + "'");
      const std::string num = path.substr(end + 1, close - end - 1);
      if (!all_digits(num)) throw bad("found '[" + num + "]' where a list index (0, 1, ...) belongs");
      out.push_back({"", static_cast<size_t>(std::stoul(num))});
      end = close + 1;
      if (end >= path.size()) return out;
      if (path[end] != '.' && path[end] != '[') throw bad("found '" + path.substr(end) + "' after ']'");
      i = end + 1;
    }
  }
  return out;
}

std::string describe(const YAML::Node& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return fmt::format("a list of {}", n.size());
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  return "nothing";
}

// Sets `value` at `segs` under `root` (a map), creating maps on the way. Returns the canonical
// path ("a.b[0].c") for the origin table. A null value removes a map key.
std::string set_at(YAML::Node root, const std::vector<Segment>& segs, const YAML::Node& value, const std::string& origin) {
  YAML::Node cur;
  cur.reset(root);
  std::string canon;
  for (size_t k = 0; k < segs.size(); ++k) {
    const Segment& s = segs[k];
    const bool last = k + 1 == segs.size();
    std::optional<size_t> index = s.index;
    if (!index && cur.IsSequence() && all_digits(s.key)) index = static_cast<size_t>(std::stoul(s.key));
    if (index) {
      if (!cur.IsSequence()) {
        throw FlagError(origin, fmt::format("expected a list at '{}' for the index [{}], found {}", canon, *index, describe(cur)));
      }
      if (*index > cur.size() || (*index == cur.size() && !last)) {
        throw FlagError(origin, fmt::format("expected an index from 0 to {} at '{}', found [{}]", cur.size(), canon, *index));
      }
      canon += fmt::format("[{}]", *index);
      if (last) {
        if (*index == cur.size()) cur.push_back(value);
        else cur[*index] = value;
        return canon;
      }
      YAML::Node next = cur[*index];
      cur.reset(next);
      continue;
    }
    canon += canon.empty() ? s.key : "." + s.key;
    if (cur.IsNull() || !cur.IsDefined()) cur = YAML::Node(YAML::NodeType::Map);
    if (!cur.IsMap()) {
      throw FlagError(origin, fmt::format("expected a map at '{}' to set a key in, found {}",
                                          canon.substr(0, canon.size() - s.key.size() - (canon.size() > s.key.size() ? 1 : 0)),
                                          describe(cur)));
    }
    if (last) {
      if (value.IsNull()) cur.remove(s.key);
      else cur[s.key] = value;
      return canon;
    }
    YAML::Node next = cur[s.key];
    if (!next.IsDefined() || next.IsNull()) {
      // Created on the way: a list when an index follows ("a.b[0]"), else a map.
      cur[s.key] = YAML::Node(segs[k + 1].index ? YAML::NodeType::Sequence : YAML::NodeType::Map);
      next = cur[s.key];
    }
    cur.reset(next);
  }
  return canon;
}

}  // namespace

YamlOverride parse_override(const std::string& text, const std::string& flag) {
  if (invalid_utf8_at(text) != std::string::npos) {
    throw FlagError(flag, "expected PATH=VALUE in UTF-8, found a byte that is not UTF-8");
  }
  const size_t eq = text.find('=');
  if (eq == std::string::npos) {
    throw FlagError(flag, "expected PATH=VALUE (e.g. serve.parallel.tp=4), found '" + text + "'");
  }
  YamlOverride o;
  o.path = text.substr(0, eq);
  o.value = text.substr(eq + 1);
  o.origin = flag + " " + text;
  while (!o.path.empty() && std::isspace(static_cast<unsigned char>(o.path.back()))) o.path.pop_back();
  while (!o.path.empty() && std::isspace(static_cast<unsigned char>(o.path.front()))) o.path.erase(0, 1);
  if (o.path.empty()) throw FlagError(o.origin, "expected PATH=VALUE with a dotted key path before '=', found none");
  if (o.value.find_first_not_of(" \t") == std::string::npos) {
    throw FlagError(o.origin, "expected a value after '=' (write null to remove the key), found none");
  }
  split_path(o.path, o.origin);  // reject a malformed path now, before any file is read
  return o;
}

YamlNode apply_overrides(const YamlNode& root, const std::vector<YamlOverride>& overrides) {
  if (overrides.empty()) return root;
  root.expect_map();
  auto origins = std::make_shared<YamlNode::Origins>();
  for (const auto& o : overrides) {
    YAML::Node value;
    try {
      value = YAML::Load(o.value);
    } catch (const YAML::Exception& e) {
      throw FlagError(o.origin, "expected a YAML value after '=', found a syntax error: " + e.msg);
    }
    check_yaml_structure(value, o.origin);
    const std::string canon = set_at(root.raw(), split_path(o.path, o.origin), value, o.origin);
    origins->emplace_back(canon, o.origin);
  }
  return root.with_origins(std::move(origins));
}

std::string emit_yaml(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << node;
  if (!out.good()) throw Error("cannot write the document as YAML: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

}  // namespace fathom
