#include "sim/scenario.h"

#include <filesystem>

#include <fmt/format.h>

#include "common/error.h"
#include "common/hash.h"

namespace fathom::sim {

namespace {

DType dtype_at(const YamlNode& sec, const char* key, DType def) {
  auto n = sec.find(key);
  if (!n) return def;
  try {
    return parse_dtype(n->as_string());
  } catch (const std::invalid_argument& e) {
    n->fail_message(e.what());
  }
}

// Parallel degrees and node counts beyond this are not a configuration anyone runs, and would
// overflow the int arithmetic of layouts.
constexpr int64_t kMaxDegree = 1 << 20;

int degree(const YamlNode& sec, const char* key, int64_t def) { return sec.small_count(key, kMaxDegree, def); }

model::Layout parse_layout(const YamlNode& sec, int gpus_per_node, bool train) {
  model::Layout L;
  auto p = sec.at("parallel");
  if (train) {
    p.expect_keys({"tp", "pp", "dp", "cp", "cp_kind", "ep", "sequence_parallel", "virtual_stages", "first_stage_layers",
                   "last_stage_layers"});
  } else {
    p.expect_keys({"tp", "pp", "ep", "replicas"});
  }
  L.tp = degree(p, "tp", 1);
  L.pp = degree(p, "pp", 1);
  L.dp = train ? degree(p, "dp", 1) : 1;
  L.ep = degree(p, "ep", 1);
  if (train) {
    L.cp = degree(p, "cp", 1);
    if (auto k = p.find("cp_kind")) {
      const std::string v = k->as_string();
      if (v == "all-to-all" || v == "ulysses") L.cp_all_to_all = true;
      else if (v != "ring" && v != "all-gather") k->fail("ring, all-to-all or all-gather");
    }
  }
  L.sequence_parallel = train && p.flag_or("sequence_parallel", false);
  L.gpus_per_node = gpus_per_node;
  return L;
}

// Wraps a ConfigError from validate_layout with the scenario's file:line.
void check_layout(const model::ModelSpec& m, const model::Layout& L, const YamlNode& parallel) {
  model::validate_layout(m, L, parallel.where(), parallel.path() + ".");
}


// The node a check_config field names ("parallel.tp", "global_batch", ...), for file:line. No
// YamlNode assignment here: yaml-cpp's Node::operator= rebinds the tree, not the handle.
YamlNode node_for(const YamlNode& sec, const std::string& field) {
  const size_t dot = field.find('.');
  auto next = sec.find(field.substr(0, dot));
  if (!next) return sec;
  if (dot == std::string::npos) return *next;
  return node_for(*next, field.substr(dot + 1));
}

TrainSection parse_train_section(const YamlNode& tr, const Scenario& s, int64_t total_gpus) {
  tr.expect_keys({"gpus", "parallel", "seq_len", "global_batch", "global_batch_tokens", "microbatch", "recompute", "zero", "fsdp",
                  "optimizer", "offload", "overlap", "flash_attention", "dropout", "grad_reduce", "host_overhead", "tokens",
                  "shard_group", "reshard_after_forward", "prefetch_depth", "framework", "loop_efficiency"});
  TrainSection ts;
  ts.layout = parse_layout(tr, s.cluster.gpus_per_node, true);
  ts.dp_given = tr.at("parallel").has("dp");
  ts.gpus = tr.has("gpus") ? static_cast<int64_t>(tr.small_count("gpus", kMaxDegree * 64)) : total_gpus;
  if (ts.gpus > total_gpus) {
    tr.at("gpus").fail(fmt::format("at most the {} GPUs of the hardware", total_gpus));
  }
  auto par = tr.at("parallel");
  if (auto k = par.find("cp_kind")) {
    const std::string v = k->as_string();
    ts.cp_kind = v == "all-gather" ? train::CpKind::kAllGather : ts.layout.cp_all_to_all ? train::CpKind::kAllToAll : train::CpKind::kRing;
  }
  ts.virtual_stages = degree(par, "virtual_stages", 1);
  if (par.has("first_stage_layers")) ts.first_stage_layers = par.count("first_stage_layers");
  if (par.has("last_stage_layers")) ts.last_stage_layers = par.count("last_stage_layers");
  const int64_t group = static_cast<int64_t>(ts.layout.tp) * ts.layout.pp * ts.layout.cp;
  if (!ts.dp_given) {
    if (group > ts.gpus || ts.gpus % group != 0) {
      par.fail_message(fmt::format("tp × pp × cp = {} does not divide the {} GPUs of the job; set dp or gpus", group, ts.gpus));
    }
    ts.layout.dp = static_cast<int>(ts.gpus / group);
  }
  ts.seq_len = tr.count("seq_len");
  if (tr.has("global_batch") && tr.has("global_batch_tokens")) {
    tr.at("global_batch_tokens").fail_message("expected either 'global_batch' (sequences) or 'global_batch_tokens', found both");
  }
  if (auto gt = tr.find("global_batch_tokens")) {
    const int64_t tokens = gt->as_positive_int();
    if (tokens % ts.seq_len != 0) gt->fail(fmt::format("a multiple of seq_len = {}", ts.seq_len));
    ts.global_batch = tokens / ts.seq_len;
  } else {
    ts.global_batch = tr.count("global_batch");
  }
  ts.microbatch = tr.count_or("microbatch", 1);
  if (auto r = tr.find("recompute")) {
    const std::string v = r->as_string();
    if (v == "none") ts.recompute = model::Recompute::kNone;
    else if (v == "selective") ts.recompute = model::Recompute::kSelective;
    else if (v == "full") ts.recompute = model::Recompute::kFull;
    else if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) {
      ts.recompute = model::Recompute::kFull;
      ts.recompute_layers = r->as_positive_int();
    } else {
      r->fail("none, selective, full or a number of layers per stage to recompute in full");
    }
  }
  if (tr.has("zero") && tr.has("fsdp")) tr.at("fsdp").fail_message("expected either 'zero' or 'fsdp', found both");
  if (auto z = tr.find("zero")) {
    const int64_t v = z->as_nonnegative_int();
    if (v > 3) z->fail("a ZeRO stage 0, 1, 2 or 3");
    ts.zero = static_cast<int>(v);
  }
  if (tr.flag_or("fsdp", false)) ts.zero = 3;
  if (tr.has("shard_group")) ts.shard_group = static_cast<int>(tr.small_count("shard_group", kMaxDegree * 64));
  ts.reshard_after_forward = tr.flag_or("reshard_after_forward", ts.reshard_after_forward);
  if (tr.has("prefetch_depth")) ts.prefetch_depth = static_cast<int>(tr.small_count("prefetch_depth", 16));
  if (auto f = tr.find("framework")) {
    try {
      ts.framework = train::parse_framework(f->as_string());
    } catch (const std::invalid_argument& e) {
      f->fail_message(e.what());
    }
  }
  if (auto o = tr.find("optimizer")) {
    try {
      ts.optimizer = train::parse_optimizer(o->as_string());
    } catch (const std::invalid_argument& e) {
      o->fail_message(e.what());
    }
  }
  if (auto o = tr.find("offload")) {
    o->expect_keys({"optimizer", "activations"});
    ts.offload_optimizer = o->flag_or("optimizer", false);
    ts.offload_activations = o->flag_or("activations", false);
  }
  if (auto o = tr.find("overlap")) {
    o->expect_keys({"tp", "dp", "pp"});
    ts.overlap_tp = o->flag_or("tp", ts.overlap_tp);
    ts.overlap_dp = o->flag_or("dp", ts.overlap_dp);
    ts.overlap_pp = o->flag_or("pp", ts.overlap_pp);
  }
  ts.flash_attention = tr.flag_or("flash_attention", true);
  ts.dropout = tr.flag_or("dropout", false);
  ts.grad_reduce_dtype = dtype_at(tr, "grad_reduce", s.precision.activations == DType::kFp8 ? DType::kBf16 : s.precision.activations);
  if (ts.grad_reduce_dtype != DType::kBf16 && ts.grad_reduce_dtype != DType::kFp16 && ts.grad_reduce_dtype != DType::kFp32) {
    tr.at("grad_reduce").fail("bf16, fp16 or fp32");
  }
  if (auto t = tr.find("tokens")) ts.tokens = t->as_positive_number();
  if (auto ho = tr.find("host_overhead")) {
    ts.host_overhead_per_op_s = ho->is_scalar() && ho->as_string() == "0" ? 0.0 : ho->as_quantity(Dimension::kTime);
  }
  if (auto le = tr.find("loop_efficiency")) ts.loop_efficiency = le->as_positive_number();
  if (auto bad = train::check_config(s.model, ts, ts.gpus)) {
    const YamlNode n = node_for(tr, bad->field);
    throw ConfigError(n.where(), "'" + tr.path() + "." + bad->field + "': " + bad->reason);
  }
  return ts;
}
}  // namespace

std::string efficiency_source(const Scenario& s) {
  if (!s.profile) return "documented defaults";
  std::string from = s.profile->file.empty() ? std::string("(built in)") : s.profile->file;
  if (s.gpu.calibrated_profile == s.profile) from += ", the catalog's for " + s.gpu.name;
  return "calibrated profile " + from;
}

Scenario parse_scenario(const YamlNode& root, const hw::HardwareCatalog& hardware, const model::ModelCatalog& models) {
  root.expect_keys({"name", "description", "model", "hardware", "precision", "efficiency", "collectives", "serve",
                    "train", "cost"});
  Scenario s;
  s.file = root.file();
  s.name = root.str_or("name", std::filesystem::path(root.file()).stem().string());

  // Model: catalog name or a path relative to the scenario file.
  auto mnode = root.at("model");
  std::string ref = mnode.as_string();
  if (models.find(ref) == nullptr && !ref.empty() && ref[0] != '/' &&
      (ref.ends_with(".yaml") || ref.ends_with(".json") || ref.find('/') != std::string::npos)) {
    auto rel = std::filesystem::path(root.file()).parent_path() / ref;
    std::error_code ec;  // a name too long for the file system is simply not a file here
    if (std::filesystem::exists(rel, ec)) ref = rel.string();
  }
  s.model = models.resolve(ref, mnode.where());

  auto hwn = root.at("hardware");
  hwn.expect_keys({"gpu", "cluster", "nodes", "gpus_per_node"});
  if (auto cl = hwn.find("cluster")) {
    if (hwn.has("gpu") || hwn.has("nodes") || hwn.has("gpus_per_node")) {
      hwn.fail_message("expected either 'cluster' or 'gpu' with 'nodes' and 'gpus_per_node', found both");
    }
    s.cluster = hardware.cluster(cl->as_string(), cl->where());
    s.gpu = hardware.gpu(s.cluster.gpu, cl->where());
  } else {
    auto g = hwn.at("gpu");
    s.gpu = hardware.gpu(g.as_string(), g.where());
    const int nodes = degree(hwn, "nodes", 1);
    const int per_node = degree(hwn, "gpus_per_node", s.gpu.intra_node.gpus_per_node);
    if (per_node > s.gpu.intra_node.gpus_per_node) {
      hwn.at("gpus_per_node").fail(fmt::format("at most {} GPUs per node for {}", s.gpu.intra_node.gpus_per_node, s.gpu.name));
    }
    if (nodes > 1 && s.gpu.network_bw_per_gpu_Bps <= 0) {
      hwn.at("nodes").fail_message(fmt::format("{} has no network bandwidth in its catalog file: use one node or a cluster file", s.gpu.name));
    }
    s.cluster = hw::make_cluster(s.gpu, nodes, per_node);
  }

  if (auto p = root.find("precision")) {
    p->expect_keys({"weights", "activations", "kv_cache"});
    s.precision.weights = dtype_at(*p, "weights", DType::kBf16);
    s.precision.activations = dtype_at(*p, "activations", DType::kBf16);
    s.precision.kv_cache = dtype_at(*p, "kv_cache", s.precision.activations);
    for (DType t : {s.precision.activations, s.precision.kv_cache}) {
      if (t == DType::kInt4 || t == DType::kFp4 || t == DType::kTf32 || t == DType::kFp64) {
        p->fail_message(fmt::format("expected activations and kv_cache in bf16, fp16, fp32, fp8 or int8, found {}", to_string(t)));
      }
    }
    const DType g = s.precision.gemm_dtype();
    if (!s.gpu.supports(g) && g != DType::kFp16 && g != DType::kBf16) {
      p->fail_message(fmt::format("{} has no {} tensor cores in the catalog; expected another precision", s.gpu.name, to_string(g)));
    }
  }
  bool explicit_profile = false;
  if (auto e = root.find("efficiency")) {
    e->expect_keys({"gemm", "attention", "memory", "launch_overhead", "profile"});
    if (auto v = e->find("profile"); v && v->as_string() == "defaults") {
      explicit_profile = true;  // the documented defaults, even where the catalog has a profile
    } else if (v) {
      explicit_profile = true;
      // Relative to the scenario file, like every other path in it.
      std::filesystem::path path(v->as_string());
      if (path.is_relative() && !root.file().empty()) path = std::filesystem::path(root.file()).parent_path() / path;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) v->fail("a calibrated profile file (fathom calib fit --out)");
      s.profile = std::make_shared<hw::CalibratedProfile>(hw::load_profile(path.string()));
      hw::check_profile_matches(*s.profile, s.gpu, v->where());
    }
    if (auto v = e->find("gemm")) {
      s.efficiency.gemm_override = v->as_positive_number();
      if (s.efficiency.gemm_override > 1) v->fail("a fraction in (0, 1]");
    }
    if (auto v = e->find("attention")) {
      s.efficiency.attention = v->as_positive_number();
      if (s.efficiency.attention > 1) v->fail("a fraction in (0, 1]");
    }
    if (auto v = e->find("memory")) {
      s.efficiency.memory_override = v->as_positive_number();
      if (s.efficiency.memory_override > 1) v->fail("a fraction in (0, 1]");
    }
    if (auto v = e->find("launch_overhead")) s.efficiency.launch_overhead_s = v->as_quantity(Dimension::kTime);
  }
  // The catalog's calibrated profile of this GPU, unless the scenario chose a profile or defaults.
  if (!explicit_profile) s.profile = s.gpu.calibrated_profile;
  if (auto c = root.find("collectives")) {
    c->expect_keys({"algorithm"});
    if (auto a = c->find("algorithm")) {
      try {
        s.collective_algo = hw::parse_collective_algo(a->as_string());
      } catch (const std::invalid_argument& ex) {
        a->fail_message(ex.what());
      }
    }
  }

  const int64_t total_gpus = static_cast<int64_t>(s.cluster.nodes) * s.cluster.gpus_per_node;
  if (auto sv = root.find("serve")) {
    sv->expect_keys({"parallel", "iteration", "engine", "scheduler", "kv_cache", "max_model_len", "router", "speculative",
                     "disaggregated", "iteration_overhead", "timeseries_interval_s", "slo", "workload"});
    ServeSection ss;
    ss.layout = parse_layout(*sv, s.cluster.gpus_per_node, false);
    check_layout(s.model, ss.layout, sv->at("parallel"));
    if (s.model.moe && ss.layout.ep > 1 && ss.layout.tp % ss.layout.ep != 0) {
      sv->at("parallel").at("ep").fail(fmt::format("a divisor of tp ({}) when serving", ss.layout.tp));
    }
    if (static_cast<int64_t>(ss.layout.tp) * ss.layout.pp > total_gpus) {
      sv->at("parallel").fail_message(fmt::format("tp × pp = {} GPUs, but the hardware has {}", static_cast<int64_t>(ss.layout.tp) * ss.layout.pp, total_gpus));
    }
    if (!sv->has("iteration") && !sv->has("workload")) {
      sv->fail_message("expected 'iteration' (one iteration for fathom estimate) or 'workload' (for fathom serve), found neither");
    }
    if (sv->has("workload")) {
      ss.sim = serve::parse_serve_config(*sv, s.model, s.gpu, s.precision, ss.layout, models);
    }
    if (sv->has("iteration")) {
    ss.has_iteration = true;
    auto it = sv->at("iteration");
    it.expect_keys({"phase", "sequences", "context", "prompt"});
    auto ph = it.at("phase");
    const std::string p = ph.as_string();
    const char* length_key = "context";
    if (p == "decode") {
      ss.phase = model::Phase::kDecode;
    } else if (p == "prefill") {
      ss.phase = model::Phase::kPrefill;
      length_key = "prompt";
    } else {
      ph.fail("'decode' or 'prefill'");
    }
    const char* other_key = ss.phase == model::Phase::kDecode ? "prompt" : "context";
    if (it.has(other_key)) {
      it.at(other_key).fail_message(std::string("'") + other_key + "' does not apply to phase " + p + "; expected '" +
                                    length_key + "'");
    }
    ss.context = it.count(length_key);
    ss.sequences = it.count("sequences");
    if (ss.context > s.model.max_position) {
      it.at(length_key).fail(fmt::format("at most the model's {} positions", s.model.max_position));
    }
    }
    s.serve = ss;
  }
  if (auto tr = root.find("train")) s.train = parse_train_section(*tr, s, total_gpus);
  if (!s.serve && !s.train) root.fail_message("expected a 'serve' or a 'train' section, found neither");
  s.usd_per_gpu_hour = s.gpu.usd_per_gpu_hour;
  if (auto c = root.find("cost")) {
    c->expect_keys({"usd_per_gpu_hour"});
    if (auto u = c->find("usd_per_gpu_hour")) s.usd_per_gpu_hour = u->as_positive_number();
  }
  return s;
}

void apply_profile_choice(Scenario& s, const std::string& profile, const std::string& where) {
  if (profile.empty()) return;
  if (profile == "defaults") {  // the documented defaults, even where the catalog has a profile
    s.profile = nullptr;
    return;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(profile, ec)) {
    throw FlagError(where, "expected a calibrated profile file (fathom calib fit --out) or 'defaults', found '" + profile + "'");
  }
  s.profile = std::make_shared<hw::CalibratedProfile>(hw::load_profile(profile));
  hw::check_profile_matches(*s.profile, s.gpu, where);
}

namespace {

// A path written in the scenario, relative to its file, made absolute in place (the node keeps
// its line for messages). Only a path that exists is rewritten: one that does not is left for
// the reader to report as the user wrote it.
void absolutize(YAML::Node node, const std::string& file, bool only_if_path) {
  if (!node.IsDefined() || !node.IsScalar()) return;
  const std::string v = node.Scalar();
  if (v.empty() || v == "defaults" || v[0] == '/') return;
  if (only_if_path && !(v.ends_with(".yaml") || v.ends_with(".json") || v.find('/') != std::string::npos)) return;
  std::error_code ec;
  const auto p = std::filesystem::path(file).parent_path() / v;
  if (!std::filesystem::exists(p, ec)) return;
  auto abs = std::filesystem::absolute(p, ec);
  if (!ec) node = abs.lexically_normal().string();
}

YAML::Node child(const YAML::Node& n, const char* key) {
  if (!n.IsDefined() || !n.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  return n[key];
}

ResolvedScenario resolve_document(const YamlNode& file_root, const hw::HardwareCatalog& hardware,
                                  const model::ModelCatalog& models, const ResolveOptions& options) {
  const YamlNode root = apply_overrides(file_root, options.overrides);
  YAML::Node doc = root.raw();
  if (!root.file().empty() && root.file()[0] != '<') {
    YAML::Node m = child(doc, "model");
    if (m.IsDefined() && m.IsScalar() && models.find(m.Scalar()) == nullptr) absolutize(m, root.file(), true);
    absolutize(child(child(doc, "efficiency"), "profile"), root.file(), false);
    absolutize(child(child(child(child(doc, "serve"), "workload"), "arrival"), "file"), root.file(), false);
  }
  ResolvedScenario r;
  r.scenario = parse_scenario(root, hardware, models);
  apply_profile_choice(r.scenario, options.profile, options.profile_where);
  // The text that reproduces it: the name and the profile choice written out.
  if (!doc["name"].IsDefined() || doc["name"].IsNull()) doc["name"] = r.scenario.name;
  if (!options.profile.empty()) {
    std::string choice = options.profile;
    if (choice != "defaults") {
      std::error_code ec;
      auto abs = std::filesystem::absolute(choice, ec);
      if (!ec) choice = abs.lexically_normal().string();
    }
    if (!doc["efficiency"].IsDefined() || doc["efficiency"].IsNull()) doc["efficiency"] = YAML::Node(YAML::NodeType::Map);
    doc["efficiency"]["profile"] = choice;
  }
  r.text = emit_yaml(doc);
  r.hash = sha256_hex(r.text);
  return r;
}

}  // namespace

ResolvedScenario resolve_scenario(const std::string& path, const hw::HardwareCatalog& hardware,
                                  const model::ModelCatalog& models, const ResolveOptions& options) {
  return resolve_document(load_yaml_file(path), hardware, models, options);
}

ResolvedScenario resolve_scenario_text(const std::string& text, const std::string& name,
                                       const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                                       const ResolveOptions& options) {
  return resolve_document(parse_yaml(text, name), hardware, models, options);
}

Scenario load_scenario(const std::string& path, const hw::HardwareCatalog& hardware, const model::ModelCatalog& models,
                       const ResolveOptions& options) {
  return resolve_scenario(path, hardware, models, options).scenario;
}

std::vector<YamlOverride> train_layout_overrides(const TrainSection& from, const train::TrainConfig& to) {
  std::vector<YamlOverride> out;
  auto put = [&](const std::string& path, const std::string& value) {
    out.push_back({path, value, "--set " + path + "=" + value});
  };
  auto put_int = [&](const std::string& path, int64_t a, int64_t b) {
    if (a != b) put(path, std::to_string(b));
  };
  auto put_bool = [&](const std::string& path, bool a, bool b) {
    if (a != b) put(path, b ? "true" : "false");
  };
  const model::Layout &F = from.layout, &T = to.layout;
  put_int("train.gpus", from.gpus, to.gpus());
  put_int("train.parallel.tp", F.tp, T.tp);
  put_int("train.parallel.pp", F.pp, T.pp);
  put_int("train.parallel.dp", F.dp, T.dp);
  put_int("train.parallel.cp", F.cp, T.cp);
  if (F.cp_all_to_all != T.cp_all_to_all || from.cp_kind != to.cp_kind) {
    put("train.parallel.cp_kind", T.cp_all_to_all ? "all-to-all" : to.cp_kind == train::CpKind::kAllGather ? "all-gather" : "ring");
  }
  put_int("train.parallel.ep", F.ep, T.ep);
  put_bool("train.parallel.sequence_parallel", F.sequence_parallel, T.sequence_parallel);
  put_int("train.parallel.virtual_stages", from.virtual_stages, to.virtual_stages);
  if (from.first_stage_layers != to.first_stage_layers) {
    put("train.parallel.first_stage_layers", to.first_stage_layers > 0 ? std::to_string(to.first_stage_layers) : "null");
  }
  if (from.last_stage_layers != to.last_stage_layers) {
    put("train.parallel.last_stage_layers", to.last_stage_layers > 0 ? std::to_string(to.last_stage_layers) : "null");
  }
  put_int("train.microbatch", from.microbatch, to.microbatch);
  if (from.recompute != to.recompute || from.recompute_layers != to.recompute_layers) {
    put("train.recompute", to.recompute == model::Recompute::kFull && to.recompute_layers > 0
                               ? std::to_string(to.recompute_layers)
                               : model::to_string(to.recompute));
  }
  put_int("train.zero", from.zero, to.zero);
  return out;
}

}  // namespace fathom::sim
