#include "calib/torch_trace.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "calib/measure.h"
#include "calib/torch_trace_events.h"
#include "common/error.h"
#include "store/calib_store.h"
#include "store/temp_db.h"

namespace fathom::calib {
namespace {

const std::string kSmall = FATHOM_TEST_DATA_DIR "/calib/torch_trace_small.json";
const std::string kBad = FATHOM_TEST_DATA_DIR "/calib/bad/";

// Durations are whole nanoseconds scaled by 1e-9 and summed a few at a time: only the last bits
// of a double can differ from the hand-computed value.
constexpr double kRel = 1e-12;

void expect_rel(double actual, double expected) { EXPECT_NEAR(actual, expected, kRel * std::abs(expected)) << expected; }

const store::MeasurementRecord* find(const TorchTraceImport& r, const std::string& kind, const std::string& shape,
                                     const std::string& name = "") {
  for (const auto& m : r.measurements) {
    if (m.kind == kind && m.shape == shape && (name.empty() || m.name == name)) return &m;
  }
  return nullptr;
}

size_t count_kind(const TorchTraceImport& r, const std::string& kind) {
  size_t n = 0;
  for (const auto& m : r.measurements) n += m.kind == kind;
  return n;
}

bool has_warning(const TorchTraceImport& r, const std::string& part) {
  for (const auto& w : r.warnings) {
    if (w.find(part) != std::string::npos) return true;
  }
  return false;
}

// The message of the InputError that importing `path` throws ("" when none is thrown).
std::string import_error(const std::string& path) {
  try {
    import_torch_trace(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// ---- small traces written by the tests, in Kineto's field layout (times in microseconds) ----

// Files written by the tests, removed when the test program exits.
struct TempFiles {
  std::vector<std::filesystem::path> paths;
  ~TempFiles() {
    std::error_code ec;
    for (const auto& p : paths) std::filesystem::remove(p, ec);
  }
};

std::string write_trace(const std::string& tag, const std::string& text) {
  static TempFiles files;
  const auto p = std::filesystem::temp_directory_path() /
                 ("fathom_torch_" + tag + "_" + std::to_string(::getpid()) + ".json");
  std::ofstream(p) << text;
  files.paths.push_back(p);
  return p.string();
}

std::string trace(const std::vector<std::string>& events, const std::string& devices =
                                                               R"([{"id": 0, "name": "NVIDIA A100-SXM4-80GB", )"
                                                               R"("totalGlobalMem": 85094825984, "computeMajor": 8, )"
                                                               R"("computeMinor": 0, "numSms": 108}])") {
  std::string t = "{\n  \"schemaVersion\": 1,\n";
  if (!devices.empty()) t += "  \"deviceProperties\": " + devices + ",\n";
  t += "  \"traceEvents\": [\n";
  for (size_t i = 0; i < events.size(); ++i) t += (i ? ",\n    " : "    ") + events[i];
  return t + "\n  ]\n}\n";
}

std::string cpu(const std::string& name, int ext, long ts, long dur, const std::string& dims, const std::string& types,
                const std::string& concrete = "", int tid = 1) {
  std::string args = R"("External id": )" + std::to_string(ext);
  if (!dims.empty()) args += R"(, "Input Dims": )" + dims + R"(, "Input type": )" + types;
  if (!concrete.empty()) args += R"(, "Concrete Inputs": )" + concrete;
  return R"({"ph": "X", "cat": "cpu_op", "name": ")" + name + R"(", "pid": 1, "tid": )" + std::to_string(tid) +
         R"(, "ts": )" + std::to_string(ts) + R"(, "dur": )" + std::to_string(dur) + R"(, "args": {)" + args + "}}";
}

// A launch call; ext < 0 leaves out its External id.
std::string launch(int ext, int corr, long ts, int tid = 1) {
  std::string args = R"("cbid": 211, "correlation": )" + std::to_string(corr);
  if (ext >= 0) args = R"("External id": )" + std::to_string(ext) + ", " + args;
  return R"({"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 1, "tid": )" + std::to_string(tid) +
         R"(, "ts": )" + std::to_string(ts) + R"(, "dur": 4, "args": {)" + args + "}}";
}

std::string kernel(const std::string& name, int ext, int corr, long ts, const std::string& dur, int device = 0) {
  std::string args = R"("device": )" + std::to_string(device) + R"(, "stream": 7, "correlation": )" +
                     std::to_string(corr) + R"(, "grid": [4, 2, 1], "block": [256, 1, 1])";
  if (ext >= 0) args = R"("External id": )" + std::to_string(ext) + ", " + args;
  return R"({"ph": "X", "cat": "kernel", "name": ")" + name + R"(", "pid": 0, "tid": 7, "ts": )" +
         std::to_string(ts) + R"(, "dur": )" + dur + R"(, "args": {)" + args + "}}";
}

// One recognised op launching one kernel of 10 µs.
TorchTraceImport import_one_op(const std::string& tag, const std::string& name, const std::string& dims,
                               const std::string& types, const std::string& concrete = "") {
  return import_torch_trace(write_trace(
      tag, trace({cpu(name, 1, 100, 50, dims, types, concrete), launch(1, 11, 120), kernel("k", 1, 11, 200, "10")})));
}

const std::string kBf16x2 = R"(["c10::BFloat16", "c10::BFloat16"])";

// ---- the fixture: three steps of a Llama-style block (tests/data/calib/make_torch_trace.py) ----

TEST(TorchTrace, ReadsTheDeviceFromDeviceProperties) {
  const TorchTraceImport r = import_torch_trace(kSmall);
  EXPECT_EQ(r.device.name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(r.device.uuid, "torch-trace:NVIDIA H100 80GB HBM3");
  EXPECT_EQ(r.device.sm_count, 132);
  EXPECT_EQ(r.device.memory_bytes, 84929347584);
  EXPECT_EQ(r.device.compute_capability, "9.0");
}

TEST(TorchTrace, CountsKernelsLaunchingOpsAndUnmatchedKernels) {
  const TorchTraceImport r = import_torch_trace(kSmall);
  // Per step 25 kernels: 2 × 6 rms_norm children, 4 GEMMs (one split-K: 2 kernels), flash,
  // 2 adds, silu, mul, copy, argmax and NCCL; 23 launching ops (all but NCCL's, split-K's once).
  EXPECT_EQ(r.kernels, 75u);
  EXPECT_EQ(r.ops, 69u);
  EXPECT_EQ(r.unmatched_kernels, 3u);
  EXPECT_EQ(r.measurements.size(), 12u);
  EXPECT_TRUE(has_warning(r, "3 of 75 kernels had no launching CPU op"));
  EXPECT_TRUE(has_warning(r, "3 memcpy/memset event(s) were left out"));
  for (const auto& m : r.measurements) EXPECT_EQ(m.run_id, 0);
}

TEST(TorchTrace, LinearLayersBecomeGemmsOfTheInnerMatmul) {
  const TorchTraceImport r = import_torch_trace(kSmall);
  // qkv: linear([2,256,2048], [3072,2048]) → mm([512,2048], [2048,3072]); 41.216, 40.832, 41.024 µs.
  const auto* qkv = find(r, "gemm", "m=512,n=3072,k=2048");
  ASSERT_NE(qkv, nullptr);
  EXPECT_EQ(qkv->name, "aten::mm");
  EXPECT_EQ(qkv->dtype, "bf16");
  EXPECT_EQ(qkv->repeats, 3);
  expect_rel(qkv->time_s, 41.024e-6);
  expect_rel(*qkv->min_s, 40.832e-6);
  expect_rel(*qkv->max_s, 41.216e-6);
  EXPECT_EQ(qkv->flops, 2.0 * 512 * 3072 * 2048);
  EXPECT_EQ(qkv->bytes, gemm_work({512, 3072, 2048, 1}, "bf16").bytes);
  EXPECT_EQ(qkv->grid, "24,4,1");
  EXPECT_EQ(qkv->block, "128,1,1");

  // gate_up with bias: addmm(bias[11264], [512,2048], [2048,11264]).
  const auto* up = find(r, "gemm", "m=512,n=11264,k=2048");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->name, "aten::addmm");
  EXPECT_EQ(up->flops, gemm_work({512, 11264, 2048, 1}, "bf16").flops);
  expect_rel(up->time_s, 139.904e-6);

  const auto* o = find(r, "gemm", "m=512,n=2048,k=2048");
  ASSERT_NE(o, nullptr);
  expect_rel(o->time_s, 27.968e-6);
  EXPECT_EQ(count_kind(r, "gemm"), 4u);
}

TEST(TorchTrace, SplitKGemmIsOneInstanceTimedByItsTwoKernels) {
  const TorchTraceImport r = import_torch_trace(kSmall);
  // down_proj: GEMM 30.080/30.336/29.952 µs + reduction 2.944/3.008/2.976 µs per step.
  const auto* down = find(r, "gemm", "m=512,n=2048,k=5632");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->repeats, 3);
  expect_rel(down->time_s, 33.024e-6);
  expect_rel(*down->min_s, 32.928e-6);
  expect_rel(*down->max_s, 33.344e-6);
  EXPECT_EQ(down->flops, gemm_work({512, 2048, 5632, 1}, "bf16").flops);
  EXPECT_EQ(down->grid, "");  // two kernels of different geometry: none is the op's
}

TEST(TorchTrace, AttentionTakesShapeAndCausalFromTheOutermostSdpaOp) {
  const TorchTraceImport r = import_torch_trace(kSmall);
  const auto* a = find(r, "attention", "batch=2,heads=16,kv_heads=4,q=256,kv=256,d=128,causal=1");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name.rfind("void pytorch_flash::flash_fwd_kernel<", 0), 0u) << a->name;
  EXPECT_EQ(a->dtype, "bf16");
  EXPECT_EQ(a->repeats, 3);
  expect_rel(a->time_s, 52.736e-6);
  // Causal closed form 4·b·h·d·q(q+1)/2 = 4·2·16·128·32896.
  EXPECT_EQ(a->flops, 538968064.0);
  EXPECT_EQ(a->bytes, attention_work({2, 16, 4, 256, 256, 128, true}).bytes);
  EXPECT_EQ(count_kind(r, "attention"), 1u);
}

TEST(TorchTrace, RmsNormOwnsTheKernelsOfItsChildOps) {
  const TorchTraceImport r = import_torch_trace(kSmall);
  // Six calls of pow, mean, add_, rsqrt, mul, mul_ summing to 18.8, 18.9, …, 19.3 µs.
  const auto* n = find(r, "reduction", "rows=512,cols=2048", "rmsnorm");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->dtype, "bf16");
  EXPECT_EQ(n->repeats, 6);
  expect_rel(n->time_s, 19.05e-6);
  expect_rel(*n->min_s, 18.8e-6);
  expect_rel(*n->max_s, 19.3e-6);
  EXPECT_EQ(n->flops, rowwise_work("rmsnorm", 512, 2048).flops);
  // Its add_ and mul children are not measured as elementwise ops of their own.
  EXPECT_EQ(count_kind(r, "reduction"), 1u);
  EXPECT_EQ(count_kind(r, "elementwise"), 3u);
}

TEST(TorchTrace, ElementwiseOpsFollowFathomsConventions) {
  const TorchTraceImport r = import_torch_trace(kSmall);
  const auto* silu = find(r, "elementwise", "rows=512,cols=5632", "silu_mul");
  ASSERT_NE(silu, nullptr);
  EXPECT_EQ(silu->flops, 5.0 * 512 * 5632);
  EXPECT_EQ(silu->bytes, 3.0 * 2 * 512 * 5632);
  expect_rel(silu->time_s, 9.856e-6);
  const auto* mul = find(r, "elementwise", "rows=512,cols=5632", "add");
  ASSERT_NE(mul, nullptr);
  expect_rel(mul->time_s, 10.016e-6);
  // Two residual adds per step: an even count's median is the mean of the middle two.
  const auto* add = find(r, "elementwise", "rows=512,cols=2048", "add");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->repeats, 6);
  expect_rel(add->time_s, (6.112e-6 + 6.144e-6) / 2);
  EXPECT_EQ(add->flops, rowwise_work("add", 512, 2048).flops);
}

TEST(TorchTrace, CopyIsAMemoryMeasurementOfTheSourceBytes) {
  const TorchTraceImport r = import_torch_trace(kSmall);
  const auto* c = find(r, "memory", "bytes=2097152", "copy");  // 2·256·2048 bf16 elements
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->dtype, "bf16");
  EXPECT_EQ(c->bytes, 2.0 * 2097152);
  EXPECT_EQ(c->flops, 0);
  expect_rel(c->time_s, 4.320e-6);
}

TEST(TorchTrace, UnrecognisedAndUnmatchedKernelsArePlainKernels) {
  const TorchTraceImport r = import_torch_trace(kSmall);
  EXPECT_EQ(count_kind(r, "kernel"), 2u);
  const store::MeasurementRecord* argmax = nullptr;
  const store::MeasurementRecord* nccl = nullptr;
  for (const auto& m : r.measurements) {
    if (m.kind != "kernel") continue;
    if (m.name.find("ArgMaxOps") != std::string::npos) argmax = &m;
    if (m.name.rfind("ncclDevKernel_AllReduce", 0) == 0) nccl = &m;
  }
  ASSERT_NE(argmax, nullptr);
  EXPECT_EQ(argmax->grid, "1,512,1");
  EXPECT_EQ(argmax->block, "32,16,1");
  EXPECT_EQ(argmax->repeats, 3);
  EXPECT_EQ(argmax->flops, 0);
  EXPECT_EQ(argmax->bytes, 0);
  EXPECT_EQ(argmax->shape, "");
  expect_rel(argmax->time_s, 12.544e-6);
  ASSERT_NE(nccl, nullptr);
  expect_rel(nccl->time_s, 20.480e-6);
}

TEST(TorchTrace, MeasurementsAreSortedAndAcceptedByTheStore) {
  TorchTraceImport r = import_torch_trace(kSmall);
  for (size_t i = 1; i < r.measurements.size(); ++i) {
    EXPECT_LE(r.measurements[i - 1].kind + r.measurements[i - 1].name, r.measurements[i].kind + r.measurements[i].name);
  }
  const std::string path = store::temp_db("torch_trace");
  {
    auto db = store::CalibStore::open(path);
    const int64_t device = db.add_device(r.device);
    store::CalibRunRecord run;
    run.device_id = device;
    run.kind = "torch-trace";
    run.source = kSmall;
    const int64_t id = db.add_run(run);
    for (auto& m : r.measurements) m.run_id = id;
    EXPECT_EQ(db.add_measurements(r.measurements), 12u);
    EXPECT_EQ(db.measurements("gemm").size(), 4u);
  }
  std::filesystem::remove(path);
}

// ---- matching rules ----

TEST(TorchTrace, SharedExternalIdGoesToTheInnermostOpHoldingTheLaunch) {
  // aten::linear and aten::mm share External id 5 (nesting in some PyTorch versions).
  const std::string linear = cpu("aten::linear", 5, 100, 100, R"([[64, 32], [16, 32], []])",
                                 R"(["c10::BFloat16", "c10::BFloat16", ""])");
  const std::string mm = cpu("aten::mm", 5, 110, 50, R"([[64, 32], [32, 16]])", kBf16x2);
  for (bool with_launch : {true, false}) {
    std::vector<std::string> ev = {linear, mm, kernel("gemm", 5, 7, 300, "20")};
    if (with_launch) ev.push_back(launch(5, 7, 120));
    const TorchTraceImport r = import_torch_trace(write_trace("shared", trace(ev)));
    ASSERT_EQ(r.measurements.size(), 1u);
    EXPECT_EQ(r.measurements[0].name, "aten::mm") << with_launch;
    EXPECT_EQ(r.measurements[0].shape, "m=64,n=16,k=32");
    EXPECT_EQ(r.ops, 1u);
  }
}

TEST(TorchTrace, KernelsOwnExternalIdIsNotTrustedWhenNoOpHoldsItsLaunch) {
  // Kineto before 2024 could write a kernel's correlation as its External id; here 900 is also
  // an unrelated later op's id. The launch call (correlation 900, External id 3) decides.
  const TorchTraceImport r = import_torch_trace(write_trace(
      "stale", trace({cpu("aten::mm", 3, 100, 50, R"([[64, 32], [32, 16]])", kBf16x2), launch(3, 900, 120),
                      cpu("aten::argmax", 900, 400, 20, R"([[64], [], []])", R"(["float", "Scalar", "Scalar"])"),
                      kernel("gemm", 900, 900, 300, "20")})));
  ASSERT_EQ(r.measurements.size(), 1u);
  EXPECT_EQ(r.measurements[0].kind, "gemm");
  EXPECT_EQ(r.unmatched_kernels, 0u);
}

TEST(TorchTrace, LaunchWithoutExternalIdFindsTheOpAroundIt) {
  const TorchTraceImport r = import_torch_trace(write_trace(
      "around", trace({cpu("aten::mm", 3, 100, 50, R"([[64, 32], [32, 16]])", kBf16x2), launch(-1, 40, 120),
                       kernel("gemm", -1, 40, 300, "20"), launch(-1, 41, 400), kernel("lonely", -1, 41, 500, "5")})));
  ASSERT_EQ(r.measurements.size(), 2u);
  EXPECT_EQ(r.measurements[0].kind, "gemm");
  EXPECT_EQ(r.measurements[1].name, "lonely");
  EXPECT_EQ(r.unmatched_kernels, 1u);
}

TEST(TorchTrace, CastsInsideALinearStayCopiesUnderAutocast) {
  // autocast: linear(fp32) → to → _to_copy → copy_ (cast), then addmm in bf16.
  const TorchTraceImport r = import_torch_trace(write_trace(
      "autocast",
      trace({cpu("aten::linear", 1, 100, 200, R"([[64, 32], [16, 32], [16]])", R"(["float", "float", "float"])"),
             cpu("aten::to", 2, 110, 40, R"([[64, 32], [], [], [], []])", R"(["float", "", "", "", ""])"),
             cpu("aten::_to_copy", 3, 112, 35, R"([[64, 32], [], [], []])", R"(["float", "", "", ""])"),
             cpu("aten::copy_", 4, 115, 30, R"([[64, 32], [64, 32], []])", R"(["c10::BFloat16", "float", "Scalar"])"),
             launch(4, 21, 120), kernel("cast", 4, 21, 300, "3"),
             cpu("aten::addmm", 5, 200, 60, R"([[16], [64, 32], [32, 16], [], []])",
                 R"(["c10::BFloat16", "c10::BFloat16", "c10::BFloat16", "Scalar", "Scalar"])"),
             launch(5, 22, 210), kernel("gemm", 5, 22, 310, "9")})));
  ASSERT_EQ(r.measurements.size(), 2u);
  const auto* g = find(r, "gemm", "m=64,n=16,k=32", "aten::addmm");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->dtype, "bf16");
  expect_rel(g->time_s, 9e-6);
  const auto* c = find(r, "memory", "bytes=8192", "copy");  // 64·32 fp32 source elements
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->dtype, "fp32");
}

// ---- shapes of each op ----

TEST(TorchTrace, MatmulFollowsTorchMatmulRules) {
  struct Case {
    std::string dims, shape;
  } cases[] = {
      {R"([[4, 128, 64], [64, 32]])", "m=512,n=32,k=64"},                  // folded into one GEMM
      {R"([[8, 2, 128, 64], [2, 64, 32]])", "m=128,n=32,k=64,batch=16"},   // broadcast batch
      {R"([[64], [64, 32]])", "m=1,n=32,k=64"},                            // vector · matrix
      {R"([[128, 64], [3, 64, 32]])", "m=128,n=32,k=64,batch=3"},          // matrix · batch
  };
  for (const auto& c : cases) {
    const TorchTraceImport r = import_one_op("matmul", "aten::matmul", c.dims, kBf16x2);
    ASSERT_EQ(r.measurements.size(), 1u) << c.dims;
    EXPECT_EQ(r.measurements[0].shape, c.shape) << c.dims;
    EXPECT_EQ(r.measurements[0].flops, gemm_work(gemm_from_shape(c.shape), "bf16").flops);
  }
}

TEST(TorchTrace, BatchedAndLinearGemmShapes) {
  auto shape = [](const std::string& op, const std::string& dims, const std::string& types) {
    const TorchTraceImport r = import_one_op("gemms", op, dims, types);
    return r.measurements.size() == 1 ? r.measurements[0].shape : "";
  };
  EXPECT_EQ(shape("aten::bmm", R"([[8, 128, 64], [8, 64, 32]])", kBf16x2), "m=128,n=32,k=64,batch=8");
  EXPECT_EQ(shape("aten::baddbmm", R"([[8, 128, 32], [8, 128, 64], [8, 64, 32], [], []])",
                  R"(["c10::Half", "c10::Half", "c10::Half", "Scalar", "Scalar"])"),
            "m=128,n=32,k=64,batch=8");
  EXPECT_EQ(shape("aten::linear", R"([[2, 3, 64], [32, 64], [32]])", R"(["c10::Half", "c10::Half", "c10::Half"])"),
            "m=6,n=32,k=64");
  EXPECT_EQ(shape("aten::mm", R"([[4096, 4096], [4096, 4096]])", kBf16x2), "m=4096,n=4096,k=4096");
}

TEST(TorchTrace, ScaledMmIsAnFp8Gemm) {
  const TorchTraceImport r =
      import_one_op("fp8", "aten::_scaled_mm", R"([[256, 512], [512, 1024], [], [], [], [], [], []])",
                    R"(["c10::Float8_e4m3fn", "c10::Float8_e4m3fn", "float", "float", "", "", "Scalar", "Scalar"])");
  ASSERT_EQ(r.measurements.size(), 1u);
  EXPECT_EQ(r.measurements[0].dtype, "fp8");
  EXPECT_EQ(r.measurements[0].bytes, gemm_work({256, 1024, 512, 1}, "fp8").bytes);
}

TEST(TorchTrace, Fp32GemmsAreRecordedAsFp32WithANoteOnTf32) {
  const TorchTraceImport r = import_one_op("fp32", "aten::mm", R"([[64, 32], [32, 16]])", R"(["float", "float"])");
  ASSERT_EQ(r.measurements.size(), 1u);
  EXPECT_EQ(r.measurements[0].dtype, "fp32");
  EXPECT_TRUE(has_warning(r, "TF32"));
}

TEST(TorchTrace, FlashForwardReadsSequenceMajorTensors) {
  const TorchTraceImport r = import_one_op(
      "flash", "aten::_flash_attention_forward", R"([[1, 1024, 32, 128], [1, 1024, 8, 128], [1, 1024, 8, 128], [], [],
        [], [], [], [], [], []])",
      R"(["c10::BFloat16", "c10::BFloat16", "c10::BFloat16", "", "", "Scalar", "Scalar", "Scalar", "Scalar", "Scalar", ""])",
      R"(["", "", "", "", "", "1024", "1024", "0.", "True", "False", ""])");
  ASSERT_EQ(r.measurements.size(), 1u);
  EXPECT_EQ(r.measurements[0].shape, "batch=1,heads=32,kv_heads=8,q=1024,kv=1024,d=128,causal=1");
  EXPECT_EQ(r.measurements[0].name, "k");
}

TEST(TorchTrace, AttentionWithoutConcreteInputsIsNotCausalWithOneWarning) {
  const std::string dims = R"([[4, 8, 1, 64], [4, 8, 512, 64], [4, 8, 512, 64], [], [], [], [], []])";
  const std::string types = R"(["c10::Half", "c10::Half", "c10::Half", "", "Scalar", "Scalar", "", "Scalar"])";
  const TorchTraceImport r = import_torch_trace(write_trace(
      "nocausal", trace({cpu("aten::scaled_dot_product_attention", 1, 100, 50, dims, types), launch(1, 11, 120),
                         kernel("fmha", 1, 11, 200, "10"),
                         cpu("aten::scaled_dot_product_attention", 2, 300, 50, dims, types), launch(2, 12, 320),
                         kernel("fmha", 2, 12, 400, "12")})));
  ASSERT_EQ(r.measurements.size(), 1u);
  EXPECT_EQ(r.measurements[0].shape, "batch=4,heads=8,kv_heads=8,q=1,kv=512,d=64,causal=0");
  EXPECT_EQ(r.measurements[0].dtype, "fp16");
  EXPECT_EQ(r.measurements[0].repeats, 2);
  size_t n = 0;
  for (const auto& w : r.warnings) n += w.find("is_causal") != std::string::npos;
  EXPECT_EQ(n, 1u);
}

TEST(TorchTrace, Fp32NormalisationIsRecordedAsPlainKernels) {
  // Fathom counts reduction bytes in 2-byte elements; an fp32 layer norm does not fit.
  const TorchTraceImport r = import_one_op("ln32", "aten::layer_norm", R"([[512, 1024], [], [1024], [1024], [], []])",
                                           R"(["float", "ScalarList", "float", "float", "Scalar", "Scalar"])");
  ASSERT_EQ(r.measurements.size(), 1u);
  EXPECT_EQ(r.measurements[0].kind, "kernel");
  EXPECT_TRUE(has_warning(r, "aten::layer_norm: input type 'float'"));
}

TEST(TorchTrace, WithoutRecordShapesOpsBecomePlainKernels) {
  const TorchTraceImport r = import_torch_trace(write_trace(
      "noshapes", trace({cpu("aten::mm", 1, 100, 50, "", ""), launch(1, 11, 120), kernel("gemm", 1, 11, 200, "10")})));
  ASSERT_EQ(r.measurements.size(), 1u);
  EXPECT_EQ(r.measurements[0].kind, "kernel");
  EXPECT_TRUE(has_warning(r, "record_shapes=True"));
}

TEST(TorchTrace, ZeroDurationKernelsAreLeftOut) {
  const TorchTraceImport r = import_torch_trace(
      write_trace("zero", trace({kernel("a", -1, 1, 100, "0"), kernel("a", -1, 2, 200, "2.5")})));
  ASSERT_EQ(r.measurements.size(), 1u);
  EXPECT_EQ(r.measurements[0].repeats, 1);
  expect_rel(r.measurements[0].time_s, 2.5e-6);
  EXPECT_TRUE(has_warning(r, "zero duration"));
}

TEST(TorchTrace, TraceWithoutDevicePropertiesNamesTheFile) {
  const std::string path = write_trace("nodev", trace({kernel("a", -1, 1, 100, "2")}, ""));
  const TorchTraceImport r = import_torch_trace(path);
  const std::string file = std::filesystem::path(path).filename().string();
  EXPECT_EQ(r.device.name, "unknown GPU (from " + file + ")");
  EXPECT_EQ(r.device.uuid, "torch-trace:unknown GPU (from " + file + ")");
}

TEST(TorchTrace, ABareArrayOfEventsIsATrace) {
  const std::string path =
      write_trace("bare", "[" + cpu("aten::mm", 1, 100, 50, R"([[64, 32], [32, 16]])", kBf16x2) + ",\n" +
                              launch(1, 11, 120) + ",\n" + kernel("gemm", 1, 11, 200, "10") + "]\n");
  const TorchTraceImport r = import_torch_trace(path);
  ASSERT_EQ(r.measurements.size(), 1u);
  EXPECT_EQ(r.measurements[0].shape, "m=64,n=16,k=32");
  EXPECT_EQ(r.device.name.rfind("unknown GPU", 0), 0u);
}

TEST(TorchTrace, MicrosecondTextKeepsNanoseconds) {
  using torch_trace::micros_text_to_ns;
  // 1.727e15 µs with three decimals has more digits than a double holds.
  EXPECT_EQ(micros_text_to_ns("1727000000100002.457"), 1727000000100002457);
  EXPECT_EQ(micros_text_to_ns("12.3456"), 12346);  // rounded half up past the nanosecond
  EXPECT_EQ(micros_text_to_ns("1.5e3"), 1500000);
  EXPECT_EQ(micros_text_to_ns("-0.25"), -250);
  EXPECT_EQ(micros_text_to_ns("4e-4"), 0);
  EXPECT_EQ(micros_text_to_ns("1e20"), std::nullopt);
  EXPECT_EQ(micros_text_to_ns("1."), std::nullopt);
}

// ---- errors ----

TEST(TorchTrace, BadFixturesNameTheFileAndWhatIsWrong) {
  struct Case {
    std::string file, part;
  } cases[] = {
      {"torch_trace_syntax.json", "torch_trace_syntax.json:9: expected valid JSON, found a syntax error at column 3"},
      {"torch_trace_dur_string.json", "traceEvents[2] (\"sm90_xmma_gemm"},
      {"torch_trace_dur_string.json", "expected \"dur\" to be a number (microseconds), found string \"27.968\""},
      {"torch_trace_dims_not_list.json", "traceEvents[0] (\"aten::mm\"): expected \"args.Input Dims\" to be a list"},
      {"torch_trace_no_kernels.json", "expected GPU kernel events (cat \"kernel\")"},
      {"torch_trace_no_kernels.json", "was the profiler run with ProfilerActivity.CUDA?"},
      {"torch_trace_empty.json", "found none (0 CPU ops)"},
      {"torch_trace_not_object.json", "expected a Chrome trace: a JSON object with \"traceEvents\" or an array of "
                                      "events, found string"},
  };
  for (const auto& c : cases) {
    const std::string msg = import_error(kBad + c.file);
    EXPECT_NE(msg.find(kBad + c.file), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.part), std::string::npos) << c.file << ": " << msg;
  }
}

TEST(TorchTrace, FieldsOfTheWrongTypeNameTheEventAndField) {
  const std::string mm = cpu("aten::mm", 1, 100, 50, R"([[64, 32], [32, 16]])", kBf16x2);
  const std::string bad_grid = R"({"ph": "X", "cat": "kernel", "name": "g", "pid": 0, "tid": 7, "ts": 200, "dur": 3,
      "args": {"External id": 1, "correlation": 11, "grid": "4,2,1"}})";
  EXPECT_NE(import_error(write_trace("grid", trace({mm, bad_grid}))).find("traceEvents[1] (\"g\"): expected \"args.grid\""),
            std::string::npos);
  const std::string bad_ext = R"({"ph": "X", "cat": "kernel", "name": "g", "pid": 0, "tid": 7, "ts": 200, "dur": 3,
      "args": {"External id": "1"}})";
  EXPECT_NE(import_error(write_trace("ext", trace({mm, bad_ext}))).find("expected \"args.External id\" to be an integer"),
            std::string::npos);
  const std::string neg = cpu("aten::mm", 1, 100, 50, R"([[64, -32], [32, 16]])", kBf16x2);
  EXPECT_NE(import_error(write_trace("neg", trace({neg, kernel("g", 1, 11, 200, "3")})))
                .find("expected \"args.Input Dims[0]\" to be a list of sizes (integers >= 0)"),
            std::string::npos);
  EXPECT_NE(import_error(write_trace("event", trace({"42", kernel("g", 1, 11, 200, "3")})))
                .find("traceEvents[0]: expected an event object, found number 42"),
            std::string::npos);
  EXPECT_NE(import_error(write_trace("negdur", trace({kernel("g", 1, 11, 200, "-3")}))).find("a duration >= 0"),
            std::string::npos);
  EXPECT_NE(import_error(write_trace("devs", trace({kernel("g", 1, 11, 200, "3")}, R"({"id": 0})")))
                .find("expected \"deviceProperties\" to be an array"),
            std::string::npos);
}

TEST(TorchTrace, ContradictoryShapesAreInputErrors) {
  const std::string msg = import_error(write_trace(
      "inner", trace({cpu("aten::mm", 1, 100, 50, R"([[64, 32], [33, 16]])", kBf16x2), launch(1, 11, 120),
                      kernel("gemm", 1, 11, 200, "10")})));
  EXPECT_NE(msg.find("traceEvents[0] (\"aten::mm\"): expected matrices [64,32] and [33,16] to agree in their inner "
                     "dimension, found 32 and 33"),
            std::string::npos)
      << msg;
}

TEST(TorchTrace, KernelsOnDifferentKindsOfGpuAreRefused) {
  const std::string devices = R"([{"id": 0, "name": "NVIDIA H100 80GB HBM3"}, {"id": 1, "name": "NVIDIA A100-SXM4-40GB"}])";
  const std::string msg = import_error(
      write_trace("mixed", trace({kernel("a", -1, 1, 100, "2", 0), kernel("a", -1, 2, 200, "2", 1),
                                  kernel("a", -1, 3, 300, "2", 0)}, devices)));
  EXPECT_NE(msg.find("expected the kernels to run on one kind of GPU, found device 0 (\"NVIDIA H100 80GB HBM3\") and "
                     "device 1 (\"NVIDIA A100-SXM4-40GB\")"),
            std::string::npos)
      << msg;
}

TEST(TorchTrace, UnreadableFilesAreInputErrors) {
  EXPECT_NE(import_error(kBad + "no_such_trace.json").find("no_such_trace.json: expected a readable trace file"),
            std::string::npos);
  const std::string gz = write_trace("gz", std::string("\x1f\x8b\x08\x00rest", 8));
  EXPECT_NE(import_error(gz).find("gzip-compressed"), std::string::npos);
  EXPECT_NE(import_error(write_trace("blank", "  \n")).find("found an empty file"), std::string::npos);
  EXPECT_NE(import_error(write_trace("noevents", R"({"schemaVersion": 1})")).find("without one"), std::string::npos);
  EXPECT_NE(import_error(write_trace("trailing", trace({kernel("a", -1, 1, 100, "2")}) + "x")).find("syntax error"),
            std::string::npos);
}

}  // namespace
}  // namespace fathom::calib
