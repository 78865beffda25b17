// Attention section: Fathom's own tiled kernel (attention_kernel.cu) over each plan.attention
// shape. The split-KV workspace is scratch that the kernel writes before it reads it, so it
// does not rotate.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "calib/cuda/bench.h"
#include "calib/cuda/reference.h"

namespace fathom::calib::cuda {

namespace {

constexpr const char* kName = "fathom_tiled_attention";

// Why the kernel cannot run `a`, or empty.
std::string unsupported(const AttentionShape& a) {
  if (a.batch <= 0 || a.heads <= 0 || a.kv_heads <= 0 || a.q_len <= 0 || a.kv_len <= 0)
    return "expected positive sizes";
  if (a.heads % a.kv_heads != 0) return "expected heads to be a multiple of kv_heads";
  if (a.causal && a.q_len > a.kv_len) return "expected q ≤ kv for a causal shape";
  if (a.head_dim > INT32_MAX || !attention_supports_head_dim(static_cast<int>(a.head_dim))) {
    return "head dim " + std::to_string(a.head_dim) + " is not one the kernel is built for (64, 128)";
  }
  const double rows = static_cast<double>(a.batch) * static_cast<double>(a.q_len) * static_cast<double>(a.heads);
  if (a.kv_len > INT32_MAX || a.batch * a.kv_heads > INT32_MAX || rows > INT32_MAX ||
      static_cast<double>(a.q_len) * static_cast<double>(a.heads / a.kv_heads) > (1 << 30)) {
    return "sizes beyond the kernel's 32-bit indexing";
  }
  // One block per 64 packed query rows (q × heads per KV head) in grid.y (launch_attention).
  if (std::ceil(static_cast<double>(a.q_len) * static_cast<double>(a.heads / a.kv_heads) / 64) > 65535) {
    return "more packed query rows than the kernel's grid holds (65535 blocks of 64)";
  }
  return "";
}

int splits_of(const AttentionShape& a, int sms) {
  return attention_splits(static_cast<int>(a.batch), static_cast<int>(a.heads), static_cast<int>(a.kv_heads),
                          static_cast<int>(a.q_len), static_cast<int>(a.kv_len), sms);
}

// The smallest shape (by FLOPs) of each path, causal or not × split-KV or not, is checked
// against the host: both masks, the grouped-query packing and the split merge.
std::vector<const AttentionShape*> checked_shapes(const std::vector<AttentionShape>& shapes, int sms) {
  const AttentionShape* best[4] = {nullptr, nullptr, nullptr, nullptr};
  for (const AttentionShape& a : shapes) {
    if (!unsupported(a).empty()) continue;
    const AttentionShape*& b = best[(a.causal ? 2 : 0) + (splits_of(a, sms) > 1 ? 1 : 0)];
    if (b == nullptr || attention_work(a).flops < attention_work(*b).flops) b = &a;
  }
  std::vector<const AttentionShape*> out;
  for (const AttentionShape* b : best) {
    if (b != nullptr) out.push_back(b);
  }
  return out;
}

size_t bf16_bytes(int64_t a, int64_t b, int64_t c, int64_t d) {
  return static_cast<size_t>(a) * static_cast<size_t>(b) * static_cast<size_t>(c) * static_cast<size_t>(d) * 2;
}

}  // namespace

void run_attention(Bench& bench) {
  const SuitePlan& plan = bench.plan();
  const cudaStream_t stream = bench.stream();
  const std::vector<const AttentionShape*> checked = checked_shapes(plan.attention, bench.device().sms);
  for (const AttentionShape& a : plan.attention) {
    const std::string shape = attention_shape_text(a);
    const std::string label = std::string("attention ") + kName + " " + shape;
    if (!bench.begin(label)) {
      bench.flush();
      return;
    }
    if (const std::string why = unsupported(a); !why.empty()) {
      bench.note(label + ": " + why + "; skipped");
      continue;
    }
    AttentionArgs args;
    args.batch = static_cast<int>(a.batch);
    args.heads = static_cast<int>(a.heads);
    args.kv_heads = static_cast<int>(a.kv_heads);
    args.q_len = static_cast<int>(a.q_len);
    args.kv_len = static_cast<int>(a.kv_len);
    args.head_dim = static_cast<int>(a.head_dim);
    args.causal = a.causal;
    args.splits = splits_of(a, bench.device().sms);
    const size_t q_bytes = bf16_bytes(a.batch, a.q_len, a.heads, a.head_dim);
    const size_t kv_bytes = bf16_bytes(a.batch, a.kv_len, a.kv_heads, a.head_dim);
    const std::vector<size_t> roles = {q_bytes, kv_bytes, kv_bytes, q_bytes};  // Q, K, V, O
    const int copies = bench.copies_for(RotatingBuffers::per_copy_bytes(roles));
    if (copies == 0) {
      bench.note(label + ": its buffers exceed 40% of the free device memory; skipped");
      continue;
    }
    const size_t ws_bytes = attention_workspace_bytes(args.batch, args.heads, args.q_len, args.head_dim, args.splits);
    const DeviceBuffer workspace =
        ws_bytes > 0 ? DeviceBuffer(ws_bytes, label + " split-KV workspace") : DeviceBuffer();
    args.partial = workspace.get();
    const RotatingBuffers bufs(roles, copies, label);
    for (size_t r = 0; r < 3; ++r) {
      bufs.fill(r, ElemType::kBf16, plan.seed, bench.next_buffer_id(), bench.grid_blocks(), stream);
    }
    const Bench::Launch launch = [&](int c) {
      AttentionArgs x = args;
      x.q = bufs.at(0, c);
      x.k = bufs.at(1, c);
      x.v = bufs.at(2, c);
      x.o = bufs.at(3, c);
      check_cuda(launch_attention(x, stream), label + " launch (" + std::to_string(x.splits) + " KV splits)");
    };
    Bench::Check check;
    if (std::find(checked.begin(), checked.end(), &a) != checked.end()) {
      check = [&](int c) {
        const size_t q_count = q_bytes / 2, kv_count = kv_bytes / 2;
        const std::vector<float> q = fetch(bufs.at(0, c), q_count, ElemType::kBf16);
        const std::vector<float> k = fetch(bufs.at(1, c), kv_count, ElemType::kBf16);
        const std::vector<float> v = fetch(bufs.at(2, c), kv_count, ElemType::kBf16);
        const std::vector<float> o = fetch(bufs.at(3, c), q_count, ElemType::kBf16);
        require_close(compare_rows(o, attention_reference(q, k, v, a), a.batch * a.q_len * a.heads, a.head_dim),
                      kCheckTolerance,
                      std::string(kName) + " " + shape + " (" + std::to_string(args.splits) + " KV splits)");
      };
    }
    Timing tm = bench.time(label, copies, launch, check);
    bench.record(summarise("attention", kName, "bf16", shape, attention_work(a), tm.times), tm);
  }
  bench.flush();
}

}  // namespace fathom::calib::cuda
