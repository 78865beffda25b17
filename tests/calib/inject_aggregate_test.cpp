#include "calib/inject_aggregate.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace fathom::calib {
namespace {

// Times are integer nanoseconds scaled by 1e-9 and summed a few at a time: only the last bits
// of a double can differ from the hand-computed value.
constexpr double kRel = 1e-12;

InjectedKernel kernel(std::string name, uint64_t start, uint64_t end, uint64_t launch = 0,
                      std::array<int32_t, 3> grid = {1, 1, 1}, std::array<int32_t, 3> block = {1, 1, 1}) {
  InjectedKernel k;
  k.name = std::move(name);
  k.start_ns = start;
  k.end_ns = end;
  k.launch_ns = launch;
  for (int i = 0; i < 3; ++i) {
    k.grid[i] = grid[static_cast<size_t>(i)];
    k.block[i] = block[static_cast<size_t>(i)];
  }
  return k;
}

InjectedRange range(std::string name, uint64_t start, uint64_t end) { return {std::move(name), start, end}; }

const store::MeasurementRecord* find(const InjectionSummary& s, const std::string& name, const std::string& grid) {
  for (const auto& m : s.measurements) {
    if (m.name == name && m.grid == grid) return &m;
  }
  return nullptr;
}

const store::MeasurementRecord* find_nvtx(const InjectionSummary& s, const std::string& name) {
  for (const auto& m : s.measurements) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

TEST(InjectAggregate, EmptyInputGivesNoMeasurementsAndNoWarnings) {
  const InjectionSummary s = aggregate_injection({}, {});
  EXPECT_TRUE(s.measurements.empty());
  EXPECT_TRUE(s.warnings.empty());
}

TEST(InjectAggregate, RangesWithoutKernelsGiveNoMeasurements) {
  const InjectionSummary s =
      aggregate_injection({}, {range("fathom:gemm:bf16:m=64,n=64,k=64", 0, 100), range("step", 0, 1000)});
  EXPECT_TRUE(s.measurements.empty());
  EXPECT_TRUE(s.warnings.empty());
}

TEST(InjectAggregate, GroupsPlainKernelsByNameGridAndBlock) {
  const InjectionSummary s = aggregate_injection(
      {
          kernel("k1", 0, 10, 0, {4, 1, 1}, {128, 1, 1}),
          kernel("k1", 100, 130, 0, {4, 1, 1}, {128, 1, 1}),
          kernel("k1", 200, 220, 0, {4, 1, 1}, {128, 1, 1}),
          kernel("k1", 300, 340, 0, {8, 1, 1}, {128, 1, 1}),
          kernel("k1", 400, 460, 0, {8, 1, 1}, {128, 1, 1}),
          kernel("k2", 500, 505, 0, {4, 1, 1}, {128, 1, 1}),
      },
      {});
  ASSERT_EQ(s.measurements.size(), 3u);
  EXPECT_TRUE(s.warnings.empty());

  const auto* small = find(s, "k1", "4,1,1");
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(small->kind, "kernel");
  EXPECT_EQ(small->block, "128,1,1");
  EXPECT_EQ(small->nvtx, "");
  EXPECT_EQ(small->repeats, 3);
  EXPECT_NEAR(small->time_s, 20e-9, 20e-9 * kRel);  // median of 10, 30, 20 ns
  EXPECT_NEAR(*small->min_s, 10e-9, 10e-9 * kRel);
  EXPECT_NEAR(*small->max_s, 30e-9, 30e-9 * kRel);
  EXPECT_EQ(small->flops, 0);
  EXPECT_EQ(small->bytes, 0);

  const auto* large = find(s, "k1", "8,1,1");
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(large->repeats, 2);
  EXPECT_NEAR(large->time_s, 50e-9, 50e-9 * kRel);  // even count: mean of 40 and 60 ns

  const auto* other = find(s, "k2", "4,1,1");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->repeats, 1);
}

TEST(InjectAggregate, InnermostRangeIsTheShortestThatContainsTheKernel) {
  const InjectionSummary s = aggregate_injection(
      {
          kernel("in_attn", 1300, 1400),
          kernel("in_layer", 1600, 1700),
          kernel("straddles_attn_end", 1400, 1600),
          kernel("in_step", 3000, 3100),
          kernel("outside", 20000, 20100),
      },
      {range("step", 0, 10000), range("layer", 1000, 2000), range("attn", 1200, 1500)});
  ASSERT_EQ(s.measurements.size(), 5u);
  EXPECT_EQ(find_nvtx(s, "in_attn")->nvtx, "attn");
  EXPECT_EQ(find_nvtx(s, "in_layer")->nvtx, "layer");
  EXPECT_EQ(find_nvtx(s, "straddles_attn_end")->nvtx, "layer");
  EXPECT_EQ(find_nvtx(s, "in_step")->nvtx, "step");
  EXPECT_EQ(find_nvtx(s, "outside")->nvtx, "");
}

TEST(InjectAggregate, OverlappingRangesGiveTheKernelToTheShorterOne) {
  // Start/end ranges need not nest (two threads, or nvtxRangeStart/End).
  const InjectionSummary s = aggregate_injection({kernel("k", 60, 90)}, {range("a", 0, 100), range("b", 50, 300)});
  ASSERT_EQ(s.measurements.size(), 1u);
  EXPECT_EQ(s.measurements[0].nvtx, "a");
}

TEST(InjectAggregate, LaunchTimePlacesAnAsynchronousKernelInTheRangeThatLaunchedIt) {
  // The kernel runs at 500..600 ns, after the host closed "forward" at 200 ns.
  const InjectionSummary with_launch = aggregate_injection({kernel("k", 500, 600, 150)}, {range("forward", 100, 200)});
  ASSERT_EQ(with_launch.measurements.size(), 1u);
  EXPECT_EQ(with_launch.measurements[0].nvtx, "forward");

  const InjectionSummary without = aggregate_injection({kernel("k", 500, 600)}, {range("forward", 100, 200)});
  ASSERT_EQ(without.measurements.size(), 1u);
  EXPECT_EQ(without.measurements[0].nvtx, "");
}

TEST(InjectAggregate, GemmLabelSumsTheKernelsOfEachInstanceAndTakesTheMedian) {
  // Three instances, each a main kernel plus a split-K reduction: 100+10, 110+10, 120+30 ns.
  // A framework range ("aten::mm") inside the first instance does not take its kernel away.
  const std::string label = "fathom:gemm:bf16:n=4096,m=4096,k=4096";
  const InjectionSummary s = aggregate_injection(
      {
          kernel("gemm_main", 1000, 1100),
          kernel("splitk_reduce", 1200, 1210),
          kernel("gemm_main", 11000, 11110),
          kernel("splitk_reduce", 11200, 11210),
          kernel("gemm_main", 21000, 21120),
          kernel("splitk_reduce", 21200, 21230),
      },
      {range(label, 0, 5000), range("aten::mm", 900, 1150), range(label, 10000, 15000), range(label, 20000, 25000)});
  ASSERT_EQ(s.measurements.size(), 1u);
  EXPECT_TRUE(s.warnings.empty());
  const auto& m = s.measurements[0];
  EXPECT_EQ(m.kind, "gemm");
  EXPECT_EQ(m.name, "gemm_main");  // no NAME in the label: the kernel with most of the time
  EXPECT_EQ(m.dtype, "bf16");
  EXPECT_EQ(m.shape, "m=4096,n=4096,k=4096");
  EXPECT_EQ(m.nvtx, label);
  EXPECT_EQ(m.repeats, 3);
  EXPECT_NEAR(m.time_s, 120e-9, 120e-9 * kRel);  // median of 110, 120, 150 ns
  EXPECT_NEAR(*m.min_s, 110e-9, 110e-9 * kRel);
  EXPECT_NEAR(*m.max_s, 150e-9, 150e-9 * kRel);
  // 2·m·n·k, and A (m×k) + B (k×n) + D (m×n), all bf16 (2 bytes): 3 · 4096² · 2.
  EXPECT_DOUBLE_EQ(m.flops, 137438953472.0);
  EXPECT_DOUBLE_EQ(m.bytes, 100663296.0);
  EXPECT_EQ(m.grid, "");  // two kernels per instance: no single launch geometry
}

TEST(InjectAggregate, AttentionLabelKeepsItsNameAndTheGeometryOfASingleKernel) {
  const std::string label = "fathom:attention/flash_fwd:bf16:batch=1,heads=32,kv_heads=8,q=1024,kv=1024,d=128,causal=0";
  const InjectionSummary s =
      aggregate_injection({kernel("flash_kernel<128>", 100, 300, 0, {16, 32, 1}, {128, 1, 1}),
                           kernel("flash_kernel<128>", 1100, 1400, 0, {16, 32, 1}, {128, 1, 1})},
                          {range(label, 0, 500), range(label, 1000, 1500)});
  ASSERT_EQ(s.measurements.size(), 1u);
  const auto& m = s.measurements[0];
  EXPECT_EQ(m.kind, "attention");
  EXPECT_EQ(m.name, "flash_fwd");
  EXPECT_EQ(m.grid, "16,32,1");
  EXPECT_EQ(m.block, "128,1,1");
  EXPECT_NEAR(m.time_s, 250e-9, 250e-9 * kRel);
  // 4·batch·heads·q·kv·d, and Q, O (heads·q·d) plus K, V (kv_heads·kv·d) in bf16.
  EXPECT_DOUBLE_EQ(m.flops, 4.0 * 32 * 1024 * 1024 * 128);
  EXPECT_DOUBLE_EQ(m.bytes, 2.0 * 128 * (2 * 32 * 1024 + 2 * 8 * 1024));
}

TEST(InjectAggregate, MemoryLabelsNameTheKernelAndCountTheBufferBytes) {
  const InjectionSummary s = aggregate_injection(
      {kernel("copy_kernel", 10, 20), kernel("triad_kernel", 110, 130)},
      {range("fathom:memory/copy::bytes=1048576", 0, 50), range("fathom:memory/triad:fp32:bytes=1048576", 100, 150)});
  ASSERT_EQ(s.measurements.size(), 2u);
  const auto* copy = find_nvtx(s, "copy");
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->kind, "memory");
  EXPECT_EQ(copy->dtype, "");
  EXPECT_EQ(copy->shape, "bytes=1048576");
  EXPECT_DOUBLE_EQ(copy->bytes, 2.0 * 1048576);  // read once, written once
  EXPECT_DOUBLE_EQ(copy->flops, 0);
  const auto* triad = find_nvtx(s, "triad");
  ASSERT_NE(triad, nullptr);
  EXPECT_DOUBLE_EQ(triad->bytes, 3.0 * 1048576);        // two reads, one write
  EXPECT_DOUBLE_EQ(triad->flops, 2.0 * 1048576 / 4);    // a multiply-add per fp32 element
}

TEST(InjectAggregate, MalformedLabelsFallBackToPlainKernelsWithOneWarningPerLabel) {
  const std::vector<std::string> bad = {
      "fathom:gemm:bf16:m=4096,n=4096",                                     // no k
      "fathom:warp:bf16:x=1",                                               // unknown kind
      "fathom:gemm:bf16",                                                   // three fields
      "fathom:gemm:bf16:m=1,n=1,k=1,bacth=2",                               // misspelt key
      "fathom:memory::bytes=10",                                            // memory without NAME
      "fathom:reduction/silu_mul:bf16:rows=1,cols=1",                       // elementwise under reduction
      "fathom:attention:fp8:batch=1,heads=1,kv_heads=1,q=1,kv=1,d=1,causal=0",  // 1-byte dtype
      "fathom:gemm:bf16:m=0,n=1,k=1",                                       // empty size
  };
  std::vector<InjectedKernel> kernels;
  std::vector<InjectedRange> ranges;
  uint64_t t = 0;
  for (const auto& label : bad) {
    for (int instance = 0; instance < 2; ++instance, t += 1000) {
      ranges.push_back(range(label, t, t + 500));
      kernels.push_back(kernel("k", t + 100, t + 200));
    }
  }
  InjectionSummary s;
  ASSERT_NO_THROW(s = aggregate_injection(kernels, ranges));
  ASSERT_EQ(s.warnings.size(), bad.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_NE(s.warnings[i].find("'" + bad[i] + "'"), std::string::npos) << s.warnings[i];
    EXPECT_NE(s.warnings[i].find("expected"), std::string::npos) << s.warnings[i];
  }
  ASSERT_EQ(s.measurements.size(), bad.size());
  for (const auto& m : s.measurements) {
    EXPECT_EQ(m.kind, "kernel");
    EXPECT_EQ(m.repeats, 2);
    EXPECT_EQ(m.flops, 0);
  }
}

TEST(InjectAggregate, KernelsEndingBeforeTheyStartAreLeftOutWithAWarning) {
  const InjectionSummary s = aggregate_injection({kernel("good", 0, 10), kernel("bad", 50, 40)}, {});
  ASSERT_EQ(s.measurements.size(), 1u);
  EXPECT_EQ(s.measurements[0].name, "good");
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("1 kernel record"), std::string::npos);
}

TEST(ParseOpLabel, CanonicalisesTheShapeAndNamesWhatIsWrong) {
  const OpLabel g = parse_op_label("fathom:gemm/proj:fp8:k=7168,batch=2,m=16,n=2048");
  EXPECT_EQ(g.kind, "gemm");
  EXPECT_EQ(g.name, "proj");
  EXPECT_EQ(g.shape, "m=16,n=2048,k=7168,batch=2");
  const OpLabel r = parse_op_label("fathom:elementwise/silu_mul:bf16:cols=8192,rows=4096");
  EXPECT_EQ(r.shape, "rows=4096,cols=8192");
  try {
    parse_op_label("fathom:gemm:bf17:m=1,n=1,k=1");
    FAIL() << "an unknown dtype must be refused";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("fathom:gemm:bf17:m=1,n=1,k=1"), std::string::npos) << what;
    EXPECT_NE(what.find("bf17"), std::string::npos) << what;
  }
}

// scripts/calib_probe.py, the PyTorch program of a GPU session, labels its NVTX ranges itself; a
// label this parser refused would turn that session's measurements into plain kernels. The
// script's --list prints its labels without PyTorch, so they are checked here, as printed.
TEST(ProbeScript, EveryLabelParsesAndCoversPrefillAndDecode) {
  if (std::system("python3 -c 'import sys' > /dev/null 2>&1") != 0) GTEST_SKIP() << "python3 not found";
  FILE* p = ::popen("python3 " FATHOM_SCRIPTS_DIR "/calib_probe.py --list", "r");
  ASSERT_NE(p, nullptr);
  std::vector<std::string> labels;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) {
    std::string line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    labels.push_back(line);
  }
  ASSERT_EQ(::pclose(p), 0) << "calib_probe.py --list failed";
  ASSERT_GE(labels.size(), 100u);
  std::map<std::string, int> count;  // kind and dtype
  std::set<std::string> unique;
  int decode_gqa = 0, prefill_causal = 0, decode_gemm = 0;
  for (const std::string& l : labels) {
    EXPECT_TRUE(unique.insert(l).second) << "repeated label " << l;
    OpLabel op;
    ASSERT_NO_THROW(op = parse_op_label(l)) << l;
    EXPECT_GT(op.work.flops, 0) << l;
    EXPECT_GT(op.work.bytes, 0) << l;
    ++count[op.kind + " " + op.dtype];
    if (op.kind == "attention") {
      const AttentionShape a = attention_from_shape(op.shape);
      // PyTorch aligns is_causal to the top left; the probe uses it only where q == kv, where
      // both alignments agree, and runs decode (q = 1) without a mask.
      if (a.causal) {
        EXPECT_EQ(a.q_len, a.kv_len) << l;
        ++prefill_causal;
      } else {
        EXPECT_EQ(a.q_len, 1) << l;
        if (a.kv_heads < a.heads) ++decode_gqa;
      }
    } else if (op.kind == "gemm" && gemm_from_shape(op.shape).m <= 128) {
      ++decode_gemm;
    }
  }
  EXPECT_GE(count["gemm bf16"], 40);
  EXPECT_GE(count["gemm fp8"], 30);
  EXPECT_GE(count["attention bf16"], 20);
  EXPECT_GE(prefill_causal, 5);
  EXPECT_GE(decode_gqa, 10);
  EXPECT_GE(decode_gemm, 20);
}

}  // namespace
}  // namespace fathom::calib
