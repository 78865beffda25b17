// Trace replay: the request CSV of docs/scenario.md (timestamps, token counts, prefix or
// session ids), read and checked row by row.
#include <cmath>
#include <cstdio>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "common/csv.h"
#include "common/error.h"
#include "sim/serve/workload.h"

namespace fathom::serve {

namespace {

// FNV-1a: a stable hash of trace ids, the same on every platform.
int64_t stable_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<int64_t>(h >> 2);
}

// Seconds since the epoch of "YYYY-MM-DD HH:MM:SS[.fraction]" (or with 'T'); nullopt if not that shape.
std::optional<double> parse_datetime(const std::string& s) {
  int y, mo, d, h, mi;
  double sec;
  char sep;
  // Field widths keep every conversion in range (a longer year is not this shape).
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%lf", &y, &mo, &d, &sep, &h, &mi, &sec) != 7) return std::nullopt;
  if ((sep != ' ' && sep != 'T') || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      sec < 0 || sec >= 61) {
    return std::nullopt;
  }
  // Days from civil (Hinnant's algorithm).
  y -= mo <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * static_cast<unsigned>(mo + (mo > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const double days = static_cast<double>(era) * 146097.0 + static_cast<double>(doe) - 719468.0;
  return days * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
}

std::optional<size_t> find_column(const CsvTable& t, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (t.has_column(n)) return t.column(n);
  }
  return std::nullopt;
}

}  // namespace

std::vector<TraceRow> load_trace(const std::string& path, int64_t max_model_len) {
  const CsvTable t = CsvTable::load(path);
  const auto tc = find_column(t, {"timestamp", "TIMESTAMP", "arrival_s", "time_s"});
  const auto ic = find_column(t, {"input_tokens", "ContextTokens", "prompt_tokens"});
  const auto oc = find_column(t, {"output_tokens", "GeneratedTokens", "completion_tokens"});
  const auto pc = find_column(t, {"prefix_id", "session_id"});
  const auto ptc = find_column(t, {"prefix_tokens"});
  if (!tc || !ic || !oc) {
    throw InputError(path, fmt::format("expected columns timestamp (or TIMESTAMP), input_tokens (or ContextTokens) and "
                                       "output_tokens (or GeneratedTokens), found: {}",
                                       fmt::join(t.header(), ",")));
  }
  std::vector<TraceRow> rows;
  rows.reserve(t.rows());
  double first = 0, prev = 0;
  std::unordered_map<int64_t, int64_t> session_context;  // session → tokens of its last turn
  const bool sessions = pc && t.header()[*pc] == "session_id";
  for (size_t i = 0; i < t.rows(); ++i) {
    const std::string where = fmt::format("{}:{}", path, t.line(i));
    const std::string& ts = t.cell(i, *tc);
    double time;
    if (auto dt = parse_datetime(ts)) {
      time = *dt;
    } else {
      char* end = nullptr;
      time = std::strtod(ts.c_str(), &end);
      if (ts.empty() || end != ts.c_str() + ts.size() || !std::isfinite(time)) {
        throw InputError(where, fmt::format("column '{}': expected seconds or a date-time \"YYYY-MM-DD HH:MM:SS\", found '{}'",
                                            t.header()[*tc], ts));
      }
    }
    if (i == 0) first = prev = time;
    if (time < prev) {
      throw InputError(where, fmt::format("column '{}': expected timestamps in order, found {} after {}", t.header()[*tc],
                                          ts, t.cell(i - 1, *tc)));
    }
    if (!(time - first <= kMaxArrivalS)) {
      throw InputError(where, fmt::format("column '{}': expected a time at most {:.0e} s after the first row's, found {} "
                                          "({:.3g} s after it)",
                                          t.header()[*tc], kMaxArrivalS, ts, time - first));
    }
    prev = time;
    // A whole number of tokens in [min, max_model_len − 1], checked before it becomes an integer.
    const int64_t most = max_model_len - 1;
    auto length = [&](size_t col, int64_t min) {
      const double v = t.number(i, col);
      if (v < static_cast<double>(min) || v != std::floor(v)) {
        throw InputError(where, fmt::format("column '{}': expected a whole number of tokens ≥ {}, found {}", t.header()[col],
                                            min, t.cell(i, col)));
      }
      if (v > static_cast<double>(most)) {
        throw InputError(where, fmt::format("column '{}': expected an integer of at most {} (below the maximum model "
                                            "length {}), found {}",
                                            t.header()[col], most, max_model_len, t.cell(i, col)));
      }
      return static_cast<int64_t>(v);
    };
    TraceRow r;
    r.time_s = time - first;
    const int64_t in = length(*ic, 1);
    const int64_t out = length(*oc, 0);
    if (in + std::max<int64_t>(out, 1) > max_model_len) {
      throw InputError(where, fmt::format("expected input + output tokens within the maximum model length {}, found {} + {}",
                                          max_model_len, in, out));
    }
    r.input = static_cast<int32_t>(in);
    // A request that generated nothing still produces its first token in the engine.
    r.output = static_cast<int32_t>(std::max<int64_t>(out, 1));
    if (pc && !t.cell(i, *pc).empty()) {
      r.prefix_key = stable_hash(t.cell(i, *pc));
      if (ptc) {
        r.prefix_tokens = static_cast<int32_t>(std::min(length(*ptc, 0), in));
      } else if (sessions) {
        // The conversation so far is the prefix of this turn (when the prompt contains it).
        auto it = session_context.find(r.prefix_key);
        if (it != session_context.end() && it->second <= in) r.prefix_tokens = static_cast<int32_t>(it->second);
      } else {
        r.prefix_tokens = r.input;
      }
      if (sessions) session_context[r.prefix_key] = in + out;
    }
    rows.push_back(r);
  }
  if (rows.empty()) throw InputError(path, "expected at least one request row, found none");
  return rows;
}

}  // namespace fathom::serve
