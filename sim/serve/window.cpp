// The measurement window, its sections and the saturation verdict (window.h; definitions and
// sources in docs/metrics.md).
#include "sim/serve/window.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"

namespace fathom::serve {

size_t mser_truncation(const std::vector<double>& z) {
  const size_t m = z.size();
  if (m < 2) return 0;
  // Suffix sums of z and z², so that each candidate d costs O(1); the sums are taken about the
  // series mean to keep the cancellation in Σz² − (Σz)²/n small.
  double mean = 0;
  for (double v : z) mean += v;
  mean /= static_cast<double>(m);
  std::vector<double> s1(m + 1, 0.0), s2(m + 1, 0.0);
  for (size_t j = m; j-- > 0;) {
    const double v = z[j] - mean;
    s1[j] = s1[j + 1] + v;
    s2[j] = s2[j + 1] + v * v;
  }
  size_t best = 0;
  double best_value = std::numeric_limits<double>::infinity();
  for (size_t d = 0; d <= m / 2; ++d) {
    const double n = static_cast<double>(m - d);
    const double ss = std::max(0.0, s2[d] - s1[d] * s1[d] / n);
    const double value = ss / (n * n);
    if (value < best_value) {
      best_value = value;
      best = d;
    }
  }
  return best;
}

double student_t975(int df) {
  FATHOM_CHECK(df >= 1);
  // t_{0.975, ν}, ν = 1..30, to six decimals.
  static constexpr double kTable[30] = {12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624,
                                        2.306004,  2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787,
                                        2.131450,  2.119905, 2.109816, 2.100922, 2.093024, 2.085963, 2.079614,
                                        2.073873,  2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407,
                                        2.045230,  2.042272};
  if (df <= 30) return kTable[df - 1];
  const double z = 1.959963984540054, z2 = z * z, v = df;
  const double g1 = (z2 + 1) * z / 4;
  const double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
  const double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
  const double g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
  return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

namespace detail {

void WindowTracker::merge_pairs() {
  // Cells: 1024 → 512 of twice the arrivals; blocks (8 cells each) follow, 128 → 64.
  for (size_t j = 0; j < cells_.size() / 2; ++j) cells_[j] = cells_[2 * j] + cells_[2 * j + 1];
  cells_.resize(cells_.size() / 2);
  for (size_t k = 0; k < blocks_.size() / 2; ++k) {
    if (k > 0) blocks_[k] = std::move(blocks_[2 * k]);
    Block& a = blocks_[k];
    const Block& b = blocks_[2 * k + 1];
    a.ttft.merge(b.ttft);
    a.tpot.merge(b.tpot);
    a.e2e.merge(b.e2e);
  }
  blocks_.resize(blocks_.size() / 2);
  cell_size_ *= 2;
}

void WindowTracker::arrive(int64_t index, const Counters& now) {
  FATHOM_CHECK(index == arrivals_);
  if (index % cell_size_ == 0) {
    if (cells_.size() == kMaxCells) merge_pairs();
    cells_.push_back(0);
    if (index % (cell_size_ * kCellsPerBlock) == 0) {
      blocks_.emplace_back();
      blocks_.back().start = now;
    }
  }
  cells_.back() += now.in_system;
  last_ = now;
  ++arrivals_;
}

void WindowTracker::complete(int64_t index, double ttft_ns, double tpot_ns, double e2e_ns) {
  Block& b = blocks_[static_cast<size_t>(index / (cell_size_ * kCellsPerBlock))];
  b.ttft.add(ttft_ns);
  if (tpot_ns >= 0) b.tpot.add(tpot_ns);
  b.e2e.add(e2e_ns);
}

namespace {

// Figures of one span of arrivals [from, to): rates over its time, latencies of its requests.
struct Span {
  double duration_s = 0;
  double requests = 0, outputs = 0, totals = 0, good = 0;  // per s
  double mean_in_system = 0;
  double mid_s = 0;  // midpoint, s from the window start
  SectionHistogram ttft, tpot, e2e;
};

// The 95% interval of `value` from the section values by sectioning: s² = Σ(θ_k − θ̂)² / (B − 1),
// half-width t_{B−1, 0.975}·s/√B (Asmussen and Glynn 2007, §III.5a).
Estimate sectioned(double value, const std::vector<double>& sections) {
  Estimate e;
  e.value = value;
  const auto b = static_cast<double>(sections.size());
  if (sections.size() < static_cast<size_t>(kMinBatches)) return e;
  double ss = 0;
  for (double x : sections) {
    if (!std::isfinite(x)) return e;
    ss += (x - value) * (x - value);
  }
  const double half = student_t975(static_cast<int>(sections.size()) - 1) * std::sqrt(ss / (b - 1) / b);
  e.lo = value - half;
  e.hi = value + half;
  return e;
}

}  // namespace

void WindowTracker::finish(double usd_per_gpu_hour, int gpus, MeasurementWindow& w, Saturation& sat,
                           std::string& verdict) const {
  w = MeasurementWindow{};
  sat = Saturation{};
  verdict = kUndetermined;
  if (arrivals_ < kMinWindowRequests) {
    w.rule = fmt::format("whole run: {} requests, fewer than the {} a measurement window needs", arrivals_,
                         kMinWindowRequests);
    sat.reason = w.rule;
    return;
  }
  // MSER-5 on the cell means of the number in system seen by arrivals; the window starts at
  // the first block boundary at or after the truncation point.
  std::vector<double> z(cells_.size());
  for (size_t j = 0; j < cells_.size(); ++j) {
    const int64_t n = j + 1 < cells_.size() ? cell_size_ : arrivals_ - static_cast<int64_t>(j) * cell_size_;
    z[j] = static_cast<double>(cells_[j]) / static_cast<double>(n);
  }
  const size_t d = mser_truncation(z);
  const size_t j0 = (d + kCellsPerBlock - 1) / kCellsPerBlock;
  FATHOM_CHECK(j0 < blocks_.size());
  const Counters& a = blocks_[j0].start;
  const Counters& e = last_;
  const int64_t block_size = cell_size_ * kCellsPerBlock;
  if (e.time_ns <= a.time_ns) {
    w.rule = fmt::format("whole run: the {} requests after the warm-up all arrive at {:.6g} s", arrivals_ - static_cast<int64_t>(j0) * block_size,
                         static_cast<double>(a.time_ns) / 1e9);
    sat.reason = w.rule;
    return;
  }
  w.formed = true;
  w.rule = fmt::format("MSER-{} on the number in system seen by arrivals: {} of {} requests cut as warm-up{}; "
                       "ends at the last arrival",
                       cell_size_, static_cast<int64_t>(j0) * block_size, arrivals_,
                       d == cells_.size() / 2 ? " (at MSER's limit of half the run: the warm-up may not have ended)" : "");
  w.start_s = static_cast<double>(a.time_ns) / 1e9;
  w.end_s = static_cast<double>(e.time_ns) / 1e9;
  w.duration_s = static_cast<double>(e.time_ns - a.time_ns) / 1e9;
  w.first_request = static_cast<int64_t>(j0) * block_size;
  w.arrivals = arrivals_ - 1 - w.first_request;
  w.completions = e.completed - a.completed;
  w.input_tokens = e.prompted - a.prompted;
  w.output_tokens = e.emitted - a.emitted;

  auto span = [&](size_t from, size_t to) {
    const Counters& s0 = blocks_[from].start;
    const Counters& s1 = to < blocks_.size() ? blocks_[to].start : last_;
    Span p;
    p.duration_s = static_cast<double>(s1.time_ns - s0.time_ns) / 1e9;
    const double T = p.duration_s;
    p.requests = static_cast<double>(s1.completed - s0.completed) / T;
    p.outputs = static_cast<double>(s1.emitted - s0.emitted) / T;
    p.totals = static_cast<double>(s1.emitted - s0.emitted + s1.prompted - s0.prompted) / T;
    p.good = static_cast<double>(s1.good - s0.good) / T;
    p.mean_in_system = (s1.area_system - s0.area_system) / (T * 1e9);
    p.mid_s = (static_cast<double>(s0.time_ns + s1.time_ns) / 2 - static_cast<double>(a.time_ns)) / 1e9;
    for (size_t k = from; k < to; ++k) {
      p.ttft.merge(blocks_[k].ttft);
      p.tpot.merge(blocks_[k].tpot);
      p.e2e.merge(blocks_[k].e2e);
    }
    return p;
  };
  const Span all = span(j0, blocks_.size());

  // Sections: B runs of consecutive blocks, as equal as the block count allows.
  const size_t nb = blocks_.size() - j0;
  const size_t B = std::min<size_t>(kBatches, nb);
  std::vector<Span> parts;
  bool timed = true;  // every section spans time (rates defined)
  if (B >= static_cast<size_t>(kMinBatches)) {
    for (size_t k = 0; k < B; ++k) {
      parts.push_back(span(j0 + k * nb / B, j0 + (k + 1) * nb / B));
      timed = timed && parts.back().duration_s > 0;
    }
    w.batches = static_cast<int>(B);
  }
  auto rate = [&](double value, double Span::*field) {
    std::vector<double> x;
    if (timed) {
      for (const auto& p : parts) x.push_back(p.*field);
    }
    return sectioned(value, x);
  };
  auto latency = [&](SectionHistogram Span::*h, bool p99) {
    auto of = [&](const SectionHistogram& g) {
      if (g.count() == 0) return kNaN;
      return (p99 ? g.quantile_ns(0.99) : g.mean_ns()) / 1e9;
    };
    std::vector<double> x;
    for (const auto& p : parts) x.push_back(of(p.*h));
    Estimate est = sectioned(of(all.*h), x);
    if (!std::isfinite(est.value)) est.value = 0;
    return est;
  };
  w.request_throughput = rate(all.requests, &Span::requests);
  w.output_throughput = rate(all.outputs, &Span::outputs);
  w.total_throughput = rate(all.totals, &Span::totals);
  w.goodput = rate(all.good, &Span::good);
  w.ttft_mean = latency(&Span::ttft, false);
  w.ttft_p99 = latency(&Span::ttft, true);
  w.tpot_mean = latency(&Span::tpot, false);
  w.tpot_p99 = latency(&Span::tpot, true);
  w.e2e_mean = latency(&Span::e2e, false);
  w.e2e_p99 = latency(&Span::e2e, true);

  // Cost: the GPUs are paid for the whole window, idle or not; it is split between prompt and
  // output tokens in the proportion of the GPU time their iterations spent on each.
  const double prefill = e.prefill_gpu_s - a.prefill_gpu_s, decode = e.decode_gpu_s - a.decode_gpu_s;
  w.utilisation = gpus > 0 ? (prefill + decode) / (gpus * w.duration_s) : 0;
  w.prefill_cost_share = prefill + decode > 0 ? prefill / (prefill + decode) : 0;
  const double usd = usd_per_gpu_hour * gpus * w.duration_s / 3600.0;
  if (w.input_tokens > 0) w.usd_per_m_input_tokens = usd * w.prefill_cost_share / static_cast<double>(w.input_tokens) * 1e6;
  if (w.output_tokens > 0) {
    w.usd_per_m_output_tokens = usd * (1 - w.prefill_cost_share) / static_cast<double>(w.output_tokens) * 1e6;
  }

  // Saturation: offered against served, and the trend of the number in system over the
  // sections (ordinary least squares, t interval with B − 2 degrees of freedom).
  sat.offered_req_per_s = static_cast<double>(w.arrivals) / w.duration_s;
  sat.served_req_per_s = w.request_throughput.value;
  sat.rho = sat.served_req_per_s > 0 ? w.utilisation * sat.offered_req_per_s / sat.served_req_per_s : kNaN;
  sat.in_system_start = a.in_system;
  sat.in_system_end = e.in_system;
  const double material = kMaterialGrowth * sat.offered_req_per_s;
  if (timed && parts.size() >= static_cast<size_t>(kMinBatches)) {
    const auto n = static_cast<double>(parts.size());
    double mx = 0, my = 0;
    for (const auto& p : parts) {
      mx += p.mid_s;
      my += p.mean_in_system;
    }
    mx /= n;
    my /= n;
    double sxx = 0, sxy = 0;
    for (const auto& p : parts) {
      sxx += (p.mid_s - mx) * (p.mid_s - mx);
      sxy += (p.mid_s - mx) * (p.mean_in_system - my);
    }
    const double slope = sxy / sxx;
    double ssr = 0;
    for (const auto& p : parts) {
      const double r = p.mean_in_system - my - slope * (p.mid_s - mx);
      ssr += r * r;
    }
    const double half = student_t975(static_cast<int>(parts.size()) - 2) * std::sqrt(ssr / (n - 2) / sxx);
    sat.queue_growth_per_s = {slope, slope - half, slope + half};
    const Estimate& g = sat.queue_growth_per_s;
    if (g.lo > 0 && g.value >= material) {
      verdict = kOverloaded;
    } else if (g.hi >= material) {
      verdict = kNearSaturation;
    } else {
      verdict = kStable;
    }
  } else {
    // Sections without duration (arrivals at one instant inside the window): compare the ends.
    const double growth = static_cast<double>(e.in_system - a.in_system) / w.duration_s;
    sat.queue_growth_per_s.value = growth;
    verdict = growth >= material ? kOverloaded : kStable;
  }
  sat.reason = fmt::format("offered {:.4g} requests/s, served {:.4g} requests/s, rho {:.3g}; requests in system {} → {}, "
                           "growing {:.3g}/s (95% CI {:.3g} to {:.3g}; material at {:.3g}/s)",
                           sat.offered_req_per_s, sat.served_req_per_s, sat.rho, sat.in_system_start,
                           sat.in_system_end, sat.queue_growth_per_s.value, sat.queue_growth_per_s.lo,
                           sat.queue_growth_per_s.hi, material);
}

}  // namespace detail
}  // namespace fathom::serve
