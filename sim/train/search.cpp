#include "sim/train/search.h"

#include <algorithm>
#include <ostream>
#include <stdexcept>

#include <fmt/format.h>

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

std::vector<int64_t> parse_gpu_counts(const std::string& text, const hw::ClusterSpec& cluster, const std::string& where) {
  const int64_t per_node = std::max(cluster.gpus_per_node, 1);
  std::vector<int64_t> out;
  auto num = [&](const std::string& s) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9) {
      throw FlagError(where, "expected a GPU count, a range A-B or a comma-separated list, found '" + text + "'");
    }
    const int64_t v = std::stoll(s);
    if (v < 1) throw FlagError(where, "expected GPU counts >= 1, found '" + text + "'");
    return v;
  };
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t dash = item.find('-');
    if (dash == std::string::npos) {
      out.push_back(num(item));
    } else {
      const int64_t a = num(item.substr(0, dash)), b = num(item.substr(dash + 1));
      if (a > b) throw FlagError(where, "expected a range A-B with A <= B, found '" + item + "'");
      for (int64_t g = (a + per_node - 1) / per_node * per_node; g <= b; g += per_node) {
        out.push_back(g);
        if (out.size() > 256) throw FlagError(where, "expected at most 256 GPU counts, found more in '" + text + "'");
      }
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.empty()) throw FlagError(where, "expected at least one GPU count, found none in '" + text + "'");
  if (out.size() > 256) throw FlagError(where, "expected at most 256 GPU counts, found " + std::to_string(out.size()));
  for (int64_t g : out) {
    if (g > cluster.total_gpus()) {
      throw FlagError(where, fmt::format("expected at most the {} GPUs of {}, found {}", cluster.total_gpus(), cluster.name, g));
    }
  }
  return out;
}

std::string layout_label(const TrainConfig& c) {
  const auto& L = c.layout;
  std::string s = fmt::format("tp{} pp{} dp{}", L.tp, L.pp, L.dp);
  if (L.cp > 1) s += fmt::format(" cp{}{}", L.cp, L.cp_all_to_all ? "a2a" : "");
  if (L.ep > 1) s += fmt::format(" ep{}", L.ep);
  if (c.virtual_stages > 1) s += fmt::format(" v{}", c.virtual_stages);
  if (c.first_stage_layers > 0) s += fmt::format(" stages {}/{}", c.first_stage_layers, c.last_stage_layers);
  if (L.sequence_parallel && L.tp > 1) s += " sp";
  return s;
}

std::string recompute_label(const TrainConfig& c) {
  if (c.recompute == model::Recompute::kFull && c.recompute_layers > 0) return fmt::format("full x{}", c.recompute_layers);
  return model::to_string(c.recompute);
}

void write_search_csv(std::ostream& os, const SearchResult& result) {
  os << "rank,gpus,tp,pp,dp,cp,ep,virtual_stages,sequence_parallel,microbatch,recompute,zero,step_s,tokens_per_s,mfu,hfu,"
        "memory_bytes,memory_margin_bytes,train_time_s,gpu_hours,usd\n";
  int i = 0;
  for (const auto& r : result.top) {
    const auto& c = r.config;
    os << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{:.9g},{:.9g},{:.6g},{:.6g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g}\n", ++i,
                      c.gpus(), c.layout.tp, c.layout.pp, c.layout.dp, c.layout.cp, c.layout.ep, c.virtual_stages,
                      c.layout.sequence_parallel ? 1 : 0, c.microbatch, model::to_string(c.recompute), c.zero, r.time.step,
                      r.tokens_per_s, r.mfu, r.hfu, r.memory.total, r.memory.margin(), r.train_time_s, r.gpu_hours, r.usd);
  }
}

}  // namespace fathom::train
