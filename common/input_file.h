#pragma once
// Reading an input file whole, within a documented size (docs/reliability.md, "Inputs"): a
// scenario, catalog, profile or result (YAML or JSON) up to kStructuredLimit bytes, a table
// (CSV dataset, serving trace) or a profiler trace up to kTableLimit. A larger file, or a stream
// that never ends (/dev/zero as a scenario), stops at the limit with an InputError naming the
// file, instead of growing memory without bound. `fathom --max-input-mb N` raises both limits.
#include <cstdint>
#include <string>

namespace fathom {

enum class InputKind { kStructured, kTable };

inline constexpr int64_t kStructuredLimit = int64_t{64} << 20;  // 64 MiB
inline constexpr int64_t kTableLimit = int64_t{1} << 30;        // 1 GiB

// The limit in force for `kind`: the default, or the one set by set_input_limit.
int64_t input_limit(InputKind kind);
// Sets one limit for every kind (the CLI's --max-input-mb); 0 restores the defaults. For the
// process as a whole: call it once, before any reading starts.
void set_input_limit(int64_t bytes);

// Reads `path` (a regular file, FIFO or character device such as /dev/stdin) whole. Throws
// InputError naming the file when it cannot be read, is a folder, or holds more than the limit;
// `what` names the kind of file in messages ("scenario", "CSV file").
// The text must be UTF-8 (YAML, JSON and the CSV files Fathom reads are; a stray byte would
// otherwise travel into JSON reports): else InputError "path:LINE: expected UTF-8 text, ...".
std::string read_input_file(const std::string& path, InputKind kind, const std::string& what);

// The offset of the first byte of `text` that is not part of well-formed UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or std::string::npos.
size_t invalid_utf8_at(const std::string& text);
// Throws InputError naming `name`:line when `text` is not UTF-8.
void check_utf8(const std::string& text, const std::string& name);

}  // namespace fathom
