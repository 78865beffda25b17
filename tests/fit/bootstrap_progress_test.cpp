// Progress and cancellation of the bootstrap (fit/fitter.h, BootstrapControl): the callback
// rises monotonically from (0, resamples) to (resamples, resamples) at most about every 1%, one
// call at a time on any thread count; the intervals do not depend on the callback or the thread
// count; a set cancellation token stops the resampling with fathom::Cancelled.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "fit/fitter.h"

namespace fathom::fit {
namespace {

// Hoffmann et al. 2022's law at values near their fit, on 40 points with 0.5% noise in log space:
// a fit that converges in milliseconds, so a few hundred resamples take about a second.
struct Problem {
  std::unique_ptr<Law> law;
  Dataset data;
  Options options;
  FitResult best;
};

Problem chinchilla_problem(int threads) {
  Problem p;
  p.law = make_law("chinchilla");
  const std::vector<double> truth = {6.17, 7.67, 0.597, 0.347, 0.367};  // a, b, e, alpha, beta
  Rng rng(20240611, 7);
  p.data.source = "synthetic.csv";
  p.data.x.resize(2);
  for (int i = 0; i < 40; ++i) {
    const double n = std::exp(std::log(1e8) + std::log(100.0) * rng.uniform());
    const double d = std::exp(std::log(1e9) + std::log(300.0) * rng.uniform());
    p.data.x[0].push_back(n);
    p.data.x[1].push_back(d);
    p.data.y.push_back(predict(*p.law, truth, {n, d}) * std::exp(0.005 * rng.normal()));
    p.data.lines.push_back(i + 2);
  }
  p.options = default_options(*p.law);
  p.options.grid = false;
  p.options.random_starts = 8;
  p.options.threads = threads;
  p.best = fit(*p.law, p.data, p.options);
  return p;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
bool same(const Interval& x, const Interval& y) {
  return same_bits(x.low, y.low) && same_bits(x.high, y.high) && same_bits(x.median, y.median) && same_bits(x.sd, y.sd);
}

#ifdef FATHOM_SANITIZED
constexpr int kResamples = 60;
#else
constexpr int kResamples = 300;
#endif

TEST(BootstrapProgress, RisesMonotonicallyToTheResampleCountOneCallAtATime) {
  const Problem p = chinchilla_problem(3);
  std::vector<std::pair<int64_t, int64_t>> calls;
  std::atomic<int> inside{0};
  bool overlapped = false;
  BootstrapControl c;
  c.on_progress = [&](int64_t done, int64_t total) {
    if (inside.fetch_add(1) != 0) overlapped = true;
    calls.emplace_back(done, total);
    inside.fetch_sub(1);
  };
  bootstrap(*p.law, p.data, p.options, p.best, kResamples, 0.95, c);
  EXPECT_FALSE(overlapped);
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls.front(), std::make_pair(int64_t{0}, int64_t{kResamples}));
  EXPECT_EQ(calls.back(), std::make_pair(int64_t{kResamples}, int64_t{kResamples}));
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, kResamples);
    EXPECT_GT(calls[i].first, calls[i - 1].first) << "call " << i;
  }
  // About every 1%: the start, at most 100 steps of resamples/100, and the end.
  EXPECT_LE(calls.size(), 102u);
}

TEST(BootstrapProgress, IntervalsAreTheSameWithOrWithoutACallbackOnAnyThreadCount) {
  const Problem one = chinchilla_problem(1);
  const BootstrapResult plain = bootstrap(*one.law, one.data, one.options, one.best, kResamples / 3, 0.9);
  for (int threads : {1, 3}) {
    Problem p = chinchilla_problem(threads);
    int64_t calls = 0;
    BootstrapControl c;
    c.on_progress = [&](int64_t, int64_t) { ++calls; };
    const BootstrapResult watched = bootstrap(*p.law, p.data, p.options, p.best, kResamples / 3, 0.9, c);
    EXPECT_GT(calls, 0);
    EXPECT_EQ(plain.failed, watched.failed);
    EXPECT_EQ(plain.not_converged, watched.not_converged);
    ASSERT_EQ(plain.params.size(), watched.params.size());
    for (size_t j = 0; j < plain.params.size(); ++j) {
      EXPECT_TRUE(same(plain.params[j], watched.params[j])) << p.law->params[j].name << ", " << threads << " threads";
    }
    EXPECT_GT(plain.params[0].sd, 0);  // resamples really differ
    ASSERT_EQ(plain.derived.size(), watched.derived.size());
    for (size_t d = 0; d < plain.derived.size(); ++d) EXPECT_TRUE(same(plain.derived[d], watched.derived[d]));
  }
}

TEST(BootstrapProgress, ATokenSetBeforeTheCallThrowsCancelledWithoutRefitting) {
  const Problem p = chinchilla_problem(2);
  std::atomic<bool> cancel{true};
  BootstrapControl c;
  c.cancel = &cancel;
  int64_t last_done = -1;
  c.on_progress = [&](int64_t done, int64_t) { last_done = done; };
  EXPECT_THROW(bootstrap(*p.law, p.data, p.options, p.best, kResamples, 0.95, c), Cancelled);
  EXPECT_EQ(last_done, 0);
}

TEST(BootstrapProgress, ATokenSetDuringTheRunStopsItAfterTheResamplesUnderWay) {
  const int threads = 2;
  const Problem p = chinchilla_problem(threads);
  std::atomic<bool> cancel{false};
  BootstrapControl c;
  c.cancel = &cancel;
  int64_t done_at_cancel = -1, last_done = 0;
  std::chrono::steady_clock::time_point set_at;
  c.on_progress = [&](int64_t done, int64_t total) {
    last_done = done;
    if (done_at_cancel < 0 && done >= total / 10 && done > 0) {
      done_at_cancel = done;
      set_at = std::chrono::steady_clock::now();
      cancel = true;
    }
  };
  const int resamples = 10 * kResamples;
  EXPECT_THROW(bootstrap(*p.law, p.data, p.options, p.best, resamples, 0.95, c), Cancelled);
  const double stop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - set_at).count();
  ASSERT_GT(done_at_cancel, 0);
  // Only the resamples already started when the token was set may finish: at most one per
  // thread beyond those counted (reports come every resamples/100).
  EXPECT_LE(last_done, done_at_cancel + threads + resamples / 100);
  EXPECT_LT(last_done, resamples);
  // "Within a second" (ARCHITECTURE.md): one refit of 40 points takes milliseconds, so this
  // bound has ample room on a loaded machine or under the sanitizers.
  EXPECT_LT(stop_s, 1.0);
}

}  // namespace
}  // namespace fathom::fit
