#include "gui/app/scenario_doc.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/error.h"
#include "common/input_file.h"

namespace fathom::gui {

void ScenarioDoc::load_file(const std::string& path) {
  text_ = read_input_file(path, InputKind::kStructured, "scenario");
  path_ = path;
  name_ = path;
  edits_.clear();
}

void ScenarioDoc::load_text(const std::string& text, const std::string& name) {
  text_ = text;
  path_.clear();
  name_ = name;
  edits_.clear();
}

void ScenarioDoc::set(const std::string& path, const std::string& value) {
  auto it = std::find_if(edits_.begin(), edits_.end(), [&](const auto& e) { return e.first == path; });
  if (it != edits_.end()) edits_.erase(it);
  if (!value.empty()) edits_.emplace_back(path, value);
}

std::optional<std::string> ScenarioDoc::edit(const std::string& path) const {
  for (const auto& [p, v] : edits_) {
    if (p == path) return v;
  }
  return std::nullopt;
}

sim::ResolvedScenario ScenarioDoc::resolve(const hw::HardwareCatalog& hardware, const model::ModelCatalog& models) const {
  sim::ResolveOptions options;
  options.profile = profile;
  options.profile_where = "@efficiency.profile";
  for (const auto& [p, v] : edits_) options.overrides.push_back({p, v, "@" + p});
  if (!path_.empty()) return sim::resolve_scenario(path_, hardware, models, options);
  return sim::resolve_scenario_text(text_, name_, hardware, models, options);
}

std::string shell_quote(const std::string& word) {
  const bool safe = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("@%+=:,./_-").find(c) != std::string_view::npos;
  });
  if (safe) return word;
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string ScenarioDoc::command_line(const std::string& command, const std::vector<std::string>& extra) const {
  std::string line = "fathom " + command + " " + shell_quote(path_.empty() ? name_ : path_);
  for (const auto& [p, v] : edits_) {
    line += " --set ";
    line += shell_quote(p + "=" + v);
  }
  if (!profile.empty()) {
    line += " --profile ";
    line += shell_quote(profile);
  }
  for (const auto& e : extra) {
    line += ' ';
    line += shell_quote(e);
  }
  return line;
}

FieldError ScenarioDoc::locate(const std::string& message) {
  if (!message.empty() && message[0] == '@') {
    const size_t colon = message.find(": ");
    if (colon != std::string::npos) {
      std::string rest = message.substr(colon + 2);
      // The accessor repeats the key ("'serve.parallel.tp': expected ..."): drop it next to the field.
      const std::string key = fmt::format("'{}': ", message.substr(1, colon - 1));
      if (rest.rfind(key, 0) == 0) rest = rest.substr(key.size());
      return {message.substr(1, colon - 1), rest};
    }
  }
  const size_t open = message.find(": '");
  if (open != std::string::npos) {
    const size_t close = message.find("': ", open + 3);
    if (close != std::string::npos) {
      const std::string key = message.substr(open + 3, close - open - 3);
      if (!key.empty() && key.find(' ') == std::string::npos) return {key, message.substr(close + 3)};
    }
  }
  return {"", message};
}

}  // namespace fathom::gui
