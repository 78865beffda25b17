#pragma once
// Configuration search: every valid layout (tp, pp, cp, dp, ep, interleaving), microbatch
// size, recomputation mode and ZeRO stage for a model on a GPU count (or several), ranked by
// time to train, cost or MFU, with memory as a constraint. Rejected layouts are counted by
// reason. Deterministic: the same inputs give the same ranking.
#include <atomic>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "sim/train/train.h"

namespace fathom::train {

enum class RankBy { kTime, kCost, kMfu };
std::string to_string(RankBy r);
RankBy parse_rank_by(const std::string& s);  // throws std::invalid_argument

struct SearchOptions {
  std::vector<int64_t> gpu_counts;  // each searched; required
  RankBy rank_by = RankBy::kTime;
  size_t top = 10;
  int max_tp = 64;
  int max_cp = 16;
  int64_t max_microbatch = 64;
  int max_virtual_stages = 8;
  bool vary_recompute = true;  // none, selective, full; else the base configuration's
  bool vary_zero = true;       // 0–3; else the base configuration's
  bool vary_cp = true;         // ring context parallelism; else cp = 1
  // Called with (work done, work in all) in units of one candidate configuration (a layout
  // counts one more): once at the start with (0, total), after each further 1% or so, and once
  // at the end with (total, total). `total` is counted before the search, so `done` rises
  // monotonically to it. Runs on the calling thread; keep it cheap. Default: none.
  std::function<void(int64_t done, int64_t total)> on_progress;
  // Read (relaxed) before every candidate (microseconds apart); once it is true the search throws
  // fathom::Cancelled. Must outlive the call. Default: none.
  const std::atomic<bool>* cancel = nullptr;
};

struct Rejection {
  int64_t count = 0;
  std::string example;  // one reason, in full
};

struct SearchResult {
  std::vector<TrainResult> top;          // best first
  int64_t evaluated = 0;                 // configurations costed (feasible or over memory)
  int64_t feasible = 0;
  std::map<std::string, Rejection> rejected;  // by field at fault ("memory", "parallel.tp", ...)
  int64_t rejected_total = 0;
};

// `base` supplies what the search does not vary: sequence length, global batch, optimizer,
// precision, overlap, offload, attention and dropout settings (and recompute/ZeRO when not varied).
// The result does not depend on whether on_progress is set. Throws fathom::Cancelled when
// options.cancel is set during the search.
SearchResult search(const TrainModel& model, const TrainConfig& base, const SearchOptions& options,
                    std::optional<double> train_tokens = std::nullopt);

// The GPU counts of `text` for a search on `cluster`: "1024", "512-2048" (every multiple of the
// node size in the range) or a comma-separated list of these; sorted, without repeats, at most
// 256, each at most the cluster's GPUs. Throws FlagError naming `where` (the CLI's --gpus, a GUI
// field). One parser for `fathom train --search --gpus` and the GUI, so both search the same counts.
std::vector<int64_t> parse_gpu_counts(const std::string& text, const hw::ClusterSpec& cluster,
                                      const std::string& where = "--gpus");

// A configuration's layout in one short phrase: "tp8 pp4 dp2 v2 sp", with cp, ep and uneven
// stages where they apply (the search tables of the CLI and the GUI).
std::string layout_label(const TrainConfig& c);
// "none", "selective", "full", or "full xN" for N layers per stage recomputed in full.
std::string recompute_label(const TrainConfig& c);

// The ranked configurations as CSV (`fathom train --search --format csv`): a header, then one row
// per configuration of `result.top`, best first.
void write_search_csv(std::ostream& os, const SearchResult& result);

}  // namespace fathom::train
