#include "sim/serve/engine.h"

#include <fmt/format.h>

#include "common/error.h"

namespace fathom::serve::detail {

void Engine::preempt(Replica& rep, int32_t id) {
  Seq& s = seqs_[static_cast<size_t>(id)];
  ++preemptions_;
  ++record_of(s).preemptions;
  if (cfg_.scheduler.preemption == Preemption::kSwap && s.done == s.prefill_total && rep.host_free_blocks >= s.own_blocks) {
    rep.host_free_blocks -= s.own_blocks;
    rep.free_blocks += s.own_blocks;
    rep.plan_swap_bytes += static_cast<double>(s.own_blocks) * rep.block_bytes;
    s.swapped_blocks = s.own_blocks;
    s.own_blocks = 0;
    rep.swapped.push_back(id);
    return;
  }
  release(rep, s);
  s.gen_base = s.generated;
  s.prefill_total = s.input + s.n * s.generated;
  s.done = 0;
  rep.waiting.push_front(id);
}

bool Engine::ensure_or_preempt(Replica& rep, size_t i, int64_t need, bool& preempted) {
  for (;;) {
    Seq& s = seqs_[static_cast<size_t>(rep.running[i])];
    if (ensure(rep, s, need)) return true;
    // Preempt the most recently admitted sequence (vLLM's lowest priority), possibly this one.
    const int32_t victim = rep.running.back();
    rep.running.pop_back();
    unplan(rep, victim);
    preempt(rep, victim);
    preempted = true;
    if (rep.running.size() == i) return false;
  }
}

void Engine::plan_running(Replica& rep, bool decodes, bool prefills, int64_t& budget, bool& preempted) {
  const bool unlimited = budget < 0;
  // With `decodes_first`, prompts in the middle of their prefill are remembered by position and
  // planned after every decode (positions below running.size() keep their sequence: preemption
  // only removes from the back).
  const bool decodes_first = decodes && prefills && (cfg_.scheduler.kind == SchedulerKind::kSarathi ||
                                                     cfg_.scheduler.kind == SchedulerKind::kDisaggregated);
  auto& deferred = rep.deferred;
  deferred.clear();
  auto plan_prefill = [&](size_t i) {
    const int32_t id = rep.running[i];
    Seq& s = seqs_[static_cast<size_t>(id)];
    const int64_t left = s.prefill_total - s.done;
    const int64_t chunk = unlimited ? left : std::min(left, budget);
    if (chunk <= 0) return true;
    if (!ensure_or_preempt(rep, i, need_prefill(s, s.done + chunk), preempted)) return false;
    rep.plan_prefill.emplace_back(id, static_cast<int32_t>(chunk));
    if (!unlimited) budget -= chunk;
    return true;
  };
  // Decode rows and their KV are summed locally and added to the plan before anything that
  // reads or changes it (preemption takes planned sequences back out). The loop works on local
  // copies of the settings and of the budget (written back before plan_prefill, which spends
  // it): stores into the plan could otherwise alias them and force a reload per sequence.
  int64_t rows = 0, kvsum = 0;
  auto flush = [&] {
    rep.plan_rows += rows;
    rep.plan_kv += kvsum;
    rows = kvsum = 0;
  };
  const int64_t spec_q = spec_q_, block_size = block_size_;
  const bool fast = simple_blocks_;
  int64_t left = budget;
  rep.plan_decode.reserve(rep.plan_decode.size() + rep.running.size());
  for (size_t i = 0; i < rep.running.size(); ++i) {
    const int32_t id = rep.running[i];
    Seq& s = seqs_[static_cast<size_t>(id)];
    if (s.finished) {
      add_decode(rep, id, s);  // static batching: padding
      continue;
    }
    if (s.done < s.prefill_total) {
      if (!prefills) continue;
      if (decodes_first) {
        deferred.push_back(i);
        continue;
      }
      flush();
      budget = left;
      const bool ok = plan_prefill(i);
      left = budget;
      if (!ok) break;
    } else {
      if (!decodes) continue;
      const int64_t q = s.n * spec_q;
      if (!unlimited && left < q) continue;
      if (fast && s.n == 1) {
        // Fast path (one sample, no compression): the step's KV length decides both the blocks
        // needed and the attention work.
        const int64_t kv = static_cast<int64_t>(s.input) + s.generated - 1 + spec_q;
        if (kv - s.shared > s.own_blocks * block_size) {
          flush();
          if (!ensure_or_preempt(rep, i, need_decode(s, s.generated - 1 + spec_q), preempted)) break;
        }
        rep.plan_decode.push_back(id);
        rows += 1;
        kvsum += kv;
      } else {
        flush();
        if (!ensure_or_preempt(rep, i, need_decode(s, s.generated - 1 + spec_q), preempted)) break;
        add_decode(rep, id, s);
      }
      if (!unlimited) left -= q;
    }
  }
  flush();
  budget = left;
  for (size_t i : deferred) {
    if (i >= rep.running.size()) break;
    if (!plan_prefill(i)) break;
  }
}

void Engine::admit_waiting(Replica& rep, int64_t& budget, bool whole_prompts) {
  const auto& sc = cfg_.scheduler;
  const bool unlimited = budget < 0;
  const auto watermark = static_cast<int64_t>(sc.watermark * static_cast<double>(rep.total_blocks));
  while (!rep.waiting.empty() && static_cast<int64_t>(rep.running.size()) < sc.max_seqs && (unlimited || budget > 0)) {
    const int32_t id = rep.waiting.front();
    Seq& s = seqs_[static_cast<size_t>(id)];
    const bool fresh = s.entry < 0;
    lookup(rep, s);
    // A prefix hit that cannot be admitted now lets go of its entry, so that waiting
    // requests never pin the cache they are waiting for.
    auto undo = [&] {
      if (fresh && s.entry >= 0) {
        release(rep, s);
        s.done = 0;
      }
    };
    const int64_t left = s.prefill_total - s.done;
    int64_t chunk = left;
    if (!unlimited && !whole_prompts) chunk = std::min(left, budget);
    // Whole prompts beyond the budget run only as the iteration's first prefill.
    if (!unlimited && whole_prompts && left > budget && !rep.plan_prefill.empty()) {
      undo();
      break;
    }
    int64_t need = sc.reserve_full ? need_full(s) : need_prefill(s, s.done + chunk);
    if ((rep.free_blocks - (need - s.own_blocks) < watermark && !rep.running.empty()) || !ensure(rep, s, need)) {
      undo();
      break;
    }
    rep.waiting.pop_front();
    rep.running.push_back(id);
    RequestRecord& rec = record_of(s);
    if (rec.scheduled_ns < 0) {
      rec.scheduled_ns = sim_.now();
      rec.cached = s.shared;
      --unscheduled_;
    }
    rep.plan_prefill.emplace_back(id, static_cast<int32_t>(chunk));
    if (!unlimited) budget -= chunk;
  }
}

void Engine::admit_kv(Replica& rep) {
  while (!rep.arrived_kv.empty() && static_cast<int64_t>(rep.running.size()) < cfg_.scheduler.max_seqs) {
    const int32_t id = rep.arrived_kv.front();
    Seq& s = seqs_[static_cast<size_t>(id)];
    const int64_t need = cfg_.scheduler.reserve_full ? need_full(s) : need_decode(s, s.generated - 1 + spec_q_);
    if (!ensure(rep, s, need)) break;
    rep.arrived_kv.pop_front();
    rep.running.push_back(id);
    add_decode(rep, id, s);
  }
}

void Engine::swap_in(Replica& rep) {
  while (!rep.swapped.empty()) {
    const int32_t id = rep.swapped.front();
    Seq& s = seqs_[static_cast<size_t>(id)];
    const int64_t need = need_decode(s, s.generated - 1 + spec_q_);
    if (rep.free_blocks < need) break;
    rep.free_blocks -= need;
    rep.host_free_blocks += s.swapped_blocks;
    rep.plan_swap_bytes += static_cast<double>(s.swapped_blocks) * rep.block_bytes;
    s.swapped_blocks = 0;
    s.own_blocks = static_cast<int32_t>(need);
    rep.swapped.pop_front();
    rep.running.push_back(id);
    add_decode(rep, id, s);
  }
}

void Engine::plan(Replica& rep) {
  rep.plan_prefill.clear();
  rep.plan_decode.clear();
  rep.plan_rows = 0;
  rep.plan_kv = 0;
  rep.plan_swap_bytes = 0;
  const auto& sc = cfg_.scheduler;
  bool preempted = false;
  int64_t budget = sc.token_budget;
  int64_t unlimited = -1;
  if (rep.role == Role::kDecode) {
    plan_running(rep, true, false, unlimited, preempted);
    if (!preempted) swap_in(rep);
    admit_kv(rep);
    return;
  }
  if (rep.role == Role::kPrefill) {
    plan_running(rep, false, true, budget, preempted);
    admit_waiting(rep, budget, false);
    return;
  }
  switch (sc.kind) {
    case SchedulerKind::kStatic: {
      if (rep.running.empty()) {
        admit_waiting(rep, unlimited, true);
      } else {
        plan_running(rep, true, true, unlimited, preempted);
      }
      break;
    }
    case SchedulerKind::kVllm: {
      if (rep.swapped.empty()) {
        admit_waiting(rep, budget, true);
        if (!rep.plan_prefill.empty()) break;
      }
      plan_running(rep, true, true, unlimited, preempted);
      if (!preempted) swap_in(rep);
      break;
    }
    case SchedulerKind::kOrca: {
      plan_running(rep, true, true, budget, preempted);
      if (!preempted) swap_in(rep);
      admit_waiting(rep, budget, true);
      break;
    }
    case SchedulerKind::kSarathi:
    case SchedulerKind::kDisaggregated: {
      // Decodes first, so that they are never stalled behind a prompt; then the unfinished
      // prompts' next chunks, then new prompts.
      plan_running(rep, true, true, budget, preempted);
      if (!preempted) swap_in(rep);
      if (rep.swapped.empty()) admit_waiting(rep, budget, false);
      break;
    }
  }
}

void Engine::kick(Replica& rep) {
  if (rep.busy) return;
  plan(rep);
  if (rep.plan_prefill.empty() && rep.plan_decode.empty()) return;
  start_iteration(rep);
}

void Engine::start_iteration(Replica& rep) {
  IterationCost& c = *rep.cost;
  IterationCost::Attention a, ad;
  int64_t tokens = 0, logits = 0, prefill_tokens = 0;
  for (const auto& [id, chunk] : rep.plan_prefill) {
    const Seq& s = seqs_[static_cast<size_t>(id)];
    tokens += chunk;
    prefill_tokens += chunk;
    c.add_prefill(a, chunk, s.done);
    if (rep.draft) rep.draft->add_prefill(ad, chunk, s.done);
    if (s.done + chunk == s.prefill_total) logits += s.n;
  }
  const int64_t rows = rep.plan_rows;
  tokens += rows * spec_q_;
  logits += rows * spec_q_;
  if (spec_q_ > 1) {
    a.spec_rows = static_cast<double>(rows);
    a.spec_kv = static_cast<double>(rep.plan_kv);
    ad.decode_rows = static_cast<double>(rows);
    ad.decode_kv = static_cast<double>(rep.plan_kv);
  } else {
    a.decode_rows = static_cast<double>(rows);
    a.decode_kv = static_cast<double>(rep.plan_kv);
  }
  Work w = c.dense(tokens);
  w += c.head(logits);
  w += c.attention(a, spec_q_);
  if (rep.draft) {
    // The draft proposes k tokens one at a time for every decoding row, and prefills prompts too.
    IterationCost& d = *rep.draft;
    Work step = d.dense(rows);
    step += d.head(rows);
    IterationCost::Attention dec = ad;
    dec.prefill_flops = dec.prefill_bytes = 0;
    step += d.attention(dec, 1);
    Work draft_work;
    for (int j = 0; j < cfg_.spec.tokens && rows > 0; ++j) draft_work += step;
    IterationCost::Attention pre;
    pre.prefill_flops = ad.prefill_flops;
    pre.prefill_bytes = ad.prefill_bytes;
    draft_work += d.dense(prefill_tokens);
    draft_work += d.attention(pre, 1);
    w += draft_work;
  }
  double t = w.time_s + cfg_.iteration_overhead_s;
  if (rep.plan_swap_bytes > 0) t += rep.plan_swap_bytes / std::max(1.0, s_.gpu.host_bw_Bps);
  rep.busy = true;
  rep.busy_s += t;
  // The window's cost split: the iteration's GPU time, shared by its prompt tokens and its
  // output (decode or verification) tokens in proportion to their count (docs/metrics.md).
  const double gpu_s = t * rep.gpus;
  const double prompt_tokens = static_cast<double>(prefill_tokens), decode_tokens = static_cast<double>(rows * spec_q_);
  const double share = prompt_tokens + decode_tokens > 0 ? prompt_tokens / (prompt_tokens + decode_tokens) : 0;
  prefill_gpu_s_ += gpu_s * share;
  decode_gpu_s_ += gpu_s * (1 - share);
  rep.flops += w.flops;
  rep.bytes += w.bytes;
  ++rep.iterations;
  rep.mark_kv(sim_.now());
  schedule_after(t, 0, kIterationDone, static_cast<uint64_t>(rep.id));
}

}  // namespace fathom::serve::detail
