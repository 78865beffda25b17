#include "calib/inject_aggregate.h"

#include <algorithm>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <stdexcept>
#include <tuple>

namespace fathom::calib {
namespace {

constexpr const char* kLabelPrefix = "fathom:";
constexpr const char* kSyntax = "fathom:KIND[/NAME]:DTYPE:SHAPE";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t next = s.find(sep, pos);
    out.push_back(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) return out;
    pos = next + 1;
  }
}

std::string join_keys(const ShapeMap& s) {
  std::string out;
  for (const auto& [k, v] : s) out += (out.empty() ? "" : ",") + k;
  return out.empty() ? "none" : out;
}

// A typo such as "bacth=4" must not pass silently with the default batch of 1.
void expect_keys(const ShapeMap& s, const std::vector<std::string>& required, const std::vector<std::string>& optional,
                 const std::string& expected_text) {
  bool ok = true;
  for (const auto& k : required) ok = ok && s.count(k) == 1;
  for (const auto& [k, v] : s) {
    ok = ok && (std::find(required.begin(), required.end(), k) != required.end() ||
                std::find(optional.begin(), optional.end(), k) != optional.end());
  }
  if (!ok) throw std::invalid_argument("expected shape keys " + expected_text + ", found " + join_keys(s));
}

void expect_two_byte_dtype(const std::string& kind, const std::string& dtype) {
  if (dtype.empty() || dtype_size(dtype) != 2) {
    throw std::invalid_argument("expected a 2-byte dtype (bf16 or fp16) for " + kind +
                                ", whose bytes are counted in bf16, found '" + dtype + "'");
  }
}

int64_t positive(const ShapeMap& s, const std::string& key) {
  const int64_t v = shape_get(s, key);
  if (v <= 0) throw std::invalid_argument("expected " + key + " > 0, found " + std::to_string(v));
  return v;
}

OpLabel parse_fields(const std::string& label) {
  const std::vector<std::string> f = split(label, ':');
  if (f.size() != 4 || f[0] != "fathom") {
    throw std::invalid_argument(std::string("expected ") + kSyntax + " (4 fields separated by ':'), found " +
                                std::to_string(f.size()) + " field(s)");
  }
  OpLabel op;
  const size_t slash = f[1].find('/');
  op.kind = f[1].substr(0, slash);
  op.name = slash == std::string::npos ? "" : f[1].substr(slash + 1);
  op.dtype = f[2];
  if (slash != std::string::npos && op.name.empty()) {
    throw std::invalid_argument("expected a NAME after '" + op.kind + "/', found nothing");
  }
  const ShapeMap s = parse_shape(f[3]);

  if (op.kind == "gemm") {
    if (op.dtype.empty()) throw std::invalid_argument("expected a dtype for gemm, found none");
    dtype_size(op.dtype);  // throws for an unknown dtype
    expect_keys(s, {"m", "n", "k"}, {"batch"}, "m,n,k[,batch]");
    const GemmShape g = gemm_from_shape(f[3]);
    op.shape = gemm_shape_text(g);
    op.work = gemm_work(g, op.dtype);
  } else if (op.kind == "memory") {
    if (op.name.empty()) throw std::invalid_argument("expected memory/copy|read|write|triad, found no NAME");
    if (!op.dtype.empty()) dtype_size(op.dtype);
    expect_keys(s, {"bytes"}, {}, "bytes");
    const int64_t bytes = positive(s, "bytes");
    op.work = memory_work(op.name, static_cast<double>(bytes));  // throws for an unknown name
    op.shape = format_shape({{"bytes", bytes}});
  } else if (op.kind == "elementwise" || op.kind == "reduction") {
    if (op.name.empty()) {
      throw std::invalid_argument("expected " + op.kind + "/NAME (silu_mul, add, rmsnorm or softmax), found no NAME");
    }
    if (const std::string k = rowwise_kind(op.name); k != op.kind) {
      throw std::invalid_argument("expected '" + op.name + "' under kind " + k + ", found it under " + op.kind);
    }
    expect_two_byte_dtype(op.kind, op.dtype);
    expect_keys(s, {"rows", "cols"}, {}, "rows,cols");
    const int64_t rows = positive(s, "rows"), cols = positive(s, "cols");
    op.work = rowwise_work(op.name, rows, cols);
    op.shape = format_shape({{"rows", rows}, {"cols", cols}});
  } else if (op.kind == "attention") {
    expect_two_byte_dtype(op.kind, op.dtype);
    expect_keys(s, {"batch", "heads", "kv_heads", "q", "kv", "d", "causal"}, {}, "batch,heads,kv_heads,q,kv,d,causal");
    const AttentionShape a = attention_from_shape(f[3]);
    op.shape = attention_shape_text(a);
    op.work = attention_work(a);
  } else {
    throw std::invalid_argument("expected KIND gemm, memory, elementwise, reduction or attention, found '" +
                                op.kind + "'");
  }
  return op;
}

std::string geometry(const int32_t v[3]) {
  return std::to_string(v[0]) + "," + std::to_string(v[1]) + "," + std::to_string(v[2]);
}

// For each kernel, the index (into `ranges`) of the shortest range among `candidates` holding it
// (module header: launch time when known, else the device interval), or -1. A sweep over the
// kernels in anchor order keeps the ranges that opened before the anchor and have not closed
// before it, shortest first: O((kernels + ranges) log ranges) when ranges nest.
std::vector<long> innermost(const std::vector<InjectedKernel>& kernels, const std::vector<InjectedRange>& ranges,
                            std::vector<size_t> candidates) {
  auto lo = [&](const InjectedKernel& k) { return k.launch_ns != 0 ? k.launch_ns : k.start_ns; };
  auto hi = [&](const InjectedKernel& k) { return k.launch_ns != 0 ? k.launch_ns : k.end_ns; };

  std::vector<size_t> order(kernels.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lo(kernels[a]) < lo(kernels[b]); });
  std::sort(candidates.begin(), candidates.end(),
            [&](size_t a, size_t b) { return ranges[a].start_ns < ranges[b].start_ns; });

  // (length, later start first, index): among equally long ranges the later-opened one is inner.
  using Key = std::tuple<uint64_t, uint64_t, size_t>;
  auto key = [&](size_t r) {
    return Key{ranges[r].end_ns - ranges[r].start_ns, UINT64_MAX - ranges[r].start_ns, r};
  };
  std::set<Key> open;
  using Close = std::pair<uint64_t, size_t>;
  std::priority_queue<Close, std::vector<Close>, std::greater<>> closing;

  std::vector<long> out(kernels.size(), -1);
  size_t next = 0;
  for (size_t i : order) {
    const uint64_t a = lo(kernels[i]), b = hi(kernels[i]);
    for (; next < candidates.size() && ranges[candidates[next]].start_ns <= a; ++next) {
      open.insert(key(candidates[next]));
      closing.emplace(ranges[candidates[next]].end_ns, candidates[next]);
    }
    while (!closing.empty() && closing.top().first < a) {
      open.erase(key(closing.top().second));
      closing.pop();
    }
    for (const Key& k : open) {
      if (ranges[std::get<2>(k)].end_ns >= b) {
        out[i] = static_cast<long>(std::get<2>(k));
        break;
      }
    }
  }
  return out;
}

struct Instance {
  double total_s = 0;
  std::map<std::string, double> by_kernel;  // seconds per kernel name
  size_t kernels = 0;
  std::string grid, block;  // of the last kernel (used only when the instance has one)
};

}  // namespace

OpLabel parse_op_label(const std::string& label) {
  try {
    return parse_fields(label);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("NVTX label '" + label + "': " + e.what());
  }
}

InjectionSummary aggregate_injection(const std::vector<InjectedKernel>& kernels,
                                     const std::vector<InjectedRange>& ranges) {
  InjectionSummary out;

  std::map<std::string, std::optional<OpLabel>> labels;  // by range name, fathom: names only
  std::vector<size_t> all, labelled;
  size_t reversed_ranges = 0;
  for (size_t r = 0; r < ranges.size(); ++r) {
    if (ranges[r].end_ns < ranges[r].start_ns) {
      ++reversed_ranges;
      continue;
    }
    all.push_back(r);
    const std::string& name = ranges[r].name;
    if (name.rfind(kLabelPrefix, 0) != 0) continue;
    auto it = labels.find(name);
    if (it == labels.end()) {
      try {
        it = labels.emplace(name, parse_op_label(name)).first;
      } catch (const std::invalid_argument& e) {
        out.warnings.push_back(std::string(e.what()) + "; its kernels are recorded as plain kernels");
        it = labels.emplace(name, std::nullopt).first;
      }
    }
    if (it->second) labelled.push_back(r);
  }
  if (reversed_ranges > 0) {
    out.warnings.push_back(std::to_string(reversed_ranges) +
                           " NVTX range(s) ending before they start were left out (expected end >= start)");
  }

  const std::vector<long> inner_any = innermost(kernels, ranges, all);
  const std::vector<long> inner_op = innermost(kernels, ranges, labelled);

  std::map<size_t, Instance> instances;  // by range index
  using PlainKey = std::tuple<std::string, std::string, std::string, std::string>;  // name, grid, block, nvtx
  std::map<PlainKey, std::vector<double>> plain;
  size_t reversed_kernels = 0;
  for (size_t i = 0; i < kernels.size(); ++i) {
    const InjectedKernel& k = kernels[i];
    if (k.end_ns < k.start_ns) {
      ++reversed_kernels;
      continue;
    }
    const double seconds = static_cast<double>(k.end_ns - k.start_ns) * 1e-9;
    if (inner_op[i] >= 0) {
      Instance& inst = instances[static_cast<size_t>(inner_op[i])];
      inst.total_s += seconds;
      inst.by_kernel[k.name] += seconds;
      ++inst.kernels;
      inst.grid = geometry(k.grid);
      inst.block = geometry(k.block);
    } else {
      const std::string nvtx = inner_any[i] >= 0 ? ranges[static_cast<size_t>(inner_any[i])].name : "";
      plain[{k.name, geometry(k.grid), geometry(k.block), nvtx}].push_back(seconds);
    }
  }
  if (reversed_kernels > 0) {
    out.warnings.push_back(std::to_string(reversed_kernels) +
                           " kernel record(s) ending before they start were left out (expected end >= start)");
  }

  std::map<std::string, std::vector<const Instance*>> by_label;
  for (const auto& [r, inst] : instances) by_label[ranges[r].name].push_back(&inst);
  for (const auto& [label, insts] : by_label) {
    const OpLabel& op = *labels.at(label);
    std::vector<double> times;
    std::map<std::string, double> by_kernel;
    bool single = true;
    for (const Instance* inst : insts) {
      times.push_back(inst->total_s);
      for (const auto& [name, s] : inst->by_kernel) by_kernel[name] += s;
      single = single && inst->kernels == 1 && inst->grid == insts.front()->grid &&
               inst->block == insts.front()->block;
    }
    std::string name = op.name;
    if (name.empty()) {  // the kernel that took most of the time; ties: the first name in order
      double best = -1;
      for (const auto& [n, s] : by_kernel) {
        if (s > best) {
          best = s;
          name = n;
        }
      }
    }
    store::MeasurementRecord m = summarise(op.kind, name, op.dtype, op.shape, op.work, std::move(times));
    m.nvtx = label;
    if (single) {  // one kernel per instance, always the same launch: its geometry is the op's
      m.grid = insts.front()->grid;
      m.block = insts.front()->block;
    }
    out.measurements.push_back(std::move(m));
  }

  for (auto& [key, times] : plain) {
    const auto& [name, grid, block, nvtx] = key;
    store::MeasurementRecord m = summarise("kernel", name, "", "", Work{}, std::move(times));
    m.grid = grid;
    m.block = block;
    m.nvtx = nvtx;
    out.measurements.push_back(std::move(m));
  }
  return out;
}

}  // namespace fathom::calib
