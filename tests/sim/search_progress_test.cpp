// Progress and cancellation of the configuration search (sim/train/search.h): the callback rises
// monotonically from (0, total) to (total, total) at most about every 1%, the ranking does not
// depend on it, and a set cancellation token stops the search with fathom::Cancelled.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <utility>
#include <vector>

#include "catalog_fixture.h"
#include "common/error.h"
#include "sim/train/search.h"

namespace fathom::train {
namespace {

// Llama-3.1-8B on up to 64 A100s: some thousands of candidates, well under a second.
struct Fixture {
  TrainModel model;
  TrainConfig base;
  SearchOptions options;
};

Fixture llama_on_a100s() {
  hw::GpuSpec gpu = test::hardware().gpu("a100-sxm-80gb", "test");
  Fixture f{TrainModel(*test::models().find("llama-3.1-8b"), gpu, hw::make_cluster(gpu, 8, 8), model::Precision{}), {}, {}};
  f.base.seq_len = 4096;
  f.base.global_batch = 512;
  f.options.gpu_counts = {32, 64};
  f.options.top = 20;
  return f;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(SearchProgress, RisesMonotonicallyFromZeroToTheTotal) {
  Fixture f = llama_on_a100s();
  std::vector<std::pair<int64_t, int64_t>> calls;
  f.options.on_progress = [&](int64_t done, int64_t total) { calls.emplace_back(done, total); };
  const SearchResult r = search(f.model, f.base, f.options);
  ASSERT_GE(calls.size(), 2u);
  const int64_t total = calls.front().second;
  EXPECT_EQ(calls.front().first, 0);
  EXPECT_EQ(calls.back().first, total);
  // Every costed configuration is a unit of work (as is every layout, and every candidate
  // rejected before costing).
  EXPECT_GE(total, r.evaluated);
  EXPECT_GT(r.evaluated, 0);
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, total);
    EXPECT_GT(calls[i].first, calls[i - 1].first) << "call " << i;
  }
  // About every 1%: the start, at most 100 steps of total/100, and the end.
  EXPECT_LE(calls.size(), 102u);
  EXPECT_GE(calls.size(), 20u) << "a search of " << total << " units should report often";
}

TEST(SearchProgress, RankingIsTheSameWithAndWithoutACallback) {
  Fixture plain = llama_on_a100s();
  const SearchResult a = search(plain.model, plain.base, plain.options);
  Fixture watched = llama_on_a100s();
  int64_t calls = 0;
  watched.options.on_progress = [&](int64_t, int64_t) { ++calls; };
  const SearchResult b = search(watched.model, watched.base, watched.options);
  EXPECT_GT(calls, 0);
  ASSERT_EQ(a.top.size(), b.top.size());
  ASSERT_FALSE(a.top.empty());
  EXPECT_EQ(a.evaluated, b.evaluated);
  EXPECT_EQ(a.feasible, b.feasible);
  EXPECT_EQ(a.rejected_total, b.rejected_total);
  for (size_t i = 0; i < a.top.size(); ++i) {
    EXPECT_TRUE(same_bits(a.top[i].time.step, b.top[i].time.step)) << i;
    EXPECT_TRUE(same_bits(a.top[i].memory.total, b.top[i].memory.total)) << i;
    EXPECT_EQ(a.top[i].config.layout.tp, b.top[i].config.layout.tp) << i;
    EXPECT_EQ(a.top[i].config.layout.pp, b.top[i].config.layout.pp) << i;
    EXPECT_EQ(a.top[i].config.microbatch, b.top[i].config.microbatch) << i;
  }
}

TEST(SearchProgress, ATokenSetBeforeTheCallThrowsCancelledBeforeAnyWork) {
  Fixture f = llama_on_a100s();
  std::atomic<bool> cancel{true};
  f.options.cancel = &cancel;
  int64_t last_done = -1;
  f.options.on_progress = [&](int64_t done, int64_t) { last_done = done; };
  EXPECT_THROW(search(f.model, f.base, f.options), Cancelled);
  EXPECT_EQ(last_done, 0);
}

TEST(SearchProgress, ATokenSetDuringTheSearchStopsItAtTheNextCandidate) {
  Fixture f = llama_on_a100s();
  std::atomic<bool> cancel{false};
  f.options.cancel = &cancel;
  int64_t done_at_cancel = -1, total = 0, reports_after = 0;
  f.options.on_progress = [&](int64_t done, int64_t t) {
    total = t;
    if (done_at_cancel >= 0) ++reports_after;
    if (done_at_cancel < 0 && done > 0 && done >= t / 10) {
      done_at_cancel = done;
      cancel = true;
    }
  };
  EXPECT_THROW(search(f.model, f.base, f.options), Cancelled);
  ASSERT_GT(done_at_cancel, 0);
  EXPECT_LT(done_at_cancel, total);
  EXPECT_EQ(reports_after, 0) << "the search went on after the token was set";
}

}  // namespace
}  // namespace fathom::train
