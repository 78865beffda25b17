#include "sim/serve/workload.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"

namespace fathom::serve {

namespace {

int64_t clamp_len(double v, const LengthDist& d) {
  if (!std::isfinite(v)) v = static_cast<double>(d.max);
  const double r = std::round(v);
  if (r < static_cast<double>(d.min)) return d.min;
  if (r > static_cast<double>(d.max)) return d.max;
  return static_cast<int64_t>(r);
}

size_t pick_cdf(const std::vector<double>& cdf, double u) {
  const auto it = std::lower_bound(cdf.begin(), cdf.end(), u);
  return std::min(static_cast<size_t>(it - cdf.begin()), cdf.size() - 1);
}

// Simulated time is kept below 10^9 s (about 32 years): far past any planning horizon, and
// inside the nanosecond clock's range.
void check_time(double t_s) {
  if (!(t_s <= kMaxArrivalS)) {
    throw ConfigError("serve.workload", fmt::format("expected arrivals within 10^9 s of simulated time, found one at "
                                                    "{:.3g} s; raise the arrival rate or shorten the trace",
                                                    t_s));
  }
}

}  // namespace

int64_t LengthDist::sample(des::Rng& rng) const {
  switch (kind) {
    case Kind::kFixed: return clamp_len(a, *this);
    case Kind::kUniform: {
      const auto lo = static_cast<int64_t>(std::llround(a)), hi = static_cast<int64_t>(std::llround(b));
      return clamp_len(static_cast<double>(lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(hi - lo + 1)))), *this);
    }
    case Kind::kNormal: return clamp_len(a + b * rng.normal(), *this);
    case Kind::kLognormal: return clamp_len(a * std::exp(b * rng.normal()), *this);
    case Kind::kGeometric: {
      if (a <= 1.0) return clamp_len(1.0, *this);
      const double p = 1.0 / a;
      return clamp_len(1.0 + std::floor(std::log(rng.uniform()) / std::log1p(-p)), *this);
    }
    case Kind::kZipf: {
      const size_t i = pick_cdf(*cdf, rng.uniform());
      return clamp_len((*points)[i], *this);
    }
    case Kind::kEmpirical: {
      const size_t i = pick_cdf(*cdf, rng.uniform());
      const double lo = (*points)[i], hi = (*points)[i + 1];
      return clamp_len(lo + (hi - lo) * rng.uniform(), *this);
    }
  }
  return 1;
}

double LengthDist::mean() const {
  switch (kind) {
    case Kind::kFixed: return a;
    case Kind::kUniform: return 0.5 * (a + b);
    case Kind::kNormal: return a;
    case Kind::kLognormal: return a * std::exp(0.5 * b * b);
    case Kind::kGeometric: return std::max(1.0, a);
    case Kind::kZipf:
    case Kind::kEmpirical: {
      double m = 0, prev = 0;
      for (size_t i = 0; i < cdf->size(); ++i) {
        const double p = (*cdf)[i] - prev;
        prev = (*cdf)[i];
        m += p * (kind == Kind::kZipf ? (*points)[i] : 0.5 * ((*points)[i] + (*points)[i + 1]));
      }
      return m;
    }
  }
  return 0;
}

std::string LengthDist::describe() const {
  switch (kind) {
    case Kind::kFixed: return fmt::format("fixed {}", static_cast<int64_t>(a));
    case Kind::kUniform: return fmt::format("uniform {}..{}", a, b);
    case Kind::kNormal: return fmt::format("normal mean {} sd {}", a, b);
    case Kind::kLognormal: return fmt::format("lognormal median {} sigma {}", a, b);
    case Kind::kGeometric: return fmt::format("geometric mean {}", a);
    case Kind::kZipf: return fmt::format("zipf s {} on {}..{}", a, min, max);
    case Kind::kEmpirical: return fmt::format("empirical, {} bins", cdf->size());
  }
  return "";
}

std::string ArrivalSpec::describe() const {
  switch (kind) {
    case Kind::kPoisson: return fmt::format("poisson {:.4g}/s", rate_per_s);
    case Kind::kGamma: return fmt::format("gamma {:.4g}/s cv {:.3g}", rate_per_s, cv);
    case Kind::kConstant: return fmt::format("constant {:.4g}/s", rate_per_s);
    case Kind::kBurst: return fmt::format("bursts {:.4g}/s, {:.3g} s on, {:.3g} s off", rate_per_s, on_s, off_s);
    case Kind::kAllAtOnce: return "all at once";
    case Kind::kTrace: return "trace";
  }
  return "";
}

namespace {

// A distribution of token counts (`turns` false) or of session turns. `limit` is one more than
// the largest value it may draw (the maximum model length, or kMaxTurns + 1); every parameter
// that is a length is checked against it, so that no draw is silently clamped far from what the
// file says.
LengthDist parse_length(const YamlNode& n, int64_t limit, bool turns = false) {
  LengthDist d;
  d.max = std::max<int64_t>(1, limit - 1);
  const char* what = turns ? "turns" : "tokens";
  const std::string below = turns ? fmt::format("at most {} turns", d.max)
                                  : fmt::format("a length below the maximum model length {}", limit);
  // A positive whole number of at most d.max.
  auto length = [&](const YamlNode& v) {
    const int64_t x = v.as_positive_int();
    if (x > d.max) v.fail(below);
    return x;
  };
  // A positive number of at most d.max (a location: mean, median).
  auto location = [&](const YamlNode& v) {
    const double x = v.as_positive_number();
    if (x > static_cast<double>(d.max)) v.fail(fmt::format("a positive number of at most {} {} ({})", d.max, what, below));
    return x;
  };
  if (n.is_scalar()) {
    d.kind = LengthDist::Kind::kFixed;
    d.a = static_cast<double>(length(n));
    return d;
  }
  n.expect_map();
  const auto dist = n.at("dist");
  const std::string k = dist.as_string();
  auto bounds = [&] {
    if (auto m = n.find("min")) d.min = length(*m);
    if (auto m = n.find("max")) d.max = std::min(d.max, m->as_positive_int());
    if (d.max < d.min) n.at("max").fail(fmt::format("max ≥ min ({})", d.min));
  };
  if (k == "fixed") {
    n.expect_keys({"dist", "value"});
    d.a = static_cast<double>(length(n.at("value")));
  } else if (k == "uniform") {
    n.expect_keys({"dist", "low", "high"});
    d.kind = LengthDist::Kind::kUniform;
    d.a = static_cast<double>(length(n.at("low")));
    d.b = static_cast<double>(length(n.at("high")));
    if (d.b < d.a) n.at("high").fail(fmt::format("high ≥ low ({})", d.a));
  } else if (k == "normal") {
    n.expect_keys({"dist", "mean", "sd", "min", "max"});
    d.kind = LengthDist::Kind::kNormal;
    d.a = location(n.at("mean"));
    const auto sd = n.at("sd");
    d.b = sd.as_nonnegative_number();
    if (d.b > static_cast<double>(d.max)) sd.fail(fmt::format("a standard deviation of at most {} {}", d.max, what));
    bounds();
  } else if (k == "lognormal") {
    n.expect_keys({"dist", "median", "sigma", "min", "max"});
    d.kind = LengthDist::Kind::kLognormal;
    d.a = location(n.at("median"));
    const auto sigma = n.at("sigma");
    d.b = sigma.as_nonnegative_number();
    if (d.b > kMaxSigma) sigma.fail(fmt::format("a sigma of at most {}", kMaxSigma));
    bounds();
  } else if (k == "geometric") {
    n.expect_keys({"dist", "mean", "min", "max"});
    d.kind = LengthDist::Kind::kGeometric;
    d.a = location(n.at("mean"));
    if (d.a < 1) n.at("mean").fail(fmt::format("a mean of at least 1 {}", turns ? "turn" : "token"));
    bounds();
  } else if (k == "zipf") {
    n.expect_keys({"dist", "s", "min", "max"});
    d.kind = LengthDist::Kind::kZipf;
    const auto zs = n.at("s");
    d.a = zs.as_positive_number();
    if (d.a > kMaxZipfExponent) zs.fail(fmt::format("an exponent of at most {}", kMaxZipfExponent));
    d.min = n.count("min");
    d.max = n.count("max");
    if (d.max < d.min) n.at("max").fail(fmt::format("max ≥ min ({})", d.min));
    if (d.max >= limit) n.at("max").fail(below);
    if (d.max - d.min > 10'000'000) n.at("max").fail("a range of at most 10,000,000 lengths");
    auto cdf = std::make_shared<std::vector<double>>();
    auto pts = std::make_shared<std::vector<double>>();
    double total = 0;
    for (int64_t v = d.min; v <= d.max; ++v) {
      total += std::pow(static_cast<double>(v), -d.a);
      cdf->push_back(total);
      pts->push_back(static_cast<double>(v));
    }
    for (auto& c : *cdf) c /= total;
    d.cdf = cdf;
    d.points = pts;
  } else if (k == "empirical") {
    n.expect_keys({"dist", "bins", "weights"});
    d.kind = LengthDist::Kind::kEmpirical;
    const auto bins = n.at("bins");
    const auto weights = n.at("weights");
    if (!bins.is_sequence()) bins.fail("a list of bin edges");
    if (!weights.is_sequence()) weights.fail("a list of weights, one per bin");
    auto pts = std::make_shared<std::vector<double>>();
    for (const auto& e : bins.items()) {
      const double v = e.as_positive_number();
      if (!pts->empty() && v <= pts->back()) e.fail(fmt::format("an edge above the previous one ({})", pts->back()));
      if (v > static_cast<double>(limit)) {
        e.fail(turns ? fmt::format("an edge of at most {} turns", limit)
                     : fmt::format("an edge at most the maximum model length {}", limit));
      }
      pts->push_back(v);
    }
    const auto w = weights.items();
    if (pts->size() < 2) bins.fail("at least two bin edges");
    if (w.size() != pts->size() - 1) {
      weights.fail_message(fmt::format("expected {} weights (one per bin), found {}", pts->size() - 1, w.size()));
    }
    auto cdf = std::make_shared<std::vector<double>>();
    double total = 0;
    for (const auto& x : w) {
      total += x.as_nonnegative_number();
      if (!std::isfinite(total)) x.fail("weights whose sum is finite");
      cdf->push_back(total);
    }
    if (total <= 0) weights.fail("at least one positive weight");
    for (auto& c : *cdf) c /= total;
    d.cdf = cdf;
    d.points = pts;
  } else {
    dist.fail("one of fixed, uniform, normal, lognormal, geometric, zipf, empirical");
  }
  return d;
}

}  // namespace

WorkloadSpec parse_workload(const YamlNode& n, int64_t max_model_len) {
  n.expect_keys({"requests", "arrival", "input_tokens", "output_tokens", "samples", "shared_prefix", "sessions", "seed"});
  WorkloadSpec w;
  w.max_model_len = max_model_len;
  const auto arr = n.at("arrival");
  arr.expect_map();
  const auto proc = arr.at("process");
  const std::string p = proc.as_string();
  // A number in [lo, hi] (the ranges of docs/scenario.md).
  auto ranged = [&](const char* key, double lo, double hi, const char* expected) {
    const auto v = arr.at(key);
    const double x = v.as_number();
    if (!(x >= lo && x <= hi)) v.fail(expected);
    return x;
  };
  auto rate = [&] {
    return ranged("rate_per_s", kMinRatePerS, kMaxRatePerS, "a rate from 0.000001 to 1,000,000,000 requests per second");
  };
  if (p == "poisson") {
    arr.expect_keys({"process", "rate_per_s"});
    w.arrival.kind = ArrivalSpec::Kind::kPoisson;
    w.arrival.rate_per_s = rate();
  } else if (p == "gamma") {
    arr.expect_keys({"process", "rate_per_s", "cv"});
    w.arrival.kind = ArrivalSpec::Kind::kGamma;
    w.arrival.rate_per_s = rate();
    // The gaps are Gamma(1/cv²): the shape stays within [10^-4, 10^4].
    w.arrival.cv = ranged("cv", 0.01, 100, "a coefficient of variation from 0.01 to 100");
  } else if (p == "constant") {
    arr.expect_keys({"process", "rate_per_s"});
    w.arrival.kind = ArrivalSpec::Kind::kConstant;
    w.arrival.rate_per_s = rate();
  } else if (p == "burst") {
    arr.expect_keys({"process", "rate_per_s", "on_s", "off_s"});
    w.arrival.kind = ArrivalSpec::Kind::kBurst;
    w.arrival.rate_per_s = rate();
    w.arrival.on_s = ranged("on_s", 1e-6, 1e6, "an on-period from 0.000001 to 1,000,000 s");
    w.arrival.off_s = ranged("off_s", 0, 1e6, "an off-period from 0 to 1,000,000 s");
  } else if (p == "all_at_once") {
    arr.expect_keys({"process"});
    w.arrival.kind = ArrivalSpec::Kind::kAllAtOnce;
  } else if (p == "trace") {
    arr.expect_keys({"process", "file", "speedup"});
    w.arrival.kind = ArrivalSpec::Kind::kTrace;
    const auto f = arr.at("file");
    std::filesystem::path fp = f.as_string();
    if (fp.is_relative()) fp = std::filesystem::path(n.file()).parent_path() / fp;
    w.trace_file = fp.string();
    std::error_code ec;
    if (!std::filesystem::exists(fp, ec)) {
      f.fail_message(fmt::format("expected a trace file, found none at '{}'{}", w.trace_file, ec ? " (" + ec.message() + ")" : ""));
    }
    w.trace_speedup = arr.number_or("speedup", 1.0);
    if (!(w.trace_speedup >= 1e-3 && w.trace_speedup <= 1e6)) arr.at("speedup").fail("a factor from 0.001 to 1,000,000");
    w.trace = std::make_shared<std::vector<TraceRow>>(load_trace(w.trace_file, max_model_len));
  } else {
    proc.fail("one of poisson, gamma, constant, burst, all_at_once, trace");
  }
  if (w.trace) {
    for (const char* k : {"input_tokens", "output_tokens", "shared_prefix", "sessions"}) {
      if (n.has(k)) n.at(k).fail_message(std::string("'") + k + "' does not apply to a trace, which gives its own lengths");
    }
    w.requests = static_cast<int64_t>(w.trace->size());
    if (n.has("requests")) w.requests = std::min(w.requests, n.count("requests"));
    if (w.requests > kMaxRequests) n.fail_message(fmt::format("expected at most {} trace rows, found {}", kMaxRequests, w.requests));
    // The last replayed arrival, slowed down by the speedup, stays within the simulated time.
    const double last_s = (*w.trace)[static_cast<size_t>(w.requests - 1)].time_s / w.trace_speedup;
    if (!(last_s <= kMaxArrivalS)) {
      const auto at = arr.has("speedup") ? arr.at("speedup") : arr.at("file");
      at.fail_message(fmt::format("expected the replayed trace to end within {:.0e} s, found {:.3g} s ({:.3g} s of trace "
                                  "at speedup {}); raise the speedup",
                                  kMaxArrivalS, last_s, last_s * w.trace_speedup, w.trace_speedup));
    }
  } else {
    w.requests = n.count("requests");
    if (w.requests > kMaxRequests) n.at("requests").fail(fmt::format("at most {} requests (docs/scenario.md)", kMaxRequests));
    w.input = parse_length(n.at("input_tokens"), max_model_len);
    w.output = parse_length(n.at("output_tokens"), max_model_len);
    // The expected span of the arrivals (requests / rate, stretched by the off-periods of
    // bursts) stays within the simulated time; random gaps past it are still caught as they
    // are drawn.
    if (w.arrival.kind != ArrivalSpec::Kind::kAllAtOnce) {
      double span = static_cast<double>(w.requests) / w.arrival.rate_per_s;
      if (w.arrival.kind == ArrivalSpec::Kind::kBurst) span *= (w.arrival.on_s + w.arrival.off_s) / w.arrival.on_s;
      if (!(span <= kMaxArrivalS)) {
        arr.at("rate_per_s").fail_message(fmt::format("expected the {} arrivals to span at most {:.0e} s, found {:.3g} s at "
                                                      "this rate; raise rate_per_s or lower requests",
                                                      w.requests, kMaxArrivalS, span));
      }
    }
  }
  if (auto s = n.find("samples")) {
    const int64_t samples = s->as_positive_int();
    if (samples > kMaxSamples) s->fail(fmt::format("at most {} samples per prompt", kMaxSamples));
    // A sequence's token counts (prompt + samples × output) are 32-bit in the engine.
    if ((samples + 1) * max_model_len > kMaxSequenceTokens) {
      s->fail(fmt::format("at most {} samples with the maximum model length {} ((samples + 1) × max_model_len ≤ {})",
                          kMaxSequenceTokens / max_model_len - 1, max_model_len, kMaxSequenceTokens));
    }
    w.samples = static_cast<int32_t>(samples);
  }
  if (auto sp = n.find("shared_prefix")) {
    sp->expect_keys({"groups", "tokens"});
    w.prefix_groups = sp->count("groups");
    if (w.prefix_groups > kMaxPrefixGroups) sp->at("groups").fail(fmt::format("at most {} groups", kMaxPrefixGroups));
    const int64_t t = sp->count("tokens");
    if (t + 2 > max_model_len) sp->at("tokens").fail(fmt::format("fewer tokens than the maximum model length {}", max_model_len));
    w.prefix_tokens = static_cast<int32_t>(t);
  }
  if (auto ss = n.find("sessions")) {
    ss->expect_keys({"turns", "think_time_s"});
    w.turns = parse_length(ss->at("turns"), kMaxTurns + 1, true);
    w.think_time_s = ss->number_or("think_time_s", 0.0);
    if (!(w.think_time_s >= 0 && w.think_time_s <= 1e6)) ss->at("think_time_s").fail("a time from 0 to 1,000,000 s");
    if (w.prefix_groups > 0) ss->fail_message("'sessions' and 'shared_prefix' cannot be combined; choose one");
  }
  if (auto sd = n.find("seed")) w.seed = static_cast<uint64_t>(sd->as_nonnegative_int());
  return w;
}

RequestSource::RequestSource(const WorkloadSpec& spec)
    : spec_(spec), arrivals_(spec.seed, 1), lengths_(spec.seed, 2), prefixes_(spec.seed, 3), sessions_(spec.seed, 4) {}

des::TimeNs RequestSource::next_time() {
  const auto& a = spec_.arrival;
  double gap = 0;
  switch (a.kind) {
    case ArrivalSpec::Kind::kPoisson: gap = arrivals_.exponential() / a.rate_per_s; break;
    case ArrivalSpec::Kind::kGamma: {
      const double shape = 1.0 / (a.cv * a.cv);
      gap = arrivals_.gamma(shape) / shape / a.rate_per_s;
      break;
    }
    case ArrivalSpec::Kind::kConstant: gap = issued_ == 0 ? 0.0 : 1.0 / a.rate_per_s; break;
    case ArrivalSpec::Kind::kBurst: {
      // Poisson at `rate` inside on-periods; time spent in off-periods is skipped.
      double t = clock_s_;
      double need = arrivals_.exponential() / a.rate_per_s;
      const double period = a.on_s + a.off_s;
      while (t <= kMaxArrivalS) {
        const double in_period = std::fmod(t, period);
        const double on_left = a.on_s - in_period;
        if (on_left <= 0) {
          // To the next on-period; at least one step of the clock, so that a time far larger
          // than the period still advances.
          const double next = t + (period - in_period);
          t = next > t ? next : std::nextafter(t, 2 * kMaxArrivalS);
          continue;
        }
        if (need <= on_left) {
          t += need;
          break;
        }
        need -= on_left;
        t += on_left + a.off_s;
        // A gap spanning many on-periods (a slow rate in short bursts) skips the whole periods
        // at once instead of looping once per period.
        if (need > 2 * a.on_s) {
          const double whole = std::floor(need / a.on_s) - 1;
          t += whole * period;
          need -= whole * a.on_s;
        }
      }
      gap = t - clock_s_;
      break;
    }
    case ArrivalSpec::Kind::kAllAtOnce: gap = 0; break;
    case ArrivalSpec::Kind::kTrace: gap = 0; break;
  }
  clock_s_ += gap;
  check_time(clock_s_);
  clock_ns_ = des::to_ns(clock_s_);
  return clock_ns_;
}

Request RequestSource::draw_new(des::TimeNs t) {
  Request r;
  r.arrival_ns = t;
  const int64_t L = spec_.max_model_len;
  int64_t in = spec_.input.sample(lengths_);
  if (spec_.prefix_groups > 0) {
    r.prefix_key = static_cast<int64_t>(prefixes_.below(static_cast<uint64_t>(spec_.prefix_groups)));
    r.prefix_tokens = spec_.prefix_tokens;
    in = std::min<int64_t>(in + spec_.prefix_tokens, L - 1);
  }
  const int64_t out = std::min<int64_t>(spec_.output.sample(lengths_), L - in);
  r.input = static_cast<int32_t>(in);
  r.output = static_cast<int32_t>(std::max<int64_t>(1, out));
  r.samples = spec_.samples;
  return r;
}

std::optional<Request> RequestSource::next_arrival() {
  if (issued_ + reserved_ >= spec_.requests) return std::nullopt;
  if (spec_.trace) {
    const TraceRow& row = (*spec_.trace)[trace_pos_++];
    Request r;
    check_time(row.time_s / spec_.trace_speedup);
    r.arrival_ns = des::to_ns(row.time_s / spec_.trace_speedup);
    r.input = row.input;
    r.output = row.output;
    r.samples = spec_.samples;
    r.prefix_key = row.prefix_key;
    r.prefix_tokens = row.prefix_tokens;
    ++issued_;
    return r;
  }
  const des::TimeNs t = next_time();
  Request r = draw_new(t);
  ++issued_;
  if (spec_.turns) {
    const int64_t turns = std::min(spec_.turns->sample(sessions_), spec_.requests - issued_ - reserved_ + 1);
    r.session = next_session_++;
    if (turns > 1) {
      turns_left_[r.session] = static_cast<int32_t>(turns - 1);
      reserved_ += turns - 1;
    }
  }
  return r;
}

std::optional<Request> RequestSource::next_turn(const Request& finished, des::TimeNs finish_ns) {
  if (finished.session < 0) return std::nullopt;
  auto it = turns_left_.find(finished.session);
  if (it == turns_left_.end()) return std::nullopt;
  const int64_t L = spec_.max_model_len;
  const int64_t context = static_cast<int64_t>(finished.input) + finished.output;
  const int64_t in = context + spec_.input.sample(lengths_);
  const int64_t out = spec_.output.sample(lengths_);
  --reserved_;
  if (--it->second == 0) turns_left_.erase(it);
  if (in + 1 > L) {
    // The conversation outgrew the context window: the session ends; its remaining turns are dropped.
    if (turns_left_.count(finished.session)) {
      reserved_ -= turns_left_[finished.session];
      turns_left_.erase(finished.session);
    }
    return std::nullopt;
  }
  Request r;
  const double think = spec_.think_time_s > 0 ? sessions_.exponential() * spec_.think_time_s : 0.0;
  check_time(des::to_s(finish_ns) + think);
  r.arrival_ns = finish_ns + des::to_ns(think);
  r.input = static_cast<int32_t>(in);
  r.output = static_cast<int32_t>(std::max<int64_t>(1, std::min(out, L - in)));
  r.samples = spec_.samples;
  r.session = finished.session;
  r.prefix_key = (int64_t{1} << 50) + finished.session;
  r.prefix_tokens = static_cast<int32_t>(context);
  ++issued_;
  return r;
}

}  // namespace fathom::serve
