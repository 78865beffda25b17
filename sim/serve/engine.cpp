#include "sim/serve/engine.h"

#include <fmt/format.h>

#include "common/error.h"

namespace fathom::serve::detail {

Engine::Engine(const sim::Scenario& s, const ServeOptions& o)
    : s_(s), cfg_(*s.serve->sim), opt_(o), workload_(cfg_.workload), accept_rng_(0, 0) {
  if (opt_.seed) workload_.seed = *opt_.seed;
  accept_rng_ = des::Rng(workload_.seed, 5);
  block_size_ = cfg_.kv.block_size;
  simple_blocks_ = cfg_.kv.compression >= 1.0;
  auto eff = hw::make_efficiency_model(s.efficiency, s.profile);
  costmodel_ = std::make_shared<hw::CostModel>(s.gpu, s.cluster, eff, hw::CollectiveOptions{}, s.collective_algo);
  if (cfg_.spec.draft) spec_q_ = cfg_.spec.tokens + 1;

  auto add_pool = [&](const model::Layout& L, int replicas, Role role, const char* key) {
    const PoolMemory mem = plan_memory(L, key);
    if (reps_.empty()) first_memory_ = mem;
    costs_.push_back(std::make_unique<IterationCost>(s.model, L, s.precision, *costmodel_));
    IterationCost* cost = costs_.back().get();
    IterationCost* draft = nullptr;
    if (cfg_.spec.draft) {
      costs_.push_back(std::make_unique<IterationCost>(*cfg_.spec.draft, L, s.precision, *costmodel_));
      draft = costs_.back().get();
    }
    std::vector<int> ids;
    for (int i = 0; i < replicas; ++i) {
      Replica r;
      r.id = static_cast<int>(reps_.size());
      r.role = role;
      r.cost = cost;
      r.draft = draft;
      r.gpus = L.tp * L.pp;
      r.total_blocks = r.free_blocks = mem.blocks;
      r.kv_token_bytes = mem.kv_token;
      r.block_bytes = mem.kv_token * static_cast<double>(block_size_);
      r.host_free_blocks = cfg_.scheduler.preemption == Preemption::kSwap
                               ? static_cast<int64_t>(cfg_.kv.swap_bytes / std::max(1.0, r.block_bytes))
                               : 0;
      ids.push_back(r.id);
      reps_.push_back(std::move(r));
    }
    return ids;
  };
  const model::Layout& L = s.serve->layout;
  if (cfg_.disagg) {
    serve_pool_ = add_pool(cfg_.disagg->prefill.layout, cfg_.disagg->prefill.replicas, Role::kPrefill,
                           "serve.disaggregated.prefill");
    decode_pool_ = add_pool(cfg_.disagg->decode.layout, cfg_.disagg->decode.replicas, Role::kDecode,
                            "serve.disaggregated.decode");
  } else {
    serve_pool_ = add_pool(L, cfg_.replicas, Role::kServe, "serve.parallel");
  }
  int64_t gpus = 0;
  for (const auto& r : reps_) gpus += r.gpus;
  if (gpus > s.cluster.total_gpus()) {
    throw ConfigError(s.file, fmt::format("serve: the replicas need {} GPUs, but the hardware has {}; lower "
                                          "serve.parallel.replicas or add nodes",
                                          gpus, s.cluster.total_gpus()));
  }
  source_ = std::make_unique<RequestSource>(workload_);
}

PoolMemory Engine::plan_memory(const model::Layout& L, const char* key) const {
  const ReplicaMemory rm = replica_memory(s_.model, s_.gpu, s_.precision, cfg_, L);
  if (!rm.problem.empty()) throw ConfigError(s_.file, fmt::format("{} ({}): {}", rm.problem_key, key, rm.problem));
  PoolMemory m;
  m.weights = rm.weights;
  m.activations = rm.activations;
  m.runtime = rm.runtime;
  m.kv = rm.kv;
  m.kv_token = rm.kv_token;
  m.blocks = rm.blocks;
  return m;
}

int32_t Engine::new_seq() {
  if (!free_seqs_.empty()) {
    const int32_t id = free_seqs_.back();
    free_seqs_.pop_back();
    seqs_[static_cast<size_t>(id)] = Seq{};
    return id;
  }
  seqs_.emplace_back();
  slots_.emplace_back();
  return static_cast<int32_t>(seqs_.size() - 1);
}

int Engine::route(const std::vector<int>& pool, const Request& r) {
  if (pool.size() == 1) return pool[0];
  switch (cfg_.router) {
    case RouterKind::kRoundRobin: return pool[rr_++ % pool.size()];
    case RouterKind::kPrefixAffinity:
      if (r.prefix_key >= 0) {
        const uint64_t h = static_cast<uint64_t>(r.prefix_key) * 0x9e3779b97f4a7c15ULL;
        return pool[(h >> 33) % pool.size()];
      }
      [[fallthrough]];
    case RouterKind::kLeastOutstanding: {
      int best = pool[0];
      for (int id : pool) {
        if (reps_[static_cast<size_t>(id)].outstanding < reps_[static_cast<size_t>(best)].outstanding) best = id;
      }
      return best;
    }
    case RouterKind::kLeastKv: {
      int best = pool[0];
      double best_load = 2;
      for (int id : pool) {
        const auto& rp = reps_[static_cast<size_t>(id)];
        const double load = rp.used_frac() + 1e-6 * static_cast<double>(rp.waiting.size() + rp.arrived_kv.size());
        if (load < best_load) {
          best_load = load;
          best = id;
        }
      }
      return best;
    }
  }
  return pool[0];
}

void Engine::on_arrival(const Request& r) {
  const int32_t id = new_seq();
  Slot& slot = slots_[static_cast<size_t>(id)];
  slot.request = r;
  slot.record = RequestRecord{};
  slot.record.arrival_ns = r.arrival_ns;
  slot.record.input = r.input;
  slot.record.output = r.output;
  slot.record.samples = r.samples;
  window_.arrive(arrived_, counters());
  slot.id = arrived_++;
  if (opt_.keep_records) kept_.emplace_back();
  Seq& s = seqs_[static_cast<size_t>(id)];
  s.record = id;
  s.input = r.input;
  s.n = r.samples;
  s.target = r.output;
  s.prefill_total = r.input;
  const int rid = route(serve_pool_, r);
  Replica& rep = reps_[static_cast<size_t>(rid)];
  s.replica = rid;
  if (need_full(s) > rep.total_blocks) {
    throw ConfigError(s_.file, fmt::format("serve.workload: a request of {} input tokens and {} × {} output tokens needs "
                                           "{} KV tokens, more than a replica's cache of {}",
                                           r.input, r.samples, r.output, need_full(s) * block_size_,
                                           rep.total_blocks * block_size_));
  }
  ++in_system_;
  ++unscheduled_;
  ++rep.outstanding;
  ++rep.requests;
  rep.waiting.push_back(id);
  kick(rep);
}

int Engine::accepted_tokens() {
  // Drafted tokens are accepted one by one with probability α until the first rejection; the
  // verification step adds one token of its own: 1 + min(first rejection, k).
  int a = 0;
  while (a < cfg_.spec.tokens && accept_rng_.uniform() < cfg_.spec.acceptance) ++a;
  return a + 1;
}

void Engine::emit(Seq& s, int64_t tokens) {
  const TimeNs now = sim_.now();
  if (s.last_emit_ns == -1) {
    record_of(s).first_token_ns = now;
    prompted_ += s.input;
  } else if (s.last_emit_ns >= 0) {
    itl_.add(static_cast<double>(now - s.last_emit_ns));
  }
  s.last_emit_ns = now;
  emitted_ += tokens * s.n;
}

void Engine::finish(Replica& rep, int32_t id) {
  Seq& s = seqs_[static_cast<size_t>(id)];
  Slot& slot = slots_[static_cast<size_t>(s.record)];
  if (s.n == 1 && slot.request.session >= 0) publish(rep, s, s.input + s.generated - 1);
  slot.record.finish_ns = sim_.now();
  slot.record.replica = rep.id;
  ++completed_;
  --in_system_;
  --rep.outstanding;
  complete(slot);
  if (auto next = source_->next_turn(slot.request, sim_.now())) {
    int32_t turn;
    if (!free_turns_.empty()) {
      turn = free_turns_.back();
      free_turns_.pop_back();
      pending_turns_[static_cast<size_t>(turn)] = *next;
    } else {
      turn = static_cast<int32_t>(pending_turns_.size());
      pending_turns_.push_back(*next);
    }
    sim_.at(next->arrival_ns, kTurnArrival, kTurnArrival, static_cast<uint64_t>(turn));
  }
  if (cfg_.scheduler.kind == SchedulerKind::kStatic && rep.role == Role::kServe) {
    s.finished = true;  // padding until the whole batch is done
    return;
  }
  release(rep, s);
  free_seqs_.push_back(id);
  s.record = -2;
}

void Engine::finish_iteration(Replica& rep) {
  rep.busy = false;
  const TimeNs now = sim_.now();
  bool removed = false;
  for (const auto& [id, chunk] : rep.plan_prefill) {
    Seq& s = seqs_[static_cast<size_t>(id)];
    s.done += chunk;
    prefill_computed_ += chunk;
    if (s.done < s.prefill_total) continue;
    ++s.generated;
    emit(s, 1);
    if (!s.published) {
      s.published = true;
      const Request& r = request_of(s);
      if (r.prefix_tokens > 0) publish(rep, s, r.prefix_tokens);
    }
    if (s.generated >= s.target) {
      finish(rep, id);
      removed = true;
    } else if (rep.role == Role::kPrefill) {
      // Hand the KV over to a decode replica: every GPU of the replica sends its share.
      const double tokens = static_cast<double>(retained(s.input + s.n * (s.generated - 1)));
      const double t = cfg_.disagg->link_latency_s + tokens * rep.kv_token_bytes / cfg_.disagg->link_Bps;
      schedule_after(t, kTransferDone, kTransferDone, static_cast<uint64_t>(id));
      s.record = -1 - s.record;  // marked in transit (decoded back in transfer_done)
      removed = true;
    }
  }
  // Sequences that also emitted at the end of the previous iteration share one inter-token gap.
  const TimeNs prev_end = rep.last_end_ns;
  int64_t same_gap = 0;
  const bool plain = spec_q_ == 1;
  int64_t plain_tokens = 0;
  for (int32_t id : rep.plan_decode) {
    Seq& s = seqs_[static_cast<size_t>(id)];
    if (s.finished || s.record < 0) continue;
    if (plain && s.last_emit_ns == prev_end && s.generated + 1 < s.target) {
      // The common case, kept tight: one token that does not end the request, emitted right
      // after the previous one.
      ++same_gap;
      ++s.generated;
      s.last_emit_ns = now;
      plain_tokens += s.n;
      continue;
    }
    if (s.last_emit_ns == prev_end) {
      ++same_gap;
      s.last_emit_ns = -2;  // emit() below records no gap for it
    }
    int64_t acc = 1;
    if (spec_q_ > 1) {
      acc = accepted_tokens();
      ++spec_steps_;
      spec_emitted_ += acc;
    }
    acc = std::min<int64_t>(acc, s.target - s.generated);
    s.generated += static_cast<int32_t>(acc);
    emit(s, acc);
    if (s.generated >= s.target) {
      finish(rep, id);
      removed = true;
    } else if (spec_q_ > 1) {
      // Blocks reserved for rejected drafts go back.
      const int64_t need = need_decode(s, s.generated - 1);
      if (need < s.own_blocks) {
        rep.free_blocks += s.own_blocks - need;
        s.own_blocks = static_cast<int32_t>(need);
      }
    }
  }
  emitted_ += plain_tokens;
  if (same_gap > 0) itl_.add(static_cast<double>(now - prev_end), same_gap);
  rep.last_end_ns = now;
  if (cfg_.scheduler.kind == SchedulerKind::kStatic && rep.role == Role::kServe) {
    bool all = !rep.running.empty();
    for (int32_t id : rep.running) all = all && seqs_[static_cast<size_t>(id)].finished;
    if (all) {
      for (int32_t id : rep.running) {
        Seq& s = seqs_[static_cast<size_t>(id)];
        release(rep, s);
        s.record = -2;
        free_seqs_.push_back(id);
      }
      rep.running.clear();
    }
  } else if (removed) {
    auto& run = rep.running;
    run.erase(std::remove_if(run.begin(), run.end(),
                             [&](int32_t id) {
                               const Seq& s = seqs_[static_cast<size_t>(id)];
                               return s.record < 0;
                             }),
              run.end());
  }
  rep.mark_kv(now);
}

void Engine::transfer_done(int32_t id) {
  Seq& s = seqs_[static_cast<size_t>(id)];
  s.record = -1 - s.record;
  Replica& src = reps_[static_cast<size_t>(s.replica)];
  release(src, s);
  --src.outstanding;
  kick(src);
  const Request& r = request_of(s);
  const int rid = route(decode_pool_, r);
  Replica& dst = reps_[static_cast<size_t>(rid)];
  s.replica = rid;
  s.done = s.prefill_total;
  s.own_blocks = 0;
  ++dst.outstanding;
  ++dst.requests;
  dst.arrived_kv.push_back(id);
  kick(dst);
}

void Engine::sample() {
  TimePoint p;
  p.time_s = des::to_s(sim_.now());
  p.arrived = arrived_;
  p.finished = completed_;
  double kv = 0;
  for (const auto& r : reps_) {
    p.waiting += static_cast<int64_t>(r.waiting.size() + r.arrived_kv.size() + r.swapped.size());
    p.running += static_cast<int64_t>(r.running.size());
    kv += r.used_frac();
  }
  p.kv_used = kv / static_cast<double>(reps_.size());
  p.output_tokens_per_s = static_cast<double>(emitted_ - emitted_at_sample_) / cfg_.timeseries_interval_s;
  emitted_at_sample_ = emitted_;
  if (opt_.on_timepoint) opt_.on_timepoint(p);
  if (opt_.timeseries) series_.push_back(p);
}

Counters Engine::counters() const {
  Counters c;
  c.time_ns = sim_.now();
  c.in_system = in_system_;
  c.emitted = emitted_;
  c.completed = completed_;
  c.good = good_;
  c.prompted = prompted_;
  c.area_system = area_system_;
  c.prefill_gpu_s = prefill_gpu_s_;
  c.decode_gpu_s = decode_gpu_s_;
  return c;
}

void Engine::poll(int64_t events) {
  if (opt_.cancel && (events & 4095) == 1 && opt_.cancel->load(std::memory_order_relaxed)) {
    throw Cancelled(fmt::format("serve: cancelled at {:.6g} s of simulated time, {} of {} requests done",
                                des::to_s(sim_.now()), completed_, progress_total_));
  }
  if (opt_.on_progress && completed_ >= next_progress_) {
    opt_.on_progress(completed_, progress_total_);
    next_progress_ = completed_ + progress_step_;
  }
}

void Engine::schedule_after(double delay_s, int32_t priority, EventKind kind, uint64_t payload) {
  // An iteration or a KV transfer that would carry the clock past its range is a configuration
  // that cannot finish (a model far too large for its GPUs, a link of a few bytes per second),
  // not a broken invariant.
  const bool too_long = !(delay_s < 1e9);  // also NaN; keeps to_ns in its range
  const TimeNs delay = too_long ? 0 : des::to_ns(delay_s);
  if (too_long || sim_.now() > kMaxSimulatedNs - delay) {
    throw ConfigError(s_.file, fmt::format("serve: expected a run within 2·10^9 s of simulated time, found a step of "
                                           "{:.3g} s at {:.3g} s; the replicas cannot serve this workload (check the "
                                           "model, the GPUs and serve.disaggregated.link)",
                                           delay_s, des::to_s(sim_.now())));
  }
  sim_.after(delay, priority, kind, payload);
}

ServeResult Engine::run() {
  next_open_ = source_->next_arrival();
  if (next_open_) sim_.at(next_open_->arrival_ns, kArrival, kArrival);
  const TimeNs interval = des::to_ns(cfg_.timeseries_interval_s);
  if (opt_.timeseries || opt_.on_timepoint) sim_.at(interval, kSample, kSample);
  const TimeNs first_arrival = next_open_ ? next_open_->arrival_ns : 0;
  last_event_ns_ = first_arrival;
  // Progress in steps of about 1% of the workload's requests; the final call comes after the run.
  progress_total_ = workload_.requests;
  progress_step_ = std::max<int64_t>(1, progress_total_ / 100);
  next_progress_ = 0;
  int64_t events = 0;
  sim_.run([&](const des::Event& e) {
    poll(++events);
    const TimeNs now = e.time;
    if (now > last_event_ns_) {
      const double dt = static_cast<double>(now - last_event_ns_);
      area_system_ += static_cast<double>(in_system_) * dt;
      area_waiting_ += static_cast<double>(unscheduled_) * dt;
      last_event_ns_ = now;
    }
    switch (e.kind) {
      case kIterationDone: {
        Replica& rep = reps_[e.payload];
        finish_iteration(rep);
        kick(rep);
        break;
      }
      case kTransferDone: transfer_done(static_cast<int32_t>(e.payload)); break;
      case kArrival: {
        const Request r = *next_open_;
        next_open_ = source_->next_arrival();
        if (next_open_) sim_.at(std::max(next_open_->arrival_ns, now), kArrival, kArrival);
        on_arrival(r);
        break;
      }
      case kTurnArrival: {
        const Request r = pending_turns_[e.payload];
        free_turns_.push_back(static_cast<int32_t>(e.payload));
        on_arrival(r);
        break;
      }
      case kSample: {
        sample();
        const bool more = in_system_ > 0 || next_open_.has_value() || pending_turns_.size() > free_turns_.size();
        if (more) sim_.after(interval, kSample, kSample);
        break;
      }
      default: FATHOM_CHECK(false);
    }
  });

  ServeResult r = result(first_arrival);
  if (opt_.on_progress) opt_.on_progress(completed_, completed_);
  return r;
}

}  // namespace fathom::serve::detail
