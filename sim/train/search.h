#pragma once
// Configuration search: every valid layout (tp, pp, cp, dp, ep, interleaving), microbatch
// size, recomputation mode and ZeRO stage for a model on a GPU count (or several), ranked by
// time to train, cost or MFU, with memory (less a headroom) as a constraint. Any subset of the
// degrees may be fixed. Rejected layouts are counted by reason. Deterministic: the same inputs
// give the same ranking. docs/training.md, "Configuration search".
#include <atomic>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/train/train.h"

namespace fathom::train {

enum class RankBy { kTime, kCost, kMfu };
std::string to_string(RankBy r);
RankBy parse_rank_by(const std::string& s);  // throws std::invalid_argument

// Values the search keeps fixed (`fathom train --search --fix tp=8,pp=16`); unset ones vary.
// Every configuration the search lists satisfies every set value.
struct SearchFix {
  std::optional<int> tp, pp, dp, cp, ep;
  std::optional<int> virtual_stages;  // key v
  std::optional<int64_t> microbatch;  // key mb
  std::optional<int> zero;            // 0–3; overrides SearchOptions::vary_zero
  std::optional<model::Recompute> recompute;  // overrides SearchOptions::vary_recompute
  bool empty() const;
  bool matches(const TrainConfig& c) const;
};
// "tp=8,pp=16,recompute=full": comma-separated key=value pairs with the keys tp, pp, dp, cp, ep,
// v, mb (positive integers), zero (0–3) and recompute (none, selective, full), each at most once.
// Throws FlagError naming `where` (the CLI's --fix, a GUI field).
SearchFix parse_search_fix(const std::string& text, const std::string& where = "--fix");
// The canonical text of a fix ("tp=8,pp=16"; "" when nothing is fixed), keys in the order above.
std::string to_string(const SearchFix& f);

// Default fraction of HBM the search keeps free beyond the model's own fragmentation allowance
// (TrainModel::kFragmentation): memory predicted within a few percent of capacity is not a layout
// anyone would launch. What the estimate leaves out and a real job meets: the caching allocator's
// peaks above its steady state (PyTorch's CUDA caching allocator splits and rounds blocks, so
// reserved memory runs above allocated, and a long job can OOM at a transient peak); NCCL's
// buffers, which grow with every communicator a layout creates (NCCL_BUFFSIZE, 4 MiB by default
// per channel and connection, NCCL documentation "Environment variables"; TP, PP, DP and CP groups
// each add some); and the transients of checkpointing (state staged for the writer) and evaluation
// (a second activation footprint of another shape). 10% of 80 GB is 8 GB, the order of these
// together. docs/training.md, "Configuration search".
inline constexpr double kDefaultMemoryHeadroom = 0.10;
// A headroom from text ("0.1"): a fraction from 0 to below 0.5. Throws FlagError naming `where`.
double parse_memory_headroom(const std::string& text, const std::string& where = "--headroom");

struct SearchOptions {
  std::vector<int64_t> gpu_counts;  // each searched; required
  SearchFix fix;                    // values held fixed; default: none
  // Fraction of HBM kept free: a configuration whose memory total (fragmentation allowance
  // included) is above (1 − memory_headroom) × capacity is rejected under "memory headroom".
  // 0 ≤ memory_headroom < 0.5; default kDefaultMemoryHeadroom.
  double memory_headroom = kDefaultMemoryHeadroom;
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
  // By field at fault ("memory", "memory headroom", "parallel.tp", "fix", ...).
  std::map<std::string, Rejection> rejected;
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

// The two FLOP conventions of TrainResult::mfu and ::hfu, in words with their sources (the CLI's
// text, JSON and docs/training.md use these).
inline constexpr const char* kMfuConvention =
    "model FLOPs: 6N per token plus attention 12·L·H·Q·T, no recomputation (PaLM, Chowdhery et al. 2022, App. B)";
inline constexpr const char* kHfuConvention =
    "hardware FLOPs as executed, recomputation included (Megatron-LM, Narayanan et al. 2021, eq. 3)";

// The ranked configurations as CSV (`fathom train --search --format csv`): a header, then one row
// per configuration of `result.top`, best first. The columns after `usd` (framework,
// model_flops_per_step, hardware_flops_per_step) were appended later; earlier ones keep their places.
void write_search_csv(std::ostream& os, const SearchResult& result);

}  // namespace fathom::train
