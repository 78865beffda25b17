#include "sim/serve/simulator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.h"
#include "sim/des/engine.h"
#include "sim/model/params.h"
#include "sim/serve/cost.h"

namespace fathom::serve {

namespace {

using des::TimeNs;

enum EventKind : uint32_t { kIterationDone = 0, kTransferDone = 1, kArrival = 2, kTurnArrival = 3, kSample = 4 };
enum class Role { kServe, kPrefill, kDecode };

int64_t ceil_div(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// Log-bucketed histogram for inter-token latencies, of which a long run has hundreds of
// millions: buckets are the exponent and top 6 mantissa bits of the value in nanoseconds
// (64 buckets per octave, at most 1.1% wide), so adding a value needs no logarithm.
class LogHistogram {
 public:
  LogHistogram() : counts_(64 * 64, 0) {}
  void add(int64_t ns, int64_t count = 1) {
    const double x = static_cast<double>(std::max<int64_t>(ns, 1));
    counts_[bucket(x)] += count;
    n_ += count;
    sum_ += x * static_cast<double>(count);
    max_ = std::max(max_, x);
  }
  Percentiles summary() const {
    Percentiles p;
    p.count = n_;
    if (n_ == 0) return p;
    p.mean = sum_ / static_cast<double>(n_) * 1e-9;
    p.max = max_ * 1e-9;
    auto q = [&](double f) {
      const auto target = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(f * static_cast<double>(n_))));
      int64_t c = 0;
      for (size_t i = 0; i < counts_.size(); ++i) {
        c += counts_[i];
        if (c >= target) return std::min(max_, middle(i)) * 1e-9;
      }
      return max_ * 1e-9;
    };
    p.p50 = q(0.50);
    p.p90 = q(0.90);
    p.p95 = q(0.95);
    p.p99 = q(0.99);
    return p;
  }

 private:
  static size_t bucket(double x) {
    uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    const uint64_t exponent = (bits >> 52) - 1023;  // x ≥ 1: 0..63
    return static_cast<size_t>(std::min<uint64_t>(exponent, 63) * 64 + ((bits >> 46) & 63));
  }
  static double middle(size_t i) {
    return std::ldexp(1.0 + (static_cast<double>(i % 64) + 0.5) / 64.0, static_cast<int>(i / 64));
  }
  std::vector<int64_t> counts_;
  int64_t n_ = 0;
  double sum_ = 0, max_ = 0;
};

Percentiles summarize(std::vector<double>& v) {
  Percentiles p;
  p.count = static_cast<int64_t>(v.size());
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  p.mean = sum / static_cast<double>(v.size());
  auto q = [&](double f) {
    const auto k = static_cast<size_t>(std::ceil(f * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
  };
  p.p50 = q(0.5);
  p.p90 = q(0.9);
  p.p95 = q(0.95);
  p.p99 = q(0.99);
  p.max = v.back();
  return p;
}

struct alignas(64) Seq {  // one cache line: the per-iteration loops touch every running sequence
  int32_t record = -1;     // index into records / requests
  int32_t input = 0;       // prompt tokens
  int32_t n = 1;           // samples (rows decoding together)
  int32_t target = 1;      // output tokens per sample
  int32_t prefill_total = 0;  // tokens the (re)prefill computes: input + n·gen_base
  int32_t done = 0;        // of prefill_total in the KV cache (cached or computed)
  int32_t generated = 0;   // tokens emitted per sample
  int32_t gen_base = 0;    // generated when the last recompute began
  int32_t shared = 0;      // leading prompt tokens held by the prefix entry
  int32_t entry = -1;
  int32_t replica = -1;
  int32_t own_blocks = 0;
  int32_t swapped_blocks = 0;
  bool published = false;  // prefix published after the first prefill
  bool finished = false;   // static batching keeps finished sequences as padding
  int64_t last_emit_ns = -1;  // −1: no token yet
};

static_assert(sizeof(Seq) == 64);

struct Entry {
  int64_t key = 0;
  int32_t tokens = 0;
  int64_t blocks = 0;
  int32_t refs = 0;
  uint64_t tick = 0;
  bool anonymous = false;
};

struct Replica {
  int id = 0;
  Role role = Role::kServe;
  IterationCost* cost = nullptr;
  IterationCost* draft = nullptr;
  int gpus = 1;
  int64_t total_blocks = 0, free_blocks = 0, host_free_blocks = 0;
  double block_bytes = 0;  // per GPU
  double kv_token_bytes = 0;  // per GPU
  std::deque<int32_t> waiting, swapped, arrived_kv;
  std::vector<int32_t> running;
  bool busy = false;
  std::vector<std::pair<int32_t, int32_t>> plan_prefill;  // (seq, tokens)
  std::vector<int32_t> plan_decode;
  std::vector<size_t> deferred;  // running positions of prompts mid-prefill (planning scratch)
  int64_t plan_rows = 0;   // decoding rows (sequences × samples) in the plan
  int64_t plan_kv = 0;     // Σ of their KV lengths after this step
  double plan_swap_bytes = 0;
  TimeNs last_end_ns = -1;  // end of the previous iteration
  // Prefix cache.
  std::unordered_map<int64_t, int32_t> index;
  std::vector<Entry> entries;
  std::vector<int32_t> free_entries;
  std::set<std::pair<uint64_t, int32_t>> lru;
  uint64_t tick = 0;
  // Statistics.
  int64_t iterations = 0, outstanding = 0, requests = 0;
  double busy_s = 0, flops = 0, bytes = 0;
  double kv_area = 0, kv_max = 0, kv_last_frac = 0;
  TimeNs kv_last_ns = 0;

  double used_frac() const {
    return total_blocks > 0 ? static_cast<double>(total_blocks - free_blocks) / static_cast<double>(total_blocks) : 0;
  }
  void mark_kv(TimeNs now) {
    kv_area += kv_last_frac * static_cast<double>(now - kv_last_ns);
    kv_last_ns = now;
    kv_last_frac = used_frac();
    kv_max = std::max(kv_max, kv_last_frac);
  }
};

struct PoolMemory {
  double weights = 0, activations = 0, runtime = 0, kv = 0, kv_token = 0;
  int64_t blocks = 0;
};

class Engine {
 public:
  Engine(const sim::Scenario& s, const ServeOptions& o);
  ServeResult run();

 private:
  PoolMemory plan_memory(const model::Layout& L, const char* key) const;
  int32_t new_seq();
  void on_arrival(const Request& r);
  int route(const std::vector<int>& pool, const Request& r);
  void kick(Replica& rep);
  void plan(Replica& rep);
  void plan_running(Replica& rep, bool decodes, bool prefills, int64_t& budget, bool& preempted);
  void admit_waiting(Replica& rep, int64_t& budget, bool whole_prompts);
  void admit_kv(Replica& rep);
  void swap_in(Replica& rep);
  bool ensure(Replica& rep, Seq& s, int64_t need);
  bool ensure_or_preempt(Replica& rep, size_t i, int64_t need, bool& preempted);
  void preempt(Replica& rep, int32_t id);
  int64_t need_prefill(const Seq& s, int64_t done) const;
  int64_t need_decode(const Seq& s, int64_t gen_kv) const;
  int64_t need_full(const Seq& s) const;
  int64_t retained(int64_t tokens) const {
    return cfg_.kv.compression >= 1.0 ? tokens : static_cast<int64_t>(std::ceil(cfg_.kv.compression * static_cast<double>(tokens)));
  }
  void lookup(Replica& rep, Seq& s);
  void publish(Replica& rep, Seq& s, int64_t tokens);
  void release(Replica& rep, Seq& s);
  bool evict_one(Replica& rep);
  void drop_entry(Replica& rep, int32_t e);
  void start_iteration(Replica& rep);
  void finish_iteration(Replica& rep);
  void emit(Seq& s, int64_t tokens);
  int64_t decode_kv(const Seq& s) const {
    return static_cast<int64_t>(s.n) * retained(s.input + (s.finished ? s.target : s.generated - 1 + spec_q_));
  }
  void add_decode(Replica& rep, int32_t id, const Seq& s) {
    rep.plan_decode.push_back(id);
    rep.plan_rows += s.n;
    rep.plan_kv += decode_kv(s);
  }
  // Takes a sequence out of the plan being built (it is about to be preempted).
  void unplan(Replica& rep, int32_t id) {
    auto& d = rep.plan_decode;
    if (auto it = std::find(d.begin(), d.end(), id); it != d.end()) {
      const Seq& s = seqs_[static_cast<size_t>(id)];
      rep.plan_rows -= s.n;
      rep.plan_kv -= decode_kv(s);
      d.erase(it);
    }
    auto& p = rep.plan_prefill;
    p.erase(std::remove_if(p.begin(), p.end(), [&](const auto& c) { return c.first == id; }), p.end());
  }
  void finish(Replica& rep, int32_t id);
  void transfer_done(int32_t id);
  void sample();
  int accepted_tokens();

  const sim::Scenario& s_;
  const ServeConfig& cfg_;
  ServeOptions opt_;
  WorkloadSpec workload_;
  std::shared_ptr<hw::CostModel> costmodel_;
  std::vector<std::unique_ptr<IterationCost>> costs_;
  std::vector<Replica> reps_;
  std::vector<int> serve_pool_, decode_pool_;
  des::Simulator sim_;
  std::unique_ptr<RequestSource> source_;
  des::Rng accept_rng_;
  std::optional<Request> next_open_;
  std::vector<Request> requests_;  // by record index (kept for session turns; compact)
  std::vector<RequestRecord> records_;
  std::vector<Seq> seqs_;
  std::vector<int32_t> free_seqs_;
  std::vector<Request> pending_turns_;
  std::vector<int32_t> free_turns_;
  int64_t block_size_ = 16;
  bool simple_blocks_ = true;  // no compression: one sequence's blocks are ceil(tokens / block size)
  int spec_q_ = 1;
  size_t rr_ = 0;

  // Running totals.
  int64_t in_system_ = 0, unscheduled_ = 0, completed_ = 0, emitted_ = 0, emitted_at_sample_ = 0;
  int64_t preemptions_ = 0, prefill_computed_ = 0, spec_steps_ = 0, spec_emitted_ = 0;
  double area_system_ = 0, area_waiting_ = 0;
  TimeNs last_event_ns_ = 0;
  LogHistogram itl_;
  std::vector<TimePoint> series_;
  bool sampling_ = false;
  PoolMemory first_memory_;
};

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
  const auto rec_id = static_cast<int32_t>(records_.size());
  RequestRecord rec;
  rec.arrival_ns = r.arrival_ns;
  rec.input = r.input;
  rec.output = r.output;
  rec.samples = r.samples;
  records_.push_back(rec);
  requests_.push_back(r);
  const int32_t id = new_seq();
  Seq& s = seqs_[static_cast<size_t>(id)];
  s.record = rec_id;
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

// Blocks a sequence holds with `done` tokens of its (re)prefill in the cache.
int64_t Engine::need_prefill(const Seq& s, int64_t done) const {
  const int64_t prompt = std::min<int64_t>(done, s.input);
  const int64_t gen = ceil_div(std::max<int64_t>(0, done - s.input), s.n);
  if (s.n == 1) return ceil_div(retained(prompt + gen) - s.shared, block_size_);
  return ceil_div(retained(prompt) - s.shared, block_size_) + s.n * ceil_div(retained(gen), block_size_);
}

// Blocks with the prompt and `gen_kv` generated tokens per sample in the cache.
int64_t Engine::need_decode(const Seq& s, int64_t gen_kv) const {
  if (s.n == 1) return ceil_div(retained(s.input + gen_kv) - s.shared, block_size_);
  return ceil_div(retained(s.input) - s.shared, block_size_) + s.n * ceil_div(retained(gen_kv), block_size_);
}

int64_t Engine::need_full(const Seq& s) const { return need_decode(s, s.target); }

bool Engine::evict_one(Replica& rep) {
  if (rep.lru.empty()) return false;
  const int32_t e = rep.lru.begin()->second;
  rep.lru.erase(rep.lru.begin());
  drop_entry(rep, e);
  return true;
}

void Engine::drop_entry(Replica& rep, int32_t e) {
  Entry& E = rep.entries[static_cast<size_t>(e)];
  rep.free_blocks += E.blocks;
  rep.index.erase(E.key);
  E = Entry{};
  rep.free_entries.push_back(e);
}

bool Engine::ensure(Replica& rep, Seq& s, int64_t need) {
  const int64_t delta = need - s.own_blocks;
  if (delta <= 0) return true;
  while (rep.free_blocks < delta && evict_one(rep)) {
  }
  if (rep.free_blocks < delta) return false;
  rep.free_blocks -= delta;
  s.own_blocks = static_cast<int32_t>(need);
  return true;
}

void Engine::release(Replica& rep, Seq& s) {
  rep.free_blocks += s.own_blocks;
  s.own_blocks = 0;
  if (s.entry >= 0) {
    Entry& E = rep.entries[static_cast<size_t>(s.entry)];
    if (--E.refs == 0) {
      if (cfg_.kv.prefix_caching && !E.anonymous) {
        E.tick = ++rep.tick;
        rep.lru.emplace(E.tick, s.entry);
      } else {
        drop_entry(rep, s.entry);
      }
    }
    s.entry = -1;
  }
  s.shared = 0;
}

void Engine::lookup(Replica& rep, Seq& s) {
  if (!cfg_.kv.prefix_caching || s.done > 0 || s.entry >= 0) return;
  const Request& r = requests_[static_cast<size_t>(s.record)];
  if (r.prefix_key < 0) return;
  auto it = rep.index.find(r.prefix_key);
  if (it == rep.index.end()) return;
  Entry& E = rep.entries[static_cast<size_t>(it->second)];
  // At least one prompt token is always computed (it produces the first output token).
  int64_t hit = std::min<int64_t>({E.tokens, r.prefix_tokens, static_cast<int64_t>(s.input) - 1});
  hit = hit / block_size_ * block_size_;
  if (hit <= 0) return;
  if (E.refs++ == 0) rep.lru.erase({E.tick, it->second});
  s.entry = it->second;
  s.shared = static_cast<int32_t>(hit);
  s.done = static_cast<int32_t>(hit);
}

void Engine::publish(Replica& rep, Seq& s, int64_t tokens) {
  const Request& r = requests_[static_cast<size_t>(s.record)];
  if (!cfg_.kv.prefix_caching || r.prefix_key < 0) return;
  if (s.n > 1) tokens = std::min<int64_t>(tokens, s.input);
  const int64_t aligned = tokens / block_size_ * block_size_;
  if (aligned <= s.shared) return;
  auto it = rep.index.find(r.prefix_key);
  if (it != rep.index.end() && it->second != s.entry) {
    Entry& E = rep.entries[static_cast<size_t>(it->second)];
    if (E.tokens >= aligned || E.refs > 0) return;  // a longer or busy copy stays
    rep.lru.erase({E.tick, it->second});
    drop_entry(rep, it->second);
    it = rep.index.end();
  }
  if (it == rep.index.end()) {
    int32_t e;
    if (!rep.free_entries.empty()) {
      e = rep.free_entries.back();
      rep.free_entries.pop_back();
    } else {
      e = static_cast<int32_t>(rep.entries.size());
      rep.entries.emplace_back();
    }
    Entry& E = rep.entries[static_cast<size_t>(e)];
    E = Entry{};
    E.key = r.prefix_key;
    E.tokens = static_cast<int32_t>(aligned);
    E.blocks = aligned / block_size_;
    E.refs = 1;
    rep.index.emplace(E.key, e);
    s.own_blocks -= static_cast<int32_t>(E.blocks);
    s.entry = e;
    s.shared = static_cast<int32_t>(aligned);
    FATHOM_CHECK(s.own_blocks >= 0);
    return;
  }
  Entry& E = rep.entries[static_cast<size_t>(s.entry)];
  if (aligned <= E.tokens) return;
  // Extend the entry with this sequence's blocks; its older copy past our share is replaced.
  const int64_t moved = (aligned - s.shared) / block_size_;
  rep.free_blocks += E.blocks - s.shared / block_size_;
  s.own_blocks -= static_cast<int32_t>(moved);
  E.tokens = static_cast<int32_t>(aligned);
  E.blocks = aligned / block_size_;
  s.shared = static_cast<int32_t>(aligned);
  FATHOM_CHECK(s.own_blocks >= 0);
}

void Engine::preempt(Replica& rep, int32_t id) {
  Seq& s = seqs_[static_cast<size_t>(id)];
  ++preemptions_;
  ++records_[static_cast<size_t>(s.record)].preemptions;
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
  // reads or changes it (preemption takes planned sequences back out).
  int64_t rows = 0, kvsum = 0;
  auto flush = [&] {
    rep.plan_rows += rows;
    rep.plan_kv += kvsum;
    rows = kvsum = 0;
  };
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
      if (!plan_prefill(i)) break;
    } else {
      if (!decodes) continue;
      const int64_t q = static_cast<int64_t>(s.n) * spec_q_;
      if (!unlimited && budget < q) continue;
      if (simple_blocks_ && s.n == 1) {
        // Fast path (one sample, no compression): the step's KV length decides both the blocks
        // needed and the attention work.
        const int64_t kv = static_cast<int64_t>(s.input) + s.generated - 1 + spec_q_;
        if (kv - s.shared > static_cast<int64_t>(s.own_blocks) * block_size_) {
          flush();
          if (!ensure_or_preempt(rep, i, need_decode(s, s.generated - 1 + spec_q_), preempted)) break;
        }
        rep.plan_decode.push_back(id);
        rows += 1;
        kvsum += kv;
      } else {
        flush();
        if (!ensure_or_preempt(rep, i, need_decode(s, s.generated - 1 + spec_q_), preempted)) break;
        add_decode(rep, id, s);
      }
      if (!unlimited) budget -= q;
    }
  }
  flush();
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
    RequestRecord& rec = records_[static_cast<size_t>(s.record)];
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
  rep.flops += w.flops;
  rep.bytes += w.bytes;
  ++rep.iterations;
  rep.mark_kv(sim_.now());
  sim_.after(des::to_ns(t), 0, kIterationDone, static_cast<uint64_t>(rep.id));
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
    records_[static_cast<size_t>(s.record)].first_token_ns = now;
  } else if (s.last_emit_ns >= 0) {
    itl_.add(now - s.last_emit_ns);
  }
  s.last_emit_ns = now;
  emitted_ += tokens * s.n;
}

void Engine::finish(Replica& rep, int32_t id) {
  Seq& s = seqs_[static_cast<size_t>(id)];
  if (s.n == 1 && requests_[static_cast<size_t>(s.record)].session >= 0) publish(rep, s, s.input + s.generated - 1);
  RequestRecord& rec = records_[static_cast<size_t>(s.record)];
  rec.finish_ns = sim_.now();
  rec.replica = rep.id;
  ++completed_;
  --in_system_;
  --rep.outstanding;
  if (auto next = source_->next_turn(requests_[static_cast<size_t>(s.record)], sim_.now())) {
    int32_t slot;
    if (!free_turns_.empty()) {
      slot = free_turns_.back();
      free_turns_.pop_back();
      pending_turns_[static_cast<size_t>(slot)] = *next;
    } else {
      slot = static_cast<int32_t>(pending_turns_.size());
      pending_turns_.push_back(*next);
    }
    sim_.at(next->arrival_ns, kTurnArrival, kTurnArrival, static_cast<uint64_t>(slot));
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
      const Request& r = requests_[static_cast<size_t>(s.record)];
      if (r.prefix_tokens > 0) publish(rep, s, r.prefix_tokens);
    }
    if (s.generated >= s.target) {
      finish(rep, id);
      removed = true;
    } else if (rep.role == Role::kPrefill) {
      // Hand the KV over to a decode replica: every GPU of the replica sends its share.
      const double tokens = static_cast<double>(retained(s.input + s.n * (s.generated - 1)));
      const double t = cfg_.disagg->link_latency_s + tokens * rep.kv_token_bytes / cfg_.disagg->link_Bps;
      sim_.after(des::to_ns(t), kTransferDone, kTransferDone, static_cast<uint64_t>(id));
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
  if (same_gap > 0) itl_.add(now - prev_end, same_gap);
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
  const Request& r = requests_[static_cast<size_t>(s.record)];
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
  p.arrived = static_cast<int64_t>(records_.size());
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
  series_.push_back(p);
}

ServeResult Engine::run() {
  next_open_ = source_->next_arrival();
  if (next_open_) sim_.at(next_open_->arrival_ns, kArrival, kArrival);
  sampling_ = opt_.timeseries;
  const TimeNs interval = des::to_ns(cfg_.timeseries_interval_s);
  if (sampling_) sim_.at(interval, kSample, kSample);
  const TimeNs first_arrival = next_open_ ? next_open_->arrival_ns : 0;
  last_event_ns_ = first_arrival;
  sim_.run([&](const des::Event& e) {
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

  ServeResult r;
  r.engine = cfg_.engine;
  r.scheduler = to_string(cfg_.scheduler.kind);
  r.router = to_string(cfg_.router);
  r.arrival = workload_.arrival.describe();
  r.input_dist = workload_.trace ? "trace" : workload_.input.describe();
  r.output_dist = workload_.trace ? "trace" : workload_.output.describe();
  r.seed = workload_.seed;
  r.replicas = static_cast<int>(reps_.size());
  for (const auto& rp : reps_) r.gpus += rp.gpus;
  r.weights_bytes = first_memory_.weights;
  r.activation_bytes = first_memory_.activations;
  r.runtime_bytes = first_memory_.runtime;
  r.kv_bytes = first_memory_.kv;
  r.kv_bytes_per_token = first_memory_.kv_token;
  r.kv_tokens = first_memory_.blocks * block_size_;
  r.gpu_memory_bytes = s_.gpu.memory_bytes;
  r.requests = static_cast<int64_t>(records_.size());
  r.completed = completed_;
  r.preemptions = preemptions_;
  r.prefill_tokens_computed = prefill_computed_;
  r.events = static_cast<int64_t>(sim_.events());
  TimeNs last_finish = first_arrival;
  std::vector<double> ttft, tpot, e2e, queue;
  ttft.reserve(records_.size());
  e2e.reserve(records_.size());
  queue.reserve(records_.size());
  tpot.reserve(records_.size());
  int64_t good = 0;
  if (completed_ != static_cast<int64_t>(records_.size())) {
    throw ConfigError(s_.file, fmt::format("serve: the simulation stalled with {} of {} requests unfinished: the KV "
                                           "cache cannot hold the work admitted; give the replicas more memory or "
                                           "lower serve.scheduler.max_seqs",
                                           static_cast<int64_t>(records_.size()) - completed_, records_.size()));
  }
  for (const auto& rec : records_) {
    r.input_tokens += rec.input;
    r.output_tokens += static_cast<int64_t>(rec.output) * rec.samples;
    r.cached_tokens += rec.cached;
    last_finish = std::max(last_finish, rec.finish_ns);
    const double t1 = des::to_s(rec.first_token_ns - rec.arrival_ns);
    const double te = des::to_s(rec.finish_ns - rec.arrival_ns);
    ttft.push_back(t1);
    e2e.push_back(te);
    queue.push_back(des::to_s(rec.scheduled_ns - rec.arrival_ns));
    double tp = 0;
    if (rec.output > 1) {
      tp = des::to_s(rec.finish_ns - rec.first_token_ns) / (rec.output - 1);
      tpot.push_back(tp);
    }
    const auto& slo = cfg_.slo;
    if ((slo.ttft_s <= 0 || t1 <= slo.ttft_s) && (slo.tpot_s <= 0 || tp <= slo.tpot_s) && (slo.e2e_s <= 0 || te <= slo.e2e_s)) ++good;
  }
  // Every token that entered left: each request finished with all its output tokens.
  FATHOM_CHECK(emitted_ == r.output_tokens);
  r.makespan_s = des::to_s(last_finish - first_arrival);
  const double T = std::max(r.makespan_s, 1e-12);
  r.request_throughput = static_cast<double>(r.completed) / T;
  r.output_throughput = static_cast<double>(r.output_tokens) / T;
  r.total_throughput = static_cast<double>(r.input_tokens + r.output_tokens) / T;
  r.goodput = static_cast<double>(good) / T;
  r.slo_attainment = r.requests > 0 ? static_cast<double>(good) / static_cast<double>(r.requests) : 0;
  r.ttft = summarize(ttft);
  r.tpot = summarize(tpot);
  r.e2e = summarize(e2e);
  r.queueing = summarize(queue);
  r.itl = itl_.summary();
  const double window_ns = static_cast<double>(last_finish - first_arrival);
  r.mean_in_system = window_ns > 0 ? area_system_ / window_ns : 0;
  r.mean_waiting = window_ns > 0 ? area_waiting_ / window_ns : 0;
  r.arrival_rate = r.request_throughput;
  double peak_flops = s_.gpu.peak(s_.precision.gemm_dtype());
  if (peak_flops <= 0) peak_flops = s_.gpu.peak(DType::kBf16);
  double busy = 0, flops = 0, bytes = 0;
  for (auto& rp : reps_) {
    rp.mark_kv(last_finish);
    r.iterations += rp.iterations;
    busy += rp.busy_s;
    flops += rp.flops * rp.gpus;
    bytes += rp.bytes * rp.gpus;
    ReplicaStats st;
    st.role = rp.role == Role::kServe ? "serve" : rp.role == Role::kPrefill ? "prefill" : "decode";
    st.iterations = rp.iterations;
    st.busy_s = rp.busy_s;
    st.kv_blocks = rp.total_blocks;
    st.block_size = block_size_;
    st.kv_used_mean = window_ns > 0 ? rp.kv_area / static_cast<double>(last_finish) : 0;
    st.kv_used_max = rp.kv_max;
    st.requests = rp.requests;
    r.replica_stats.push_back(st);
  }
  r.gpu_busy = busy / (T * static_cast<double>(reps_.size()));
  r.mfu = flops / (T * r.gpus * peak_flops);
  r.mbu = bytes / (T * r.gpus * s_.gpu.memory_bw_Bps);
  if (r.output_tokens > 0) {
    r.usd_per_million_output_tokens = s_.usd_per_gpu_hour * r.gpus * T / 3600.0 / static_cast<double>(r.output_tokens) * 1e6;
  }
  if (spec_steps_ > 0) r.spec_tokens_per_step = static_cast<double>(spec_emitted_) / static_cast<double>(spec_steps_);
  r.timeseries = std::move(series_);
  if (opt_.keep_records) r.records = std::move(records_);
  if (cfg_.scheduler.kind == SchedulerKind::kVllm && cfg_.engine != "vllm-v0") {
    r.notes.push_back("scheduler vllm: prefills first, whole prompts (vLLM V0 without chunked prefill)");
  }
  if (s_.model.ssm) r.notes.push_back("hybrid model: recurrent SSM state per sequence is not counted in KV capacity");
  if (s_.serve->layout.pp > 1) {
    r.notes.push_back("pipeline parallelism: one batch walks all stages per iteration (no overlap of micro-batches across stages)");
  }
  return r;
}

}  // namespace

ServeResult simulate(const sim::Scenario& s, const ServeOptions& options) {
  if (!s.serve || !s.serve->sim) {
    throw InputError(s.file, "expected a 'serve' section with a 'workload' for fathom serve, found none");
  }
  Engine e(s, options);
  return e.run();
}

void write_requests_csv(std::ostream& os, const ServeResult& r) {
  os << "id,arrival_s,scheduled_s,first_token_s,finish_s,input_tokens,output_tokens,samples,cached_tokens,"
        "preemptions,replica,ttft_s,tpot_s,e2e_s,queueing_s\n";
  for (size_t i = 0; i < r.records.size(); ++i) {
    const auto& q = r.records[i];
    const double tpot = q.output > 1 ? des::to_s(q.finish_ns - q.first_token_ns) / (q.output - 1) : 0.0;
    os << fmt::format("{},{:.9f},{:.9f},{:.9f},{:.9f},{},{},{},{},{},{},{:.9f},{:.9f},{:.9f},{:.9f}\n", i,
                      des::to_s(q.arrival_ns), des::to_s(q.scheduled_ns), des::to_s(q.first_token_ns),
                      des::to_s(q.finish_ns), q.input, q.output, q.samples, q.cached, q.preemptions, q.replica,
                      des::to_s(q.first_token_ns - q.arrival_ns), tpot, des::to_s(q.finish_ns - q.arrival_ns),
                      des::to_s(q.scheduled_ns - q.arrival_ns));
  }
}

void write_timeseries_csv(std::ostream& os, const ServeResult& r) {
  os << "time_s,arrived,finished,waiting,running,kv_used,output_tokens_per_s\n";
  for (const auto& p : r.timeseries) {
    os << fmt::format("{:.6f},{},{},{},{},{:.6f},{:.6g}\n", p.time_s, p.arrived, p.finished, p.waiting, p.running,
                      p.kv_used, p.output_tokens_per_s);
  }
}

}  // namespace fathom::serve
