// Progress and cancellation of the serving validations (sim/serve/validate.h,
// ValidationControl): the queueing checks count simulated requests over their six runs, the
// TensorRT-LLM table counts rows; both rise monotonically to (total, total), leave the results
// unchanged, and stop with fathom::Cancelled when the token is set.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <utility>
#include <vector>

#include "catalog_fixture.h"
#include "common/error.h"
#include "sim/serve/validate.h"

namespace fathom::serve {
namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_monotone_to_total(const std::vector<std::pair<int64_t, int64_t>>& calls, int64_t total) {
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls.front(), std::make_pair(int64_t{0}, total));
  EXPECT_EQ(calls.back(), std::make_pair(total, total));
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, total);
    EXPECT_GT(calls[i].first, calls[i - 1].first) << "call " << i;
  }
  EXPECT_LE(calls.size(), 102u);  // about every 1%
}

constexpr int64_t kRequests = 2000;

TEST(ServeValidationProgress, QueueingCountsTheRequestsOfItsSixRuns) {
  std::vector<std::pair<int64_t, int64_t>> calls;
  ValidationControl c;
  c.on_progress = [&](int64_t done, int64_t total) { calls.emplace_back(done, total); };
  const auto watched = validate_queueing(test::hardware(), test::models(), kRequests, 1, c);
  // The M/D/1 probe (1 request), the M/M/1 probe (min(200000, n)) and four runs of n.
  expect_monotone_to_total(calls, 1 + kRequests + 4 * kRequests);
  const auto plain = validate_queueing(test::hardware(), test::models(), kRequests);
  ASSERT_EQ(plain.size(), watched.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_TRUE(same_bits(plain[i].measured_wait_s, watched[i].measured_wait_s)) << plain[i].name;
    EXPECT_TRUE(same_bits(plain[i].service_mean_s, watched[i].service_mean_s)) << plain[i].name;
  }
}

TEST(ServeValidationProgress, QueueingStopsWithCancelledWhenTheTokenIsSet) {
  std::atomic<bool> cancel{false};
  ValidationControl c;
  c.cancel = &cancel;
  int64_t done_at_cancel = -1, reports_after = 0;
  c.on_progress = [&](int64_t done, int64_t total) {
    if (done_at_cancel >= 0) ++reports_after;
    if (done_at_cancel < 0 && done >= total / 4) {
      done_at_cancel = done;
      cancel = true;
    }
  };
  EXPECT_THROW(validate_queueing(test::hardware(), test::models(), kRequests, 1, c), Cancelled);
  EXPECT_GT(done_at_cancel, 0);
  // The simulator reads the token every 4096 events: at most a few reports may follow.
  EXPECT_LE(reports_after, 5);
}

TEST(ServeValidationProgress, ThroughputTableCountsRows) {
  std::vector<std::pair<int64_t, int64_t>> calls;
  ValidationControl c;
  c.on_progress = [&](int64_t done, int64_t total) { calls.emplace_back(done, total); };
  const auto t = validate_trtllm(data_dir() + "/validation/trtllm_throughput.csv", test::hardware(), test::models(), 200, c);
  expect_monotone_to_total(calls, static_cast<int64_t>(t.rows.size()));
  std::atomic<bool> cancel{true};
  c.cancel = &cancel;
  EXPECT_THROW(validate_trtllm(data_dir() + "/validation/trtllm_throughput.csv", test::hardware(), test::models(), 200, c),
               Cancelled);
}

}  // namespace
}  // namespace fathom::serve
