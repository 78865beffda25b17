#include "calib/torch_trace.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

#include "calib/measure.h"
#include "calib/torch_trace_events.h"
#include "common/error.h"

namespace fathom::calib {
namespace {

using torch_trace::EventCat;
using torch_trace::TraceEvent;
using torch_trace::TraceEvents;
using Sizes = std::vector<int64_t>;

enum class Family { kNone, kGemm, kAttention, kReduction, kElementwise, kCopy };

Family family_of(const std::string& op) {
  static const std::map<std::string, Family, std::less<>> kOps = {
      {"aten::mm", Family::kGemm},
      {"aten::addmm", Family::kGemm},
      {"aten::matmul", Family::kGemm},
      {"aten::linear", Family::kGemm},
      {"aten::bmm", Family::kGemm},
      {"aten::baddbmm", Family::kGemm},
      {"aten::_scaled_mm", Family::kGemm},
      {"aten::scaled_dot_product_attention", Family::kAttention},
      {"aten::_scaled_dot_product_flash_attention", Family::kAttention},
      {"aten::_scaled_dot_product_efficient_attention", Family::kAttention},
      {"aten::_scaled_dot_product_cudnn_attention", Family::kAttention},
      {"aten::_flash_attention_forward", Family::kAttention},
      {"aten::_efficient_attention_forward", Family::kAttention},
      {"aten::rms_norm", Family::kReduction},
      {"aten::_fused_rms_norm", Family::kReduction},
      {"aten::layer_norm", Family::kReduction},
      {"aten::native_layer_norm", Family::kReduction},
      {"aten::softmax", Family::kReduction},
      {"aten::_softmax", Family::kReduction},
      {"aten::_safe_softmax", Family::kReduction},
      {"aten::silu", Family::kElementwise},
      {"aten::silu_", Family::kElementwise},
      {"aten::gelu", Family::kElementwise},
      {"aten::mul", Family::kElementwise},
      {"aten::mul_", Family::kElementwise},
      {"aten::add", Family::kElementwise},
      {"aten::add_", Family::kElementwise},
      {"aten::copy_", Family::kCopy},
  };
  auto it = kOps.find(op);
  return it == kOps.end() ? Family::kNone : it->second;
}

// Whole subtrees belong to these ops (see the header: composite ops run several child ops).
bool composite(Family f) { return f == Family::kAttention || f == Family::kReduction; }

// A tensor's "Input type" (c10's type names as the profiler writes them) as a Fathom dtype and
// its element size in bytes.
std::optional<std::pair<std::string, double>> dtype_of(const std::string& t) {
  static const std::map<std::string, std::pair<std::string, double>, std::less<>> kTypes = {
      {"c10::BFloat16", {"bf16", 2}},       {"c10::Half", {"fp16", 2}},          {"float", {"fp32", 4}},
      {"double", {"fp64", 8}},              {"c10::Float8_e4m3fn", {"fp8", 1}},  {"c10::Float8_e5m2", {"fp8", 1}},
      {"c10::Float8_e4m3fnuz", {"fp8", 1}}, {"c10::Float8_e5m2fnuz", {"fp8", 1}}, {"signed char", {"int8", 1}},
      {"unsigned char", {"uint8", 1}},      {"bool", {"bool", 1}},               {"short int", {"int16", 2}},
      {"int", {"int32", 4}},                {"long int", {"int64", 8}},
  };
  auto it = kTypes.find(t);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

std::string sizes_text(const Sizes& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0) t += ',';
    t += std::to_string(s[i]);
  }
  return t + "]";
}

// Product of s[from, to); nullopt on overflow.
std::optional<int64_t> product(const Sizes& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) {
    if (s[i] != 0 && p > std::numeric_limits<int64_t>::max() / s[i]) return std::nullopt;
    p *= s[i];
  }
  return p;
}

struct Decoded {
  std::string kind, name, dtype, shape;  // attention: name empty, chosen from its kernels later
  Work work;
};

// Why an op's shapes could not be used; its kernels become plain kernels.
struct Unusable {
  std::string reason;
  bool no_dims = false;
};

// Reads the recognised op `op`; returns its measurement, or sets `why`. A trace that contradicts
// itself (inner dimensions that differ) throws InputError.
class OpDecoder {
 public:
  OpDecoder(const std::string& path, const std::string& list_name) : path_(path), list_name_(list_name) {}

  bool tf32_note = false;  // an fp32 GEMM was imported
  size_t causal_unknown = 0;

  std::optional<Decoded> decode(const TraceEvent& op, Family f, Unusable& why) {
    if (!op.has_dims) {
      why = {"no \"Input Dims\"", true};
      return std::nullopt;
    }
    switch (f) {
      case Family::kGemm: return gemm(op, why);
      case Family::kAttention: return attention(op, why);
      case Family::kReduction:
      case Family::kElementwise: return rowwise(op, f, why);
      case Family::kCopy: return copy(op, why);
      case Family::kNone: break;
    }
    return std::nullopt;
  }

 private:
  [[noreturn]] void contradiction(const TraceEvent& op, const std::string& what) const {
    throw InputError(path_, list_name_ + "[" + std::to_string(op.index) + "] (\"" + op.name + "\"): " + what);
  }

  static const Sizes* tensor(const TraceEvent& op, size_t i) {
    return i < op.dims.size() && op.dims[i] ? &*op.dims[i] : nullptr;
  }
  static std::string type(const TraceEvent& op, size_t i) { return i < op.types.size() ? op.types[i] : ""; }

  std::optional<Decoded> gemm(const TraceEvent& op, Unusable& why) {
    const std::string& n = op.name;
    const size_t ia = (n == "aten::addmm" || n == "aten::baddbmm") ? 1 : 0;
    const Sizes* pa = tensor(op, ia);
    const Sizes* pb = tensor(op, ia + 1);
    if (!pa || !pb) {
      why.reason = "expected the sizes of two matrices in \"Input Dims\"";
      return std::nullopt;
    }
    Sizes a = *pa, b = *pb;
    auto inner = [&](int64_t ka, int64_t kb) {
      if (ka != kb) contradiction(op, "expected matrices " + sizes_text(*pa) + " and " + sizes_text(*pb) +
                                          " to agree in their inner dimension, found " + std::to_string(ka) + " and " +
                                          std::to_string(kb));
    };
    GemmShape g;
    if (n == "aten::mm" || n == "aten::addmm" || n == "aten::_scaled_mm") {
      if (a.size() != 2 || b.size() != 2) return wrong_rank(why, "2-D matrices", a, b);
      inner(a[1], b[0]);
      g = {a[0], b[1], a[1], 1};
    } else if (n == "aten::bmm" || n == "aten::baddbmm") {
      if (a.size() != 3 || b.size() != 3) return wrong_rank(why, "3-D batches of matrices", a, b);
      if (a[0] != b[0]) contradiction(op, "expected batches " + sizes_text(a) + " and " + sizes_text(b) + " of one size");
      inner(a[2], b[1]);
      g = {a[1], b[2], a[2], a[0]};
    } else if (n == "aten::linear") {
      if (a.empty() || b.size() != 2) return wrong_rank(why, "an input of >= 1 dimension and a 2-D weight", a, b);
      inner(a.back(), b[1]);
      g = {product(a, 0, a.size() - 1).value_or(0), b[0], b[1], 1};
    } else {  // aten::matmul, torch.matmul's rules
      if (a.empty() || b.empty()) return wrong_rank(why, "operands of >= 1 dimension", a, b);
      if (a.size() == 1) a.insert(a.begin(), 1);
      if (b.size() == 1) b.push_back(1);
      inner(a.back(), b[b.size() - 2]);
      if (b.size() == 2) {
        g = {product(a, 0, a.size() - 1).value_or(0), b[1], a.back(), 1};
      } else {
        Sizes batch;
        const size_t ra = a.size() - 2, rb = b.size() - 2;
        for (size_t i = 0; i < std::max(ra, rb); ++i) {
          const int64_t da = i < ra ? a[ra - 1 - i] : 1, db = i < rb ? b[rb - 1 - i] : 1;
          if (da != db && da != 1 && db != 1) {
            contradiction(op, "expected the batch dimensions of " + sizes_text(*pa) + " and " + sizes_text(*pb) +
                                  " to broadcast, found " + std::to_string(da) + " and " + std::to_string(db));
          }
          batch.push_back(std::max(da, db));
        }
        g = {a[a.size() - 2], b.back(), a.back(), product(batch, 0, batch.size()).value_or(0)};
      }
    }
    if (g.m <= 0 || g.n <= 0 || g.k <= 0 || g.batch <= 0) {  // 0: an empty tensor, or sizes that overflow
      why.reason = "an empty or oversized GEMM (" + sizes_text(*pa) + " x " + sizes_text(*pb) + ")";
      return std::nullopt;
    }
    const auto dt = dtype_of(type(op, ia));
    const bool scaled = n == "aten::_scaled_mm";
    if (!dt || (scaled != (dt->first == "fp8")) ||
        (!scaled && dt->first != "bf16" && dt->first != "fp16" && dt->first != "fp32")) {
      why.reason = "input type '" + type(op, ia) + "' (expected " + (scaled ? "an fp8 type" : "bf16, fp16 or fp32") + ")";
      return std::nullopt;
    }
    if (dt->first == "fp32") tf32_note = true;
    return Decoded{"gemm", n, dt->first, gemm_shape_text(g), gemm_work(g, dt->first)};
  }

  static std::optional<Decoded> wrong_rank(Unusable& why, const std::string& expected, const Sizes& a, const Sizes& b) {
    why.reason = "expected " + expected + ", found " + sizes_text(a) + " and " + sizes_text(b);
    return std::nullopt;
  }

  // A 2-byte dtype: Fathom counts elementwise, reduction and attention bytes in bf16 elements.
  static std::optional<std::string> two_byte(const TraceEvent& op, size_t i, Unusable& why) {
    const auto dt = dtype_of(type(op, i));
    if (dt && (dt->first == "bf16" || dt->first == "fp16")) return dt->first;
    why.reason = "input type '" + type(op, i) + "' (expected bf16 or fp16: Fathom counts these bytes in 2-byte elements)";
    return std::nullopt;
  }

  std::optional<Decoded> attention(const TraceEvent& op, Unusable& why) {
    const std::string& n = op.name;
    // The SDPA ops take [batch..., heads, seq, d]; the kernels' own entry points [batch, seq, heads, d].
    const bool seq_major = n == "aten::_flash_attention_forward" || n == "aten::_efficient_attention_forward";
    const Sizes* q = tensor(op, 0);
    const Sizes* k = tensor(op, 1);
    if (!q || !k) {
      why.reason = "expected query and key sizes in \"Input Dims\"";
      return std::nullopt;
    }
    const size_t r = q->size();
    if ((seq_major ? r != 4 : r < 3) || k->size() != r) {
      why.reason = "expected query and key of " + std::string(seq_major ? "4" : ">= 3") + " dimensions, found " +
                   sizes_text(*q) + " and " + sizes_text(*k);
      return std::nullopt;
    }
    const int64_t d = q->back();
    const AttentionShape shape =
        seq_major ? AttentionShape{(*q)[0], (*q)[2], (*k)[2], (*q)[1], (*k)[1], d, false}
                  : AttentionShape{product(*q, 0, r - 3).value_or(0), (*q)[r - 3], (*k)[r - 3], (*q)[r - 2], (*k)[r - 2], d,
                                   false};
    AttentionShape a = shape;
    if (k->back() != d) {
      contradiction(op, "expected query " + sizes_text(*q) + " and key " + sizes_text(*k) + " of one head size");
    }
    if (a.batch <= 0 || a.heads <= 0 || a.kv_heads <= 0 || a.q_len <= 0 || a.kv_len <= 0 || a.head_dim <= 0) {
      why.reason = "an empty attention (" + sizes_text(*q) + ", " + sizes_text(*k) + ")";
      return std::nullopt;
    }
    if (a.heads % a.kv_heads != 0) {
      contradiction(op, "expected the query heads (" + std::to_string(a.heads) + ") to be a multiple of the key heads (" +
                            std::to_string(a.kv_heads) + ")");
    }
    // Position of is_causal in each op's schema (native_functions.yaml); for the efficient
    // kernel, custom_mask_type (0 none, 1 and 2 causal).
    static const std::map<std::string, size_t, std::less<>> kCausalArg = {
        {"aten::scaled_dot_product_attention", 5},        {"aten::_scaled_dot_product_flash_attention", 4},
        {"aten::_scaled_dot_product_efficient_attention", 6}, {"aten::_scaled_dot_product_cudnn_attention", 6},
        {"aten::_flash_attention_forward", 8},            {"aten::_efficient_attention_forward", 9},
    };
    const size_t at = kCausalArg.at(n);
    const std::string c = at < op.concrete.size() ? op.concrete[at] : "";
    if (c == "True" || c == "true" || (c != "0" && !c.empty() && n == "aten::_efficient_attention_forward")) {
      a.causal = true;
    } else if (c != "False" && c != "false" && c != "0") {
      ++causal_unknown;
    }
    if (a.causal && a.q_len > a.kv_len) {
      why.reason = "causal with more queries than keys (Fathom aligns the causal mask to the end of the keys)";
      return std::nullopt;
    }
    const auto dt = two_byte(op, 0, why);
    if (!dt) return std::nullopt;
    return Decoded{"attention", "", *dt, attention_shape_text(a), attention_work(a)};
  }

  static std::optional<std::pair<int64_t, int64_t>> rows_cols(const Sizes& s) {
    const auto numel = product(s, 0, s.size());
    if (!numel || *numel <= 0) return std::nullopt;
    const int64_t cols = s.empty() ? 1 : s.back();
    return std::make_pair(*numel / cols, cols);
  }

  std::optional<Decoded> rowwise(const TraceEvent& op, Family f, Unusable& why) {
    const std::string& n = op.name;
    size_t arg = 0;
    if (f == Family::kElementwise) {  // the largest tensor: broadcast operands are smaller
      int64_t best = -1;
      for (size_t i = 0; i < op.dims.size(); ++i) {
        if (!op.dims[i] || !dtype_of(type(op, i))) continue;
        const int64_t numel = product(*op.dims[i], 0, op.dims[i]->size()).value_or(-1);
        if (numel > best) {
          best = numel;
          arg = i;
        }
      }
    }
    const Sizes* x = tensor(op, arg);
    const auto rc = x ? rows_cols(*x) : std::nullopt;
    if (!rc) {
      why.reason = x ? "an empty tensor " + sizes_text(*x) : "expected the input's sizes in \"Input Dims\"";
      return std::nullopt;
    }
    const auto dt = two_byte(op, arg, why);
    if (!dt) return std::nullopt;
    std::string name;
    if (f == Family::kReduction) {
      name = n.find("softmax") != std::string::npos ? "softmax" : "rmsnorm";
    } else {
      name = (n == "aten::silu" || n == "aten::silu_" || n == "aten::gelu") ? "silu_mul" : "add";
    }
    const auto [rows, cols] = *rc;
    return Decoded{rowwise_kind(name), name, *dt, format_shape({{"rows", rows}, {"cols", cols}}),
                   rowwise_work(name, rows, cols)};
  }

  std::optional<Decoded> copy(const TraceEvent& op, Unusable& why) {
    const Sizes* src = tensor(op, 1);  // copy_(self, src, non_blocking)
    const auto dt = dtype_of(type(op, 1));
    const auto numel = src ? product(*src, 0, src->size()) : std::nullopt;
    const auto size = dt ? static_cast<int64_t>(dt->second) : 0;
    if (!src || !dt || !numel || *numel <= 0 || *numel > std::numeric_limits<int64_t>::max() / size) {
      why.reason = "expected a non-empty source tensor of a known type, found " +
                   (src ? sizes_text(*src) + " of type '" + type(op, 1) + "'" : std::string("no sizes"));
      return std::nullopt;
    }
    const int64_t bytes = *numel * size;
    return Decoded{"memory", "copy", dt->first, format_shape({{"bytes", bytes}}),
                   memory_work("copy", static_cast<double>(bytes))};
  }

  const std::string& path_;
  const std::string& list_name_;
};

// The CPU-op nesting on each thread, and which op launched each kernel (rule in the header).
class OpIndex {
 public:
  explicit OpIndex(const std::vector<TraceEvent>& ev) : ev_(ev), parent_(ev.size(), -1) {
    std::map<std::string, std::vector<size_t>> threads;
    for (size_t i = 0; i < ev.size(); ++i) {
      if (ev[i].cat == EventCat::kCpuOp) {
        threads[ev[i].thread].push_back(i);
        if (ev[i].external_id) by_ext_[*ev[i].external_id].push_back(i);
      } else if (ev[i].cat == EventCat::kLaunch && ev[i].correlation) {
        launch_.emplace(*ev[i].correlation, i);
      }
    }
    for (auto& [thread, ops] : threads) {
      // Parents before children: by start, the longer first, then file order.
      std::sort(ops.begin(), ops.end(), [&](size_t x, size_t y) {
        return std::tie(ev[x].ts_ns, ev[y].dur_ns, x) < std::tie(ev[y].ts_ns, ev[x].dur_ns, y);
      });
      std::vector<size_t> open;
      for (size_t i : ops) {
        while (!open.empty() && !(holds(open.back(), ev[i].ts_ns) && end(i) <= end(open.back()))) open.pop_back();
        parent_[i] = open.empty() ? -1 : static_cast<long>(open.back());
        open.push_back(i);
      }
      by_thread_[thread] = std::move(ops);
    }
  }

  long parent(size_t op) const { return parent_[op]; }

  long launching_op(const TraceEvent& k) const {
    const TraceEvent* launch = nullptr;
    if (k.correlation) {
      if (auto it = launch_.find(*k.correlation); it != launch_.end()) launch = &ev_[it->second];
    }
    if (k.external_id) {
      if (long o = by_external_id(*k.external_id, launch); o >= 0) return o;
    }
    if (!launch) return -1;
    if (launch->external_id) {
      if (long o = by_external_id(*launch->external_id, launch); o >= 0) return o;
    }
    return innermost_at(launch->thread, launch->ts_ns);
  }

 private:
  int64_t end(size_t i) const { return ev_[i].ts_ns + ev_[i].dur_ns; }
  bool holds(size_t op, int64_t t) const { return ev_[op].ts_ns <= t && t <= end(op); }

  long by_external_id(int64_t id, const TraceEvent* launch) const {
    auto it = by_ext_.find(id);
    if (it == by_ext_.end()) return -1;
    long best = -1;
    for (size_t o : it->second) {
      if (launch && !(ev_[o].thread == launch->thread && holds(o, launch->ts_ns))) continue;
      const auto b = static_cast<size_t>(best);
      if (best < 0 || ev_[o].dur_ns < ev_[b].dur_ns || (ev_[o].dur_ns == ev_[b].dur_ns && ev_[o].ts_ns >= ev_[b].ts_ns)) {
        best = static_cast<long>(o);
      }
    }
    return best;
  }

  long innermost_at(const std::string& thread, int64_t t) const {
    auto it = by_thread_.find(thread);
    if (it == by_thread_.end()) return -1;
    const std::vector<size_t>& ops = it->second;
    auto after = std::upper_bound(ops.begin(), ops.end(), t, [&](int64_t v, size_t o) { return v < ev_[o].ts_ns; });
    if (after == ops.begin()) return -1;
    long o = static_cast<long>(*std::prev(after));
    while (o >= 0 && !holds(static_cast<size_t>(o), t)) o = parent_[static_cast<size_t>(o)];
    return o;
  }

  const std::vector<TraceEvent>& ev_;
  std::vector<long> parent_;
  std::unordered_map<int64_t, std::vector<size_t>> by_ext_;
  std::unordered_map<int64_t, size_t> launch_;
  std::map<std::string, std::vector<size_t>> by_thread_;
};

struct Group {
  Work work;
  std::vector<double> times;
  std::map<std::string, double> by_kernel;  // seconds per kernel name
  bool single = true;                       // every instance one kernel, one geometry
  std::string grid, block;
};
using GroupKey = std::tuple<std::string, std::string, std::string, std::string, std::string, std::string>;

store::DeviceRecord device_record(const TraceEvents& te, const std::vector<size_t>& kernels, const std::string& path,
                                  std::vector<std::string>& warnings) {
  std::map<int64_t, size_t> used;
  for (size_t k : kernels) ++used[te.events[k].device.value_or(0)];
  int64_t dev = used.begin()->first;
  for (const auto& [id, n] : used) {
    if (n > used[dev]) dev = id;
  }
  store::DeviceRecord d;
  if (te.devices.empty()) {
    d.name = "unknown GPU (from " + std::filesystem::path(path).filename().string() + ")";
    d.uuid = "torch-trace:" + d.name;
    return d;
  }
  auto props = [&](int64_t id) -> const torch_trace::DeviceProps* {
    for (const auto& p : te.devices) {
      if (p.id == id) return &p;
    }
    return nullptr;
  };
  const torch_trace::DeviceProps* p = props(dev);
  if (!p) {
    p = &te.devices.front();
    warnings.push_back("no deviceProperties entry for device " + std::to_string(dev) + "; recorded as \"" + p->name +
                       "\" (entry " + std::to_string(p->id) + ")");
  }
  if (used.size() > 1) {
    std::string ids;
    for (const auto& [id, n] : used) {
      const torch_trace::DeviceProps* other = props(id);
      if (other && other->name != p->name) {
        throw InputError(path, "expected the kernels to run on one kind of GPU, found device " + std::to_string(dev) +
                                   " (\"" + p->name + "\") and device " + std::to_string(id) + " (\"" + other->name +
                                   "\"); import one device's trace at a time");
      }
      if (!ids.empty()) ids += ", ";
      ids += std::to_string(id);
    }
    warnings.push_back("kernels ran on devices " + ids + "; all are recorded for \"" + p->name + "\"");
  }
  d.name = p->name.empty() ? "unknown GPU (from " + std::filesystem::path(path).filename().string() + ")" : p->name;
  d.uuid = p->uuid.empty() ? "torch-trace:" + d.name : p->uuid;
  d.sm_count = p->sm_count;
  d.memory_bytes = p->memory_bytes;
  if (p->cc_major && p->cc_minor) d.compute_capability = std::to_string(*p->cc_major) + "." + std::to_string(*p->cc_minor);
  return d;
}

TorchTraceImport import_trace(const std::string& path) {
  const TraceEvents te = torch_trace::read_trace_events(path);
  const std::vector<TraceEvent>& ev = te.events;
  TorchTraceImport out;

  std::vector<size_t> kernels;
  size_t cpu_ops = 0;
  for (size_t i = 0; i < ev.size(); ++i) {
    if (ev[i].cat == EventCat::kKernel) kernels.push_back(i);
    if (ev[i].cat == EventCat::kCpuOp) ++cpu_ops;
  }
  if (kernels.empty()) {
    throw InputError(path, "expected GPU kernel events (cat \"kernel\") in the trace, found none (" +
                               std::to_string(cpu_ops) + " CPU ops); was the profiler run with ProfilerActivity.CUDA?");
  }
  std::stable_sort(kernels.begin(), kernels.end(), [&](size_t a, size_t b) { return ev[a].ts_ns < ev[b].ts_ns; });
  out.kernels = kernels.size();
  out.device = device_record(te, kernels, path, out.warnings);

  // Each kernel to its owner op's instance, or alone.
  const OpIndex index(ev);
  std::map<size_t, std::vector<size_t>> instances;  // owner op → its kernels
  std::vector<size_t> order;                        // owners by first kernel
  std::vector<size_t> plain;
  std::set<size_t> launching;
  for (size_t k : kernels) {
    const long op = index.launching_op(ev[k]);
    if (op < 0) {
      ++out.unmatched_kernels;
      plain.push_back(k);
      continue;
    }
    launching.insert(static_cast<size_t>(op));
    long innermost = -1, outermost_composite = -1;
    for (long o = op; o >= 0; o = index.parent(static_cast<size_t>(o))) {
      const Family f = family_of(ev[static_cast<size_t>(o)].name);
      if (composite(f)) outermost_composite = o;
      if (f != Family::kNone && !composite(f) && innermost < 0) innermost = o;
    }
    const long owner = outermost_composite >= 0 ? outermost_composite : innermost;
    if (owner < 0) {
      plain.push_back(k);
      continue;
    }
    auto& ks = instances[static_cast<size_t>(owner)];
    if (ks.empty()) order.push_back(static_cast<size_t>(owner));
    ks.push_back(k);
  }
  out.ops = launching.size();

  OpDecoder decoder(path, te.list_name);
  std::map<GroupKey, Group> groups;
  std::set<std::string> unusable;  // one warning per op name and reason
  size_t no_dims = 0, zero = 0;
  for (size_t owner : order) {
    const std::vector<size_t>& ks = instances[owner];
    Unusable why;
    const auto d = decoder.decode(ev[owner], family_of(ev[owner].name), why);
    if (!d) {
      if (why.no_dims) {
        ++no_dims;
      } else if (unusable.insert(ev[owner].name + ": " + why.reason).second) {
        out.warnings.push_back(ev[owner].name + ": " + why.reason + "; its kernels are recorded as plain kernels");
      }
      plain.insert(plain.end(), ks.begin(), ks.end());
      continue;
    }
    double total_ns = 0;  // a double: a hand-edited trace could overflow an int64 sum
    for (size_t k : ks) total_ns += static_cast<double>(ev[k].dur_ns);
    if (total_ns <= 0) {
      ++zero;
      continue;
    }
    Group& g = groups[{d->kind, d->name, d->dtype, d->shape, "", ""}];
    const bool first = g.times.empty();
    g.work = d->work;
    g.times.push_back(total_ns * 1e-9);
    for (size_t k : ks) g.by_kernel[ev[k].name] += static_cast<double>(ev[k].dur_ns) * 1e-9;
    const TraceEvent& k0 = ev[ks.front()];
    g.single = g.single && ks.size() == 1 && (first || (k0.grid == g.grid && k0.block == g.block));
    if (first) {
      g.grid = k0.grid;
      g.block = k0.block;
    }
  }
  for (size_t k : plain) {
    if (ev[k].dur_ns <= 0) {
      ++zero;
      continue;
    }
    Group& g = groups[{"kernel", ev[k].name, "", "", ev[k].grid, ev[k].block}];
    g.times.push_back(static_cast<double>(ev[k].dur_ns) * 1e-9);
  }

  for (auto& [key, g] : groups) {
    const auto& [kind, name, dtype, shape, grid, block] = key;
    std::string label = name;
    if (label.empty()) {  // attention: the kernel that took most of the time; ties: the first name
      double best = -1;
      for (const auto& [n, s] : g.by_kernel) {
        if (s > best) {
          best = s;
          label = n;
        }
      }
    }
    store::MeasurementRecord m = summarise(kind, label, dtype, shape, g.work, std::move(g.times));
    if (kind == "kernel") {
      m.grid = grid;
      m.block = block;
    } else if (g.single) {
      m.grid = g.grid;
      m.block = g.block;
    }
    out.measurements.push_back(std::move(m));
  }
  std::sort(out.measurements.begin(), out.measurements.end(), [](const auto& a, const auto& b) {
    return std::tie(a.kind, a.name, a.dtype, a.shape, a.grid, a.block) <
           std::tie(b.kind, b.name, b.dtype, b.shape, b.grid, b.block);
  });

  if (out.unmatched_kernels > 0) {
    out.warnings.push_back(std::to_string(out.unmatched_kernels) + " of " + std::to_string(out.kernels) +
                           " kernels had no launching CPU op (no matching External id or launch call); they are "
                           "recorded as plain kernels");
  }
  if (no_dims > 0) {
    out.warnings.push_back(std::to_string(no_dims) +
                           " recognised op(s) had no \"Input Dims\" (was the profiler run with record_shapes=True?); "
                           "their kernels are recorded as plain kernels");
  }
  if (decoder.causal_unknown > 0) {
    out.warnings.push_back(std::to_string(decoder.causal_unknown) +
                           " attention op(s) without is_causal in \"Concrete Inputs\" were taken as not causal");
  }
  if (decoder.tf32_note) {
    out.warnings.push_back("fp32 GEMMs are recorded as fp32: a trace does not say whether TF32 was allowed");
  }
  if (zero > 0) {
    out.warnings.push_back(std::to_string(zero) + " kernel(s) or op instance(s) of zero duration were left out");
  }
  if (te.copies > 0) {
    out.warnings.push_back(std::to_string(te.copies) + " memcpy/memset event(s) were left out (only kernels are timed)");
  }
  return out;
}

}  // namespace

TorchTraceImport import_torch_trace(const std::string& path) {
  try {
    return import_trace(path);
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw InputError(path, "expected a trace that fits in memory, found one that does not");
  } catch (const std::exception& e) {
    // Anything else is a case the checks above missed; it still names the file.
    throw InputError(path, std::string("could not import the trace: ") + e.what());
  }
}

}  // namespace fathom::calib
