#include "sim/train/search.h"

#include <algorithm>
#include <stdexcept>

#include "common/error.h"

namespace fathom::train {

std::string to_string(RankBy r) {
  switch (r) {
    case RankBy::kTime: return "time";
    case RankBy::kCost: return "cost";
    case RankBy::kMfu: return "mfu";
  }
  return "?";
}

RankBy parse_rank_by(const std::string& s) {
  if (s == "time") return RankBy::kTime;
  if (s == "cost") return RankBy::kCost;
  if (s == "mfu") return RankBy::kMfu;
  throw std::invalid_argument("expected time, cost or mfu, found '" + s + "'");
}

namespace {

std::vector<int64_t> divisors(int64_t n, int64_t max) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i <= n && i <= max; ++i) {
    if (n % i == 0) d.push_back(i);
  }
  return d;
}

// Lower is better; ties broken by fewer GPUs, then by the order of enumeration (stable sort).
double score(const TrainResult& r, RankBy by) {
  const double gpus = static_cast<double>(r.config.gpus());
  switch (by) {
    case RankBy::kTime: return r.time.step / r.tokens_per_step;  // seconds per token
    case RankBy::kCost: return r.time.step * gpus / r.tokens_per_step;  // GPU-seconds per token
    case RankBy::kMfu: return -r.mfu;
  }
  return 0;
}

}  // namespace

SearchResult search(const TrainModel& model, const TrainConfig& base, const SearchOptions& o,
                    std::optional<double> train_tokens) {
  FATHOM_CHECK(!o.gpu_counts.empty());
  const model::ModelSpec& m = model.model();
  SearchResult res;
  std::vector<TrainResult> feasible;
  auto reject = [&](const Infeasible& why, int64_t n = 1) {
    Rejection& r = res.rejected[why.field];
    if (r.count == 0) r.example = why.reason;
    r.count += n;
    res.rejected_total += n;
  };
  // Bounded best-first list; a later configuration enters only if strictly better, so ties keep
  // the enumeration order.
  auto better = [&](const TrainResult& a, const TrainResult& b) {
    const double sa = score(a, o.rank_by), sb = score(b, o.rank_by);
    if (sa != sb) return sa < sb;
    return a.config.gpus() < b.config.gpus();
  };
  auto keep = [&](TrainResult&& r) {
    if (o.top == 0) return;
    if (feasible.size() == o.top && !better(r, feasible.back())) return;
    auto pos = std::upper_bound(feasible.begin(), feasible.end(), r, better);
    feasible.insert(pos, std::move(r));
    if (feasible.size() > o.top) feasible.pop_back();
  };
  // With fused attention, selective recomputation is what the attention backward does anyway
  // (same time and memory as none), so it is not a distinct configuration.
  std::vector<model::Recompute> recomputes{base.recompute};
  if (o.vary_recompute) {
    recomputes = base.flash_attention ? std::vector<model::Recompute>{model::Recompute::kNone, model::Recompute::kFull}
                                      : std::vector<model::Recompute>{model::Recompute::kNone, model::Recompute::kSelective,
                                                                      model::Recompute::kFull};
  }
  // Two passes: the layouts (tp, pp, cp, dp, ep per GPU count) and the number of candidates under
  // each are listed first, so that progress has a total; then each layout is searched in the
  // same order as a nested enumeration would (the ranking's tie-break depends on that order).
  struct Layout {
    int64_t gpus, tp, pp, cp, dp, ep;
    int64_t work;  // 1 for the layout + its candidates (microbatch × stages × recompute × ZeRO)
  };
  std::vector<Layout> layouts;
  int64_t total = 0;
  for (int64_t G : o.gpu_counts) {
    for (int64_t tp : divisors(G, o.max_tp)) {
      for (int64_t pp : divisors(G / tp, m.layers)) {
        for (int64_t cp : divisors(G / (tp * pp), o.vary_cp ? o.max_cp : 1)) {
          const int64_t dp = G / (tp * pp * cp);
          const int64_t max_ep = m.moe ? m.moe->experts : 1;
          for (int64_t ep : divisors(dp * cp, max_ep)) {
            int64_t work = 1;
            if (base.global_batch % dp == 0) {
              const int64_t zeros = o.vary_zero ? (dp * cp > 1 ? 4 : 1) : 1;
              const int64_t stages = pp > 1 ? std::max(o.max_virtual_stages, 0) : 1;
              work += static_cast<int64_t>(divisors(base.global_batch / dp, o.max_microbatch).size()) * stages *
                      static_cast<int64_t>(recomputes.size()) * zeros;
            }
            layouts.push_back({G, tp, pp, cp, dp, ep, work});
            total += work;
          }
        }
      }
    }
  }
  // Progress every 1% of the work or so; `done` is set to the exact prefix sum at the end of each
  // layout, so it reaches `total` whatever a layout skipped.
  const int64_t step = std::max<int64_t>(1, total / 100);
  int64_t done = 0, reported = 0;
  auto advance = [&](int64_t to) {
    done = to;
    if (o.on_progress && done - reported >= step) {
      reported = done;
      o.on_progress(done, total);
    }
  };
  auto check_cancel = [&] {
    if (o.cancel != nullptr && o.cancel->load(std::memory_order_relaxed)) {
      throw Cancelled("train search: cancelled after " + std::to_string(done) + " of " + std::to_string(total) +
                      " candidate configurations");
    }
  };
  if (o.on_progress) o.on_progress(0, total);
  int64_t prefix = 0;
  for (const Layout& l : layouts) {
    check_cancel();
    prefix += l.work;
    const int64_t G = l.gpus, tp = l.tp, pp = l.pp, cp = l.cp, dp = l.dp, ep = l.ep;
    [&] {
      TrainConfig c = base;
      c.layout.tp = static_cast<int>(tp);
      c.layout.pp = static_cast<int>(pp);
      c.layout.cp = static_cast<int>(cp);
      c.layout.cp_all_to_all = false;
      c.layout.dp = static_cast<int>(dp);
      c.layout.ep = static_cast<int>(ep);
      c.layout.sequence_parallel = tp > 1;
      c.first_stage_layers = c.last_stage_layers = 0;
      c.recompute_layers = 0;
      c.virtual_stages = 1;
      c.microbatch = 1;
      // Layout-level problems reject the layout once.
      if (auto p = model::layout_problem(m, c.layout)) {
        reject({"parallel." + p->field, p->message});
        return;
      }
      if (cp > 1 && base.seq_len % (2 * cp) != 0) {
        reject({"parallel.cp", "expected the sequence length " + std::to_string(base.seq_len) +
                                   " to be a multiple of 2 × cp for load-balanced ring attention, found cp = " +
                                   std::to_string(cp)});
        return;
      }
      if (base.global_batch % dp != 0) {
        reject({"global_batch", "expected a global batch of " + std::to_string(base.global_batch) +
                                    " sequences divisible by dp = " + std::to_string(dp)});
        return;
      }
      for (int64_t mb : divisors(base.global_batch / dp, o.max_microbatch)) {
        for (int v = 1; v <= (pp > 1 ? o.max_virtual_stages : 1); ++v) {
          c.microbatch = mb;
          c.virtual_stages = v;
          if (v > 1 && (m.layers % (pp * v) != 0)) continue;  // not a distinct layout
          for (model::Recompute rc : recomputes) {
            c.recompute = rc;
            const int zmax = o.vary_zero ? (dp * cp > 1 ? 3 : 0) : base.zero;
            for (int z = o.vary_zero ? 0 : base.zero; z <= zmax; ++z) {
              check_cancel();
              advance(std::min(done + 1, prefix));
              c.zero = z;
              if (auto bad = check_config(m, c, G)) {
                reject(*bad);
                continue;
              }
              TrainResult r = model.evaluate(c, train_tokens);
              ++res.evaluated;
              if (!r.feasible()) {
                reject(*r.infeasible);
                continue;
              }
              ++res.feasible;
              keep(std::move(r));
            }
          }
        }
      }
    }();
    advance(prefix);
  }
  if (o.on_progress && reported != total) o.on_progress(total, total);
  res.top = std::move(feasible);
  return res;
}

}  // namespace fathom::train
