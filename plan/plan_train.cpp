#include "plan/plan_train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "hw/catalog.h"
#include "sim/model/model_catalog.h"
#include "sim/scenario.h"
#include "sim/train/search.h"

namespace fathom::plan {

namespace {

constexpr double kDay_s = 86400;
constexpr double kGiB = 1073741824.0;
constexpr int64_t kMaxCount = int64_t{1} << 20;  // GPUs of one job, as scenarios allow
constexpr size_t kMaxSizes = 64;

struct Candidate {
  std::string gpu;  // catalog name
  std::vector<int64_t> counts;
  int per_node = 0;
  std::optional<double> usd_per_gpu_hour;  // --prices or the plan's; else the catalog's
  std::string where;                       // the plan line naming the GPU
};

struct TrainPlan {
  std::string name;
  std::string model;  // catalog name or absolute path
  YamlNode root;
  std::vector<Candidate> candidates;
  std::optional<double> deadline_s, budget_usd;
  double headroom = 0;
  bool rank_cost = true;
  size_t top = 10;
};

// "1024-8192" (doubling from A to B), a count, or a list of counts.
std::vector<int64_t> parse_sizes(const YamlNode& n) {
  std::vector<int64_t> out;
  auto count = [&](const YamlNode& v) {
    const int64_t g = v.as_positive_int();
    if (g > kMaxCount) v.fail(fmt::format("at most {} GPUs", kMaxCount));
    return g;
  };
  if (n.is_sequence()) {
    for (const YamlNode& v : n.items()) out.push_back(count(v));
  } else if (n.is_scalar() && n.as_string().find('-') != std::string::npos) {
    const std::string s = n.as_string();
    const size_t dash = s.find('-');
    auto num = [&](const std::string& t) -> int64_t {
      if (t.empty() || t.size() > 7 || t.find_first_not_of("0123456789") != std::string::npos) {
        n.fail("GPU counts as a range A-B (1024-8192), a count or a list of counts");
      }
      return std::stoll(t);
    };
    const int64_t a = num(s.substr(0, dash)), b = num(s.substr(dash + 1));
    if (a < 1 || a > b || b > kMaxCount) n.fail(fmt::format("a range A-B with 1 <= A <= B <= {}", kMaxCount));
    for (int64_t g = a; g <= b; g *= 2) out.push_back(g);
  } else {
    out.push_back(count(n));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.empty()) n.fail("at least one GPU count");
  if (out.size() > kMaxSizes) n.fail(fmt::format("at most {} GPU counts", kMaxSizes));
  return out;
}

TrainPlan read_plan(const PlanInput& in, const std::map<std::string, double>& prices, const hw::HardwareCatalog& hardware,
                    const model::ModelCatalog& models) {
  const YamlNode& root = in.root;
  root.expect_keys({"name", "description", "model", "tokens", "gpus", "cluster_sizes", "gpus_per_node", "usd_per_gpu_hour",
                    "deadline_days", "budget_usd", "memory_headroom", "precision", "train", "rank_by", "top"});
  TrainPlan p{root.str_or("name", std::filesystem::path(root.file()).stem().string()), "", root, {}, {}, {}, 0, true, 10};
  const YamlNode m = root.at("model");
  p.model = m.as_string();
  (void)models.resolve(p.model, m.where());  // a bad name fails here, naming the plan's line
  root.at("tokens").as_positive_number();
  // Prices: --prices, then the plan's usd_per_gpu_hour, then the catalog; names resolved as GPUs.
  std::map<std::string, double> plan_prices;
  if (auto u = root.find("usd_per_gpu_hour")) {
    if (!u->is_map()) u->fail("a map of GPU name to $/GPU-hour ({h100-sxm: 2.5})");
    for (const auto& [name, v] : u->entries()) plan_prices[hardware.gpu(name, v.where()).name] = v.as_positive_number();
  }
  std::map<std::string, double> flag_prices;
  for (const auto& [name, v] : prices) flag_prices[hardware.gpu(name, "--prices").name] = v;
  const std::vector<int64_t> sizes = parse_sizes(root.at("cluster_sizes"));
  const YamlNode gpus = root.at("gpus");
  const std::vector<YamlNode> gpu_nodes = gpus.is_sequence() ? gpus.items() : std::vector<YamlNode>{gpus};
  if (gpu_nodes.empty()) gpus.fail("at least one catalog GPU");
  for (const YamlNode& g : gpu_nodes) {
    const hw::GpuSpec& spec = hardware.gpu(g.as_string(), g.where());
    Candidate c{spec.name, sizes, spec.intra_node.gpus_per_node, std::nullopt, g.where()};
    for (const auto& other : p.candidates) {
      if (other.gpu == c.gpu) g.fail("each GPU once");
    }
    if (auto n = root.find("gpus_per_node")) {
      c.per_node = static_cast<int>(std::min<int64_t>(n->as_positive_int(), spec.intra_node.gpus_per_node));
    }
    if (c.per_node < 1) c.per_node = 1;
    if (c.counts.back() > c.per_node && spec.network_bw_per_gpu_Bps <= 0) {
      g.fail_message(fmt::format("{} has no network bandwidth in its catalog file: expected cluster sizes of at most {} GPUs",
                                 spec.name, c.per_node));
    }
    if (auto it = flag_prices.find(c.gpu); it != flag_prices.end()) c.usd_per_gpu_hour = it->second;
    else if (auto jt = plan_prices.find(c.gpu); jt != plan_prices.end()) c.usd_per_gpu_hour = jt->second;
    p.candidates.push_back(std::move(c));
  }
  if (auto d = root.find("deadline_days")) p.deadline_s = d->as_positive_number() * kDay_s;
  if (auto b = root.find("budget_usd")) p.budget_usd = b->as_positive_number();
  if (auto h = root.find("memory_headroom")) {
    p.headroom = h->as_nonnegative_number();
    if (p.headroom >= 1) h->fail("a fraction of GPU memory kept free, in [0, 1)");
  }
  if (auto r = root.find("rank_by")) {
    const std::string v = r->as_string();
    if (v != "cost" && v != "time") r->fail("cost or time");
    p.rank_cost = v == "cost";
  }
  p.top = static_cast<size_t>(root.small_count("top", 1000, 10));
  if (auto pr = root.find("precision")) pr->expect_keys({"weights", "activations", "kv_cache"});
  if (auto t = root.find("train")) {
    // What the search does not vary; the layout, microbatch, recomputation and ZeRO stage it does.
    t->expect_keys({"seq_len", "global_batch", "global_batch_tokens", "optimizer", "offload", "overlap", "flash_attention",
                    "dropout", "grad_reduce", "host_overhead"});
    t->at("seq_len");
    if (!t->has("global_batch") && !t->has("global_batch_tokens")) {
      t->fail_message("expected 'global_batch' (sequences) or 'global_batch_tokens', found neither");
    }
  } else {
    root.fail_message("expected a 'train' map with at least seq_len and global_batch, found none");
  }
  return p;
}

// The scenario document of one GPU type. The plan's own nodes are shared, not copied, so that
// parse_scenario over it names the plan's file and lines in its errors.
YAML::Node base_document(const TrainPlan& p, const Candidate& c) {
  YAML::Node doc(YAML::NodeType::Map);
  doc["name"] = fmt::format("{}-{}", p.name, c.gpu);
  doc["model"] = p.model;
  doc["hardware"]["gpu"] = c.gpu;
  doc["hardware"]["nodes"] = (c.counts.back() + c.per_node - 1) / c.per_node;
  doc["hardware"]["gpus_per_node"] = c.per_node;
  if (auto pr = p.root.find("precision")) doc["precision"] = pr->raw();
  YAML::Node train(YAML::NodeType::Map);
  train["gpus"] = 1;
  YAML::Node parallel(YAML::NodeType::Map);
  parallel["tp"] = 1;
  parallel["pp"] = 1;
  parallel["dp"] = 1;
  train["parallel"] = parallel;
  for (const auto& [key, v] : p.root.at("train").entries()) train[key] = v.raw();
  train["tokens"] = p.root.at("tokens").raw();
  doc["train"] = train;
  if (c.usd_per_gpu_hour) doc["cost"]["usd_per_gpu_hour"] = *c.usd_per_gpu_hour;
  return doc;
}

// The base document with one layout written into `train` (a fresh document: the base is shared).
YAML::Node row_document(const TrainPlan& p, const Candidate& c, const train::TrainConfig& cfg) {
  YAML::Node doc = base_document(p, c);
  YAML::Node t = doc["train"];
  const auto& L = cfg.layout;
  t["gpus"] = cfg.gpus();
  YAML::Node par(YAML::NodeType::Map);
  par["tp"] = L.tp;
  par["pp"] = L.pp;
  par["dp"] = L.dp;
  par["cp"] = L.cp;
  if (L.cp > 1) par["cp_kind"] = L.cp_all_to_all ? "all-to-all" : "ring";
  par["ep"] = L.ep;
  par["sequence_parallel"] = L.sequence_parallel;
  par["virtual_stages"] = cfg.virtual_stages;
  if (cfg.first_stage_layers > 0) par["first_stage_layers"] = cfg.first_stage_layers;
  if (cfg.last_stage_layers > 0) par["last_stage_layers"] = cfg.last_stage_layers;
  t["parallel"] = par;
  t["microbatch"] = cfg.microbatch;
  if (cfg.recompute == model::Recompute::kFull && cfg.recompute_layers > 0) t["recompute"] = cfg.recompute_layers;
  else t["recompute"] = model::to_string(cfg.recompute);
  t["zero"] = cfg.zero;
  return doc;
}

struct Found {
  size_t candidate = 0;
  train::TrainResult result;  // from the search
};

// Relative slack of each constraint; the least one names the binding constraint when it is
// within kBindingSlack (negative: missed).
std::string binding(const TrainPlan& p, const train::TrainResult& r) {
  std::string name = "none";
  double least = kBindingSlack;
  auto consider = [&](const char* what, double slack) {
    if (slack <= least) {
      least = slack;
      name = what;
    }
  };
  if (p.deadline_s) consider("deadline", 1 - r.train_time_s / *p.deadline_s);
  if (p.budget_usd) consider("budget", 1 - r.usd / *p.budget_usd);
  consider("memory", 1 - r.memory.total / ((1 - p.headroom) * r.memory.capacity));
  return name;
}

PlanRow make_row(const TrainPlan& p, const Candidate& c, const train::TrainConfig& cfg, const hw::HardwareCatalog& hardware,
                 const model::ModelCatalog& models) {
  PlanRow row;
  const sim::ResolvedScenario rs =
      sim::resolve_scenario_text(emit_yaml(row_document(p, c, cfg)), "<plan " + p.name + ", " + c.gpu + ">", hardware, models);
  const sim::Scenario& s = rs.scenario;
  // The numbers are those of `fathom train` on the row's scenario: the same resolution, model
  // and call, so that re-running it reproduces them bit for bit.
  const train::TrainModel tm(s.model, s.gpu, s.cluster, s.precision, s.efficiency, s.collective_algo, s.usd_per_gpu_hour,
                             s.profile);
  const train::TrainResult r = tm.evaluate(*s.train, s.train->tokens);
  FATHOM_CHECK(r.feasible());
  const auto& L = r.config.layout;
  const auto num = [](auto v) { return static_cast<double>(v); };
  row.cells = {{"gpu", c.gpu},
               {"gpus", num(r.config.gpus())},
               {"tp", num(L.tp)},
               {"pp", num(L.pp)},
               {"dp", num(L.dp)},
               {"cp", num(L.cp)},
               {"ep", num(L.ep)},
               {"virtual_stages", num(r.config.virtual_stages)},
               {"microbatch", num(r.config.microbatch)},
               {"recompute", r.config.recompute == model::Recompute::kFull && r.config.recompute_layers > 0
                                 ? std::to_string(r.config.recompute_layers)
                                 : model::to_string(r.config.recompute)},
               {"zero", num(r.config.zero)},
               {"step_s", r.time.step},
               {"tokens_per_s", r.tokens_per_s},
               {"mfu", r.mfu},
               {"train_days", r.train_time_s / kDay_s},
               {"gpu_hours", r.gpu_hours},
               {"usd", r.usd},
               {"memory_gib", r.memory.total / kGiB},
               {"binding", binding(p, r)},
               // Goodput under failures (checkpoints, restarts): added by the timeline issue.
               {"goodput", std::numeric_limits<double>::quiet_NaN()}};
  row.scenario_text = rs.text;
  row.scenario_hash = rs.hash;
  row.profile = sim::efficiency_source(s);
  return row;
}

}  // namespace

PlanReport plan_train(const PlanInput& input, const std::map<std::string, double>& prices, const hw::HardwareCatalog& hardware,
                      const model::ModelCatalog& models, const PlanOptions& options) {
  const TrainPlan p = read_plan(input, prices, hardware, models);
  const auto start = std::chrono::steady_clock::now();
  int64_t searches = 0;
  for (const auto& c : p.candidates) searches += static_cast<int64_t>(c.counts.size());
  const int64_t total = searches * 1000;  // progress: a thousandth of one (GPU type, count) search
  auto report = [&](int64_t done) {
    if (!options.on_progress) return;
    options.on_progress(PlanProgress{"search", done, total,
                                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  };
  report(0);

  PlanReport out;
  out.kind = "train";
  out.name = p.name;
  out.input_text = input.text;
  out.input_hash = input.hash;
  std::vector<Found> passing, per_size;
  int64_t index = 0;
  for (size_t ci = 0; ci < p.candidates.size(); ++ci) {
    const Candidate& c = p.candidates[ci];
    const YAML::Node doc = base_document(p, c);
    // Checked over the plan's own nodes first (errors name the plan file and line), then
    // resolved from its text as `fathom train` will resolve the rows.
    sim::parse_scenario(YamlNode(std::make_shared<const std::string>(input.root.file()), doc, ""), hardware, models);
    const sim::ResolvedScenario base =
        sim::resolve_scenario_text(emit_yaml(doc), "<plan " + p.name + ", " + c.gpu + ">", hardware, models);
    const sim::Scenario& s = base.scenario;
    if (p.rank_cost || p.budget_usd) {
      if (s.usd_per_gpu_hour <= 0) {
        throw InputError(c.where, fmt::format("expected a $/GPU-hour for {} to rank by cost or check a budget (--prices or "
                                              "usd_per_gpu_hour), found none in the catalog",
                                              c.gpu));
      }
    }
    // The headroom as a smaller memory: the search then rejects exactly the layouts that would
    // leave less than that fraction free.
    hw::GpuSpec usable = s.gpu;
    usable.memory_bytes *= 1 - p.headroom;
    const train::TrainModel tm(s.model, usable, s.cluster, s.precision, s.efficiency, s.collective_algo, s.usd_per_gpu_hour,
                               s.profile);
    int64_t evaluated = 0, feasible = 0;
    std::vector<std::string> late, over;  // sizes whose best layout misses the deadline, the budget
    std::map<std::string, int64_t> rejected;
    for (int64_t g : c.counts) {
      // At one GPU count, time and cost order layouts alike (cost = GPUs x time x price), so the
      // best by time are the best by either, and a deadline or budget cuts a suffix of them.
      train::SearchOptions o;
      o.gpu_counts = {g};
      o.rank_by = train::RankBy::kTime;
      o.memory_headroom = 0;  // the plan's own headroom is already in `usable`
      o.top = p.top * 4;  // room for the equivalent layouts folded below
      o.cancel = options.cancel;
      if (options.on_progress) {
        o.on_progress = [&, index](int64_t d, int64_t t) { report(index * 1000 + (t > 0 ? d * 1000 / t : 1000)); };
      }
      train::SearchResult res = train::search(tm, *s.train, o, s.train->tokens);
      evaluated += res.evaluated;
      feasible += res.feasible;
      for (const auto& [field, rej] : res.rejected) rejected[field] += rej.count;
      if (!res.top.empty()) {
        const train::TrainResult& best = res.top.front();
        per_size.push_back({ci, best});
        if (p.deadline_s && best.train_time_s > *p.deadline_s) {
          late.push_back(fmt::format("{} ({:.1f} days)", g, best.train_time_s / kDay_s));
        }
        if (p.budget_usd && best.usd > *p.budget_usd) over.push_back(fmt::format("{} (${:.4g})", g, best.usd));
      }
      for (auto& r : res.top) {
        const bool in_time = !p.deadline_s || r.train_time_s <= *p.deadline_s;
        const bool in_budget = !p.budget_usd || r.usd <= *p.budget_usd;
        if (in_time && in_budget) passing.push_back({ci, std::move(r)});
      }
      report(++index * 1000);
    }
    std::string why;
    for (const auto& [field, n] : rejected) why += fmt::format("{}{} {}", why.empty() ? "" : ", ", n, field);
    out.notes.push_back(fmt::format("{} ({}): {} configurations costed, {} fit in memory with {:.0f}% kept free{}{}; "
                                    "rejected: {}; kernels priced by {}",
                                    c.gpu, fmt::join(c.counts, ", "), evaluated, feasible, 100 * p.headroom,
                                    late.empty() ? "" : fmt::format("; the fastest layout misses the deadline at {} GPUs",
                                                                    fmt::join(late, ", ")),
                                    over.empty() ? "" : fmt::format("; the cheapest layout is over budget at {} GPUs",
                                                                    fmt::join(over, ", ")),
                                    why.empty() ? "none" : why, sim::efficiency_source(s)));
  }
  auto key = [&](const train::TrainResult& r) {
    return p.rank_cost ? std::pair(r.usd, r.train_time_s) : std::pair(r.train_time_s, r.usd);
  };
  auto by_rank = [&](const Found& a, const Found& b) { return key(a.result) < key(b.result); };
  std::stable_sort(passing.begin(), passing.end(), by_rank);
  // Layouts that differ only in how dp and cp split the same ranks (or in microbatching) can cost
  // the same to the last bit: one row stands for them, the first the search enumerated.
  std::vector<Found> distinct;
  int64_t folded = 0;
  for (auto& f : passing) {
    const bool same = std::any_of(distinct.begin(), distinct.end(), [&](const Found& d) {
      return d.candidate == f.candidate && d.result.config.gpus() == f.result.config.gpus() &&
             d.result.time.step == f.result.time.step && d.result.memory.total == f.result.memory.total;
    });
    if (same) ++folded;
    else if (distinct.size() < p.top) distinct.push_back(std::move(f));
  }
  passing = std::move(distinct);
  if (folded > 0) {
    out.notes.push_back(fmt::format("{} layouts with the same GPUs, step time and memory as a row above (dp and cp "
                                    "splitting the same ranks differently) are not listed",
                                    folded));
  }

  PlanSection ranked{"ranked",
                     fmt::format("Training layouts meeting the constraints, by {}", p.rank_cost ? "cost" : "time to train"),
                     {}};
  for (const Found& f : passing) ranked.rows.push_back(make_row(p, p.candidates[f.candidate], f.result.config, hardware, models));
  PlanSection sizes{"by_cluster_size", "The fastest layout at each GPU type and count (deadline and budget not applied)", {}};
  for (const Found& f : per_size) sizes.rows.push_back(make_row(p, p.candidates[f.candidate], f.result.config, hardware, models));
  out.sections.push_back(std::move(ranked));
  out.sections.push_back(std::move(sizes));
  if (out.sections[0].rows.empty()) {
    out.notes.push_back("no layout meets the constraints: see by_cluster_size for what each GPU type and count gives");
  }
  out.notes.push_back("goodput: not yet modelled (NaN); the timeline issue adds goodput under failures");
  return out;
}

}  // namespace fathom::plan
