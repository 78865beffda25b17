#pragma once
// The scenario on screen: a base (a scenario file, or YAML text with a name) plus the values the
// form changed, kept as `--set PATH=VALUE` overrides in edit order. Resolving it is the library's
// one call (sim::resolve_scenario_text), so the GUI and `fathom serve FILE --set ...` compute the
// same scenario; `command_line` is that command.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/scenario.h"

namespace fathom::gui {

// An error message tied to the form field it concerns (its YAML path), or to none.
struct FieldError {
  std::string field;    // dotted YAML path ("serve.parallel.tp"); empty when no field applies
  std::string message;  // the library's message without the location prefix
};

class ScenarioDoc {
 public:
  // Reads the file (InputError when it cannot be read). Clears the overrides.
  void load_file(const std::string& path);
  // Text with a name for messages (a plan row, a built-in example). Clears the overrides.
  void load_text(const std::string& text, const std::string& name);

  const std::string& path() const { return path_; }  // empty when the base is text only
  const std::string& name() const { return name_; }
  const std::string& base_text() const { return text_; }

  // Sets PATH to VALUE (YAML flow text), replacing an earlier edit of the same path; an empty
  // value drops the edit (the base's value returns).
  void set(const std::string& path, const std::string& value);
  std::optional<std::string> edit(const std::string& path) const;
  const std::vector<std::pair<std::string, std::string>>& edits() const { return edits_; }
  void clear_edits() { edits_.clear(); }

  // The kernel profile choice (sim::ResolveOptions::profile): "", "defaults" or a profile YAML.
  std::string profile;

  // The library's resolution of base + edits + profile. Throws fathom::Error; an error about an
  // edited value names it as "@PATH" (see locate).
  sim::ResolvedScenario resolve(const hw::HardwareCatalog& hardware, const model::ModelCatalog& models) const;

  // The shell command that reproduces the screen: `fathom COMMAND FILE --set PATH=VALUE ...
  // [--profile P] EXTRA`, each word quoted for a POSIX shell where needed. A base without a
  // file is named by its name (save it first to run the command elsewhere).
  std::string command_line(const std::string& command, const std::vector<std::string>& extra = {}) const;

  // Which field an error message concerns: "@PATH: ..." (an edited value), or "...: 'PATH': ..."
  // (the accessor's quoted key), else none.
  static FieldError locate(const std::string& message);

 private:
  std::string path_, name_, text_;
  std::vector<std::pair<std::string, std::string>> edits_;
};

// A word for a POSIX shell: as it is when it holds only safe characters, else in single quotes.
std::string shell_quote(const std::string& word);

}  // namespace fathom::gui
