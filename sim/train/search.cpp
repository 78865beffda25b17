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

bool SearchFix::empty() const {
  return !tp && !pp && !dp && !cp && !ep && !virtual_stages && !microbatch && !zero && !recompute;
}

bool SearchFix::matches(const TrainConfig& c) const {
  const auto& L = c.layout;
  return (!tp || *tp == L.tp) && (!pp || *pp == L.pp) && (!dp || *dp == L.dp) && (!cp || *cp == L.cp) &&
         (!ep || *ep == L.ep) && (!virtual_stages || *virtual_stages == c.virtual_stages) &&
         (!microbatch || *microbatch == c.microbatch) && (!zero || *zero == c.zero) && (!recompute || *recompute == c.recompute);
}

SearchFix parse_search_fix(const std::string& text, const std::string& where) {
  SearchFix f;
  auto fail = [&](const std::string& found) {
    throw FlagError(where, "expected key=value pairs separated by commas with the keys tp, pp, dp, cp, ep, v, mb (positive "
                           "integers), zero (0-3) and recompute (none, selective, full), each once; found " + found);
  };
  if (text.empty()) fail("nothing");
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos) fail(fmt::format("'{}' without '=' in '{}'", item, text));
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    auto integer = [&](int64_t lo, int64_t hi) {
      if (value.empty() || value.size() > 9 || value.find_first_not_of("0123456789") != std::string::npos) {
        fail(fmt::format("{}='{}' in '{}'", key, value, text));
      }
      const int64_t v = std::stoll(value);
      if (v < lo || v > hi) fail(fmt::format("{}={} (expected {} to {}) in '{}'", key, v, lo, hi, text));
      return v;
    };
    auto set = [&](auto& slot, auto v) {
      if (slot) fail(fmt::format("{} twice in '{}'", key, text));
      slot = v;
    };
    if (key == "tp") set(f.tp, static_cast<int>(integer(1, 1 << 20)));
    else if (key == "pp") set(f.pp, static_cast<int>(integer(1, 1 << 20)));
    else if (key == "dp") set(f.dp, static_cast<int>(integer(1, 1 << 24)));
    else if (key == "cp") set(f.cp, static_cast<int>(integer(1, 1 << 20)));
    else if (key == "ep") set(f.ep, static_cast<int>(integer(1, 1 << 20)));
    else if (key == "v") set(f.virtual_stages, static_cast<int>(integer(1, 1024)));
    else if (key == "mb") set(f.microbatch, integer(1, 1 << 24));
    else if (key == "zero") set(f.zero, static_cast<int>(integer(0, 3)));
    else if (key == "recompute") {
      model::Recompute r;
      if (value == "none") r = model::Recompute::kNone;
      else if (value == "selective") r = model::Recompute::kSelective;
      else if (value == "full") r = model::Recompute::kFull;
      else fail(fmt::format("recompute='{}' in '{}'", value, text));
      set(f.recompute, r);
    } else {
      fail(fmt::format("the key '{}' in '{}'", key, text));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return f;
}

std::string to_string(const SearchFix& f) {
  std::string s;
  auto add = [&](const char* key, const auto& v) {
    if (!v) return;
    if (!s.empty()) s += ',';
    s += fmt::format("{}={}", key, *v);
  };
  add("tp", f.tp);
  add("pp", f.pp);
  add("dp", f.dp);
  add("cp", f.cp);
  add("ep", f.ep);
  add("v", f.virtual_stages);
  add("mb", f.microbatch);
  add("zero", f.zero);
  if (f.recompute) {
    if (!s.empty()) s += ',';
    s += "recompute=";
    s += model::to_string(*f.recompute);
  }
  return s;
}

double parse_memory_headroom(const std::string& text, const std::string& where) {
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !(v >= 0 && v < 0.5)) {
    throw FlagError(where, "expected a fraction of HBM from 0 to below 0.5 (e.g. 0.1), found '" + text + "'");
  }
  return v;
}

SearchResult search(const TrainModel& model, const TrainConfig& base, const SearchOptions& o,
                    std::optional<double> train_tokens) {
  FATHOM_CHECK(!o.gpu_counts.empty());
  FATHOM_CHECK(o.memory_headroom >= 0 && o.memory_headroom < 0.5);
  const model::ModelSpec& m = model.model();
  const SearchFix& fix = o.fix;
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
  // (same time and memory as none), so it is not a distinct configuration (unless fixed).
  std::vector<model::Recompute> recomputes{base.recompute};
  if (fix.recompute) {
    recomputes = {*fix.recompute};
  } else if (o.vary_recompute) {
    recomputes = base.flash_attention ? std::vector<model::Recompute>{model::Recompute::kNone, model::Recompute::kFull}
                                      : std::vector<model::Recompute>{model::Recompute::kNone, model::Recompute::kSelective,
                                                                      model::Recompute::kFull};
  }
  // ZeRO stages tried on a layout with dp·cp data-parallel ranks (sharding needs two or more).
  const bool vary_zero = o.vary_zero && !fix.zero;
  const int fixed_zero = fix.zero ? *fix.zero : base.zero;
  auto zero_range = [&](int64_t dp_cp) {
    return vary_zero ? std::pair<int, int>{0, dp_cp > 1 ? 3 : 0} : std::pair<int, int>{fixed_zero, fixed_zero};
  };
  // A fixed degree is tried as given, even beyond max_tp, max_cp or the layers, and rejected with
  // its reason when it cannot be built; a free one runs over the divisors of what is left.
  auto degrees = [](const std::optional<int>& fixed, int64_t n, int64_t max) {
    return fixed ? std::vector<int64_t>{*fixed} : divisors(n, max);
  };
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
    // A fixed degree that does not divide what the others leave: the GPU count has no layout with
    // it (each such combination is counted once under "fix").
    auto not_dividing = [&](const char* key, int64_t v, int64_t left, const std::string& of) {
      reject({"fix", fmt::format("expected {}={} to divide {}, found a remainder of {}", key, v, of, left % v)});
    };
    const size_t before = layouts.size();
    const int64_t fix_rejected_before = res.rejected.count("fix") ? res.rejected["fix"].count : 0;
    for (int64_t tp : degrees(fix.tp, G, o.max_tp)) {
      if (G % tp != 0) {
        not_dividing("tp", tp, G, fmt::format("the {} GPUs", G));
        continue;
      }
      for (int64_t pp : degrees(fix.pp, G / tp, m.layers)) {
        if ((G / tp) % pp != 0) {
          not_dividing("pp", pp, G / tp, fmt::format("the {} GPUs / tp{} = {}", G, tp, G / tp));
          continue;
        }
        for (int64_t cp : degrees(fix.cp, G / (tp * pp), o.vary_cp ? o.max_cp : 1)) {
          if ((G / (tp * pp)) % cp != 0) {
            not_dividing("cp", cp, G / (tp * pp), fmt::format("the {} GPUs / (tp{} × pp{}) = {}", G, tp, pp, G / (tp * pp)));
            continue;
          }
          const int64_t dp = G / (tp * pp * cp);
          if (fix.dp && dp != *fix.dp) {
            // Only reported when nothing at this GPU count satisfies the fix (below): the other
            // degrees were free to take other values.
            continue;
          }
          const int64_t max_ep = m.moe ? m.moe->experts : 1;
          for (int64_t ep : degrees(fix.ep, dp * cp, max_ep)) {
            if ((dp * cp) % ep != 0) {
              not_dividing("ep", ep, dp * cp, fmt::format("dp{} × cp{} = {}", dp, cp, dp * cp));
              continue;
            }
            int64_t work = 1;
            if (base.global_batch % dp == 0) {
              const auto [z0, z1] = zero_range(dp * cp);
              const int64_t mbs = fix.microbatch ? 1 : static_cast<int64_t>(divisors(base.global_batch / dp, o.max_microbatch).size());
              const int64_t stages = fix.virtual_stages ? 1 : pp > 1 ? std::max(o.max_virtual_stages, 0) : 1;
              work += mbs * stages * static_cast<int64_t>(recomputes.size()) * (z1 - z0 + 1);
            }
            layouts.push_back({G, tp, pp, cp, dp, ep, work});
            total += work;
          }
        }
      }
    }
    const int64_t fix_rejected = res.rejected.count("fix") ? res.rejected["fix"].count : 0;
    if (layouts.size() == before && fix.dp && fix_rejected == fix_rejected_before) {
      reject({"fix", fmt::format("expected tp × pp × cp × dp = {} GPUs with the fixed {}, found no such layout", G,
                                 to_string(fix))});
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
  const double usable_fraction = 1 - o.memory_headroom;
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
      c.cp_kind = CpKind::kRing;
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
      const std::vector<int64_t> mbs =
          fix.microbatch ? std::vector<int64_t>{*fix.microbatch} : divisors(base.global_batch / dp, o.max_microbatch);
      const int v_lo = fix.virtual_stages ? *fix.virtual_stages : 1;
      const int v_hi = fix.virtual_stages ? *fix.virtual_stages : pp > 1 ? o.max_virtual_stages : 1;
      const auto [z_lo, z_hi] = zero_range(dp * cp);
      for (int64_t mb : mbs) {
        for (int v = v_lo; v <= v_hi; ++v) {
          c.microbatch = mb;
          c.virtual_stages = v;
          // Not a distinct layout when free; a fixed v is left to check_config to explain.
          if (!fix.virtual_stages && v > 1 && (m.layers % (pp * v) != 0)) continue;
          for (model::Recompute rc : recomputes) {
            c.recompute = rc;
            for (int z = z_lo; z <= z_hi; ++z) {
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
              const double limit = usable_fraction * r.memory.capacity;
              if (r.memory.total > limit) {
                if (res.rejected.count("memory headroom") == 0) {
                  reject({"memory headroom",
                          fmt::format("expected at most {:.1f} GiB per GPU ({:g}% of the {:.1f} GiB of HBM kept free), found "
                                      "{:.1f} GiB ({:.1f}%) for {}, microbatch {}, recompute {}, ZeRO {}",
                                      limit / 1073741824.0, 100 * o.memory_headroom, r.memory.capacity / 1073741824.0,
                                      r.memory.total / 1073741824.0, 100 * r.memory.total / r.memory.capacity, layout_label(c),
                                      c.microbatch, recompute_label(c), c.zero)});
                } else {
                  reject({"memory headroom", ""});
                }
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
  // mfu and hfu: kMfuConvention and kHfuConvention; the FLOPs per step behind each are the last
  // two columns.
  os << "rank,gpus,tp,pp,dp,cp,ep,virtual_stages,sequence_parallel,microbatch,recompute,zero,step_s,tokens_per_s,mfu,hfu,"
        "memory_bytes,memory_margin_bytes,train_time_s,gpu_hours,usd,framework,model_flops_per_step,"
        "hardware_flops_per_step\n";
  int i = 0;
  for (const auto& r : result.top) {
    const auto& c = r.config;
    os << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{:.9g},{:.9g},{:.6g},{:.6g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{},{:.9g},"
                      "{:.9g}\n",
                      ++i, c.gpus(), c.layout.tp, c.layout.pp, c.layout.dp, c.layout.cp, c.layout.ep, c.virtual_stages,
                      c.layout.sequence_parallel ? 1 : 0, c.microbatch, model::to_string(c.recompute), c.zero, r.time.step,
                      r.tokens_per_s, r.mfu, r.hfu, r.memory.total, r.memory.margin(), r.train_time_s, r.gpu_hours, r.usd,
                      to_string(framework_of(c)), r.model_flops_per_step, r.hardware_flops_per_step);
  }
}

}  // namespace fathom::train
