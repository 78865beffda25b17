#pragma once
// The serving simulator's engine, internal to sim/serve: replicas with a paged KV cache, a
// prefix cache and a scheduler, behind a router, on the discrete-event engine. simulator.h is
// the public face; the metrics are defined in docs/metrics.md and the models in
// docs/serving.md.
//
// Memory is proportional to the requests in the system, not to the run: a request holds a
// sequence slot (Seq, with its Slot of request and record) from arrival to completion, then the
// slot is reused; latencies go into streaming histograms (histogram.h). Files:
//   engine.cpp     arrivals, routing, iteration ends, completions, the event loop
//   scheduler.cpp  planning an iteration (the schedulers, admission, preemption) and its cost
//   kv_cache.cpp   the prefix cache (lookup, publish, eviction) and releasing blocks
//   result.cpp     per-request statistics and the ServeResult
//   window.cpp     the measurement window, its intervals and the saturation verdict
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/des/engine.h"
#include "sim/scenario.h"
#include "sim/serve/cost.h"
#include "sim/serve/histogram.h"
#include "sim/serve/simulator.h"
#include "sim/serve/window.h"

namespace fathom::serve::detail {

using des::TimeNs;

enum EventKind : uint32_t { kIterationDone = 0, kTransferDone = 1, kArrival = 2, kTurnArrival = 3, kSample = 4 };
enum class Role { kServe, kPrefill, kDecode };

inline int64_t ceil_div(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// Simulated time stays below 2·10^9 s (the nanosecond clock overflows at 9.2·10^9 s); a run that
// would pass it is a configuration that cannot finish (docs/scenario.md).
inline constexpr TimeNs kMaxSimulatedNs = 2'000'000'000'000'000'000;

struct alignas(64) Seq {  // one cache line: the per-iteration loops touch every running sequence
  // Its own slot (index into seqs_ and slots_) while in the system; −1 − slot while its KV is in
  // transit to a decode replica; −2 when the slot is free.
  int32_t record = -1;
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

// What a request in the system carries besides its Seq: the request (for sessions and prefix
// keys) and its record, which leaves the engine at completion.
struct Slot {
  Request request;
  RequestRecord record;
  int64_t id = 0;  // arrival index
};

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
  // engine.cpp
  PoolMemory plan_memory(const model::Layout& L, const char* key) const;
  int32_t new_seq();
  void on_arrival(const Request& r);
  int route(const std::vector<int>& pool, const Request& r);
  void finish_iteration(Replica& rep);
  void emit(Seq& s, int64_t tokens);
  void finish(Replica& rep, int32_t id);
  void transfer_done(int32_t id);
  void sample();
  int accepted_tokens();
  void schedule_after(double delay_s, int32_t priority, EventKind kind, uint64_t payload);
  Counters counters() const;
  void poll(int64_t events);

  // scheduler.cpp
  void kick(Replica& rep);
  void plan(Replica& rep);
  void plan_running(Replica& rep, bool decodes, bool prefills, int64_t& budget, bool& preempted);
  void admit_waiting(Replica& rep, int64_t& budget, bool whole_prompts);
  void admit_kv(Replica& rep);
  void swap_in(Replica& rep);
  bool ensure_or_preempt(Replica& rep, size_t i, int64_t need, bool& preempted);
  void preempt(Replica& rep, int32_t id);
  void start_iteration(Replica& rep);

  // kv_cache.cpp
  void lookup(Replica& rep, Seq& s);
  void publish(Replica& rep, Seq& s, int64_t tokens);
  void release(Replica& rep, Seq& s);
  bool evict_one(Replica& rep);
  void drop_entry(Replica& rep, int32_t e);

  // result.cpp
  void complete(const Slot& slot);
  ServeResult result(TimeNs first_arrival);
  void whole_run_window(ServeResult& r, double T, TimeNs last_finish) const;

  // Blocks: small and hot (every iteration, every running sequence), so inline here.
  int64_t retained(int64_t tokens) const {
    return simple_blocks_ ? tokens : static_cast<int64_t>(std::ceil(cfg_.kv.compression * static_cast<double>(tokens)));
  }
  // Blocks a sequence holds with `done` tokens of its (re)prefill in the cache.
  int64_t need_prefill(const Seq& s, int64_t done) const {
    const int64_t prompt = std::min<int64_t>(done, s.input);
    const int64_t gen = ceil_div(std::max<int64_t>(0, done - s.input), s.n);
    if (s.n == 1) return ceil_div(retained(prompt + gen) - s.shared, block_size_);
    return ceil_div(retained(prompt) - s.shared, block_size_) + s.n * ceil_div(retained(gen), block_size_);
  }
  // Blocks with the prompt and `gen_kv` generated tokens per sample in the cache.
  int64_t need_decode(const Seq& s, int64_t gen_kv) const {
    if (s.n == 1) return ceil_div(retained(s.input + gen_kv) - s.shared, block_size_);
    return ceil_div(retained(s.input) - s.shared, block_size_) + s.n * ceil_div(retained(gen_kv), block_size_);
  }
  int64_t need_full(const Seq& s) const { return need_decode(s, s.target); }
  // Grows the sequence's own blocks to `need`, evicting unused cached prefixes if it must.
  bool ensure(Replica& rep, Seq& s, int64_t need) {
    const int64_t delta = need - s.own_blocks;
    if (delta <= 0) return true;
    while (rep.free_blocks < delta && evict_one(rep)) {
    }
    if (rep.free_blocks < delta) return false;
    rep.free_blocks -= delta;
    s.own_blocks = static_cast<int32_t>(need);
    return true;
  }
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
  RequestRecord& record_of(const Seq& s) { return slots_[static_cast<size_t>(s.record)].record; }
  const Request& request_of(const Seq& s) const { return slots_[static_cast<size_t>(s.record)].request; }

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
  std::vector<Seq> seqs_;    // by slot
  std::vector<Slot> slots_;  // by slot, beside seqs_
  std::vector<int32_t> free_seqs_;
  std::vector<Request> pending_turns_;
  std::vector<int32_t> free_turns_;
  std::vector<RequestRecord> kept_;  // by arrival index, only with ServeOptions::keep_records
  int64_t block_size_ = 16;
  bool simple_blocks_ = true;  // no compression: one sequence's blocks are ceil(tokens / block size)
  int spec_q_ = 1;
  size_t rr_ = 0;

  // Running totals.
  int64_t arrived_ = 0, in_system_ = 0, unscheduled_ = 0, completed_ = 0, emitted_ = 0, emitted_at_sample_ = 0;
  int64_t preemptions_ = 0, prefill_computed_ = 0, spec_steps_ = 0, spec_emitted_ = 0;
  double area_system_ = 0, area_waiting_ = 0;
  TimeNs last_event_ns_ = 0;
  // Per-request statistics, added at completion (result.cpp).
  LogHistogram ttft_, tpot_, e2e_, queueing_, itl_;
  int64_t input_tokens_ = 0, output_tokens_ = 0, cached_tokens_ = 0, good_ = 0;
  TimeNs last_finish_ = 0;
  // The measurement window (window.h): prompt tokens whose first token has come, and GPU time
  // of the iterations split between prompt and output tokens by their share of the tokens.
  WindowTracker window_;
  int64_t prompted_ = 0;
  double prefill_gpu_s_ = 0, decode_gpu_s_ = 0;
  // Progress and cancellation (ServeOptions).
  int64_t progress_total_ = 0, progress_step_ = 1, next_progress_ = 0;
  std::vector<TimePoint> series_;
  PoolMemory first_memory_;
};

}  // namespace fathom::serve::detail
