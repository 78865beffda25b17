#pragma once
// Serving workloads: arrival processes, length distributions, shared prefixes, multi-turn
// sessions, parallel sampling (best-of-N) and trace replay. Format: docs/scenario.md, section
// "serve.workload".
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/yaml.h"
#include "sim/des/engine.h"

namespace fathom::serve {

// Limits of the serving input, checked at load (docs/scenario.md lists each with its reason).
inline constexpr int64_t kMaxRequests = 100'000'000;       // requests of one run
inline constexpr double kMaxArrivalS = 1e9;                 // last arrival, s of simulated time
inline constexpr double kMinRatePerS = 1e-6, kMaxRatePerS = 1e9;  // arrival rates (a ns clock)
inline constexpr int64_t kMaxTurns = 1'000'000;             // turns of one session
inline constexpr double kMaxSigma = 10;                     // lognormal sigma
inline constexpr double kMaxZipfExponent = 10;              // Zipf s
inline constexpr int64_t kMaxSamples = 1024;                // parallel samples per prompt
inline constexpr int64_t kMaxPrefixGroups = 1'000'000'000;  // shared-prefix groups
inline constexpr int64_t kMaxModelLen = 1'000'000'000;      // serve.max_model_len, tokens
inline constexpr int64_t kMaxKvTokens = 1'000'000'000;      // KV capacity of a replica, tokens
// Token counts of one sequence are 32-bit: (samples + 1) × max_model_len stays below 2^31.
inline constexpr int64_t kMaxSequenceTokens = 2'147'483'647;

// A distribution of token counts; every draw is clamped to [min, max].
struct LengthDist {
  enum class Kind { kFixed, kUniform, kNormal, kLognormal, kZipf, kGeometric, kEmpirical };
  Kind kind = Kind::kFixed;
  double a = 1;  // fixed: value; uniform: low; normal, geometric: mean; lognormal: median; zipf: exponent s
  double b = 0;  // uniform: high; normal: sd; lognormal: sigma
  int64_t min = 1;
  int64_t max = int64_t{1} << 40;
  // Zipf and empirical: cumulative probabilities over `points` (Zipf: every integer in [min, max];
  // empirical: bin edges, with a draw uniform inside the chosen bin).
  std::shared_ptr<const std::vector<double>> cdf;
  std::shared_ptr<const std::vector<double>> points;

  int64_t sample(des::Rng& rng) const;
  double mean() const;  // of the unclamped distribution (empirical, Zipf: of the table)
  std::string describe() const;
};

struct ArrivalSpec {
  enum class Kind { kPoisson, kGamma, kConstant, kBurst, kAllAtOnce, kTrace };
  Kind kind = Kind::kPoisson;
  double rate_per_s = 1;  // mean rate (burst: the rate while on)
  double cv = 1;          // gamma: coefficient of variation of the gaps
  double on_s = 1, off_s = 1;  // burst: on and off periods
  std::string describe() const;
};

// One request as the engine sees it.
struct Request {
  int64_t arrival_ns = 0;
  int32_t input = 1;    // prompt tokens, including any shared prefix
  int32_t output = 1;   // output tokens of each sample
  int32_t samples = 1;  // parallel samples from the one prompt (best-of-N)
  int64_t prefix_key = -1;    // prefix-cache key (shared system prompt, or the session), −1: none
  int32_t prefix_tokens = 0;  // leading prompt tokens shareable under prefix_key
  int64_t session = -1;       // multi-turn session, −1: none
};

struct TraceRow {
  double time_s = 0;
  int32_t input = 1;
  int32_t output = 1;
  int64_t prefix_key = -1;
  int32_t prefix_tokens = 0;
};

struct WorkloadSpec {
  int64_t requests = 1000;  // requests in total (session turns each count)
  ArrivalSpec arrival;
  LengthDist input, output;
  int32_t samples = 1;
  // Shared system prompts: each request starts with one of `prefix_groups` prefixes of
  // `prefix_tokens` tokens, chosen uniformly.
  int64_t prefix_groups = 0;
  int32_t prefix_tokens = 0;
  // Multi-turn sessions: turns per session; the next turn arrives an exponential think time
  // after the previous one finished, and its prompt is the whole conversation so far plus new
  // user tokens drawn from `input`.
  std::optional<LengthDist> turns;
  double think_time_s = 0;
  std::string trace_file;
  double trace_speedup = 1;
  std::shared_ptr<const std::vector<TraceRow>> trace;
  uint64_t seed = 1;
  int64_t max_model_len = 0;  // set by the serve section: lengths are clamped below it
};

// Reads the workload section. `max_model_len` clamps lengths (input + output ≤ it).
WorkloadSpec parse_workload(const YamlNode& node, int64_t max_model_len);
// Loads a trace CSV: columns timestamp (seconds, or "YYYY-MM-DD HH:MM:SS[.f]" as in the Azure LLM
// inference traces' TIMESTAMP), input tokens (input_tokens | ContextTokens), output tokens
// (output_tokens | GeneratedTokens), optional prefix_id or session_id, optional prefix_tokens.
std::vector<TraceRow> load_trace(const std::string& path, int64_t max_model_len);

// Produces the requests of a run in arrival order: open-loop arrivals on demand, and each
// session's next turn once the previous one finishes.
class RequestSource {
 public:
  explicit RequestSource(const WorkloadSpec& spec);
  // The next open-loop request; nullopt when the budget of requests is spent.
  std::optional<Request> next_arrival();
  // The session's next turn after `finished` completed at `finish_ns`; nullopt when the session
  // (or the request budget) is over.
  std::optional<Request> next_turn(const Request& finished, des::TimeNs finish_ns);
  int64_t issued() const { return issued_; }

 private:
  Request draw_new(des::TimeNs t);
  des::TimeNs next_time();

  const WorkloadSpec& spec_;
  des::Rng arrivals_, lengths_, prefixes_, sessions_;
  des::TimeNs clock_ns_ = 0;
  double clock_s_ = 0;
  int64_t issued_ = 0;     // requests handed out (or reserved for session turns)
  int64_t reserved_ = 0;   // session turns promised but not yet issued
  size_t trace_pos_ = 0;
  int64_t next_session_ = 0;
  std::unordered_map<int64_t, int32_t> turns_left_;
};

}  // namespace fathom::serve
