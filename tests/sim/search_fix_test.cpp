// The search a practitioner would trust (sim/train/search.h): --fix restricts the space and every
// listed layout satisfies it, an impossible fix gives an empty result with its reason, the memory
// headroom rejects what the plain evaluation accepts at over 90% of HBM, and the CSV names the
// framework assumed and the FLOPs behind MFU and HFU.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "catalog_fixture.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/version.h"
#include "sim/scenario.h"
#include "sim/train/search.h"

namespace fathom::train {
namespace {

std::string fix_error(const std::string& text) {
  try {
    parse_search_fix(text);
  } catch (const FlagError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(SearchFix, ParsesEveryKeyAndPrintsItBackInOneOrder) {
  const SearchFix f = parse_search_fix("recompute=selective,mb=2,zero=1,v=3,ep=2,cp=4,dp=16,pp=8,tp=4");
  EXPECT_EQ(f.tp, 4);
  EXPECT_EQ(f.pp, 8);
  EXPECT_EQ(f.dp, 16);
  EXPECT_EQ(f.cp, 4);
  EXPECT_EQ(f.ep, 2);
  EXPECT_EQ(f.virtual_stages, 3);
  EXPECT_EQ(f.microbatch, 2);
  EXPECT_EQ(f.zero, 1);
  EXPECT_EQ(f.recompute, model::Recompute::kSelective);
  EXPECT_EQ(to_string(f), "tp=4,pp=8,dp=16,cp=4,ep=2,v=3,mb=2,zero=1,recompute=selective");
  EXPECT_EQ(to_string(parse_search_fix(to_string(f))), to_string(f));
  EXPECT_TRUE(SearchFix{}.empty());
  EXPECT_EQ(to_string(SearchFix{}), "");
  const SearchFix z = parse_search_fix("zero=0");
  EXPECT_FALSE(z.empty());
  EXPECT_EQ(z.zero, 0);
}

TEST(SearchFix, BadTextIsOneLineNamingTheFlagWhatWasExpectedAndWhatWasFound) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tp=8,foo=2", "the key 'foo'"},       {"tp=0", "tp=0"},           {"tp=x", "tp='x'"},
      {"tp=8,tp=4", "tp twice"},             {"zero=4", "zero=4"},       {"recompute=some", "recompute='some'"},
      {"tp8", "'tp8' without '='"},          {"", "found nothing"},      {"tp=8,", "'' without '='"},
      {"mb=-1", "mb='-1'"},                  {"v=", "v=''"},             {"pp=9999999999", "pp='9999999999'"},
  };
  for (const auto& [text, found] : cases) {
    const std::string e = fix_error(text);
    EXPECT_EQ(e.rfind("--fix: expected key=value pairs", 0), 0u) << text << " -> " << e;
    EXPECT_NE(e.find(found), std::string::npos) << text << " -> " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << text;
  }
  try {
    parse_search_fix("tp=a", "Fixed values");
    ADD_FAILURE() << "accepted";
  } catch (const FlagError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("Fixed values: ", 0), 0u) << e.what();
  }
}

TEST(SearchHeadroom, ParsesAFractionBelowAHalf) {
  EXPECT_DOUBLE_EQ(parse_memory_headroom("0.1"), 0.1);
  EXPECT_DOUBLE_EQ(parse_memory_headroom("0"), 0.0);
  EXPECT_DOUBLE_EQ(parse_memory_headroom("0.499"), 0.499);
  for (const std::string bad : {"0.5", "1", "-0.1", "x", "0.1x", "", "nan", "inf"}) {
    try {
      parse_memory_headroom(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const FlagError& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind("--headroom: expected a fraction of HBM from 0 to below 0.5", 0), 0u) << m;
      EXPECT_NE(m.find("found '" + bad + "'"), std::string::npos) << m;
    }
  }
}

// GPT-3 175B on 1,024 A100-80GB of dgx-a100-selene, as in the catalog scenario.
struct Gpt3 {
  sim::Scenario s = sim::resolve_scenario(data_dir() + "/scenarios/gpt3-175b-train-a100.yaml", test::hardware(),
                                          test::models(), {})
                        .scenario;
  TrainModel model{s.model, s.gpu, s.cluster, s.precision, s.efficiency, s.collective_algo, s.usd_per_gpu_hour, s.profile};
  SearchOptions options() const {
    SearchOptions o;
    o.gpu_counts = {1024};
    return o;
  }
};

TEST(SearchFix, Gpt3On1024WithTp8Pp8ListsOnlyTp8Pp8Layouts) {
  const Gpt3 g;
  SearchOptions o = g.options();
  o.fix = parse_search_fix("tp=8,pp=8");
  o.top = 100000;
  const SearchResult r = search(g.model, *g.s.train, o);
  ASSERT_GT(r.top.size(), 10u);
  EXPECT_EQ(static_cast<int64_t>(r.top.size()), r.feasible);
  for (const TrainResult& t : r.top) {
    EXPECT_EQ(t.config.layout.tp, 8) << layout_label(t.config);
    EXPECT_EQ(t.config.layout.pp, 8) << layout_label(t.config);
    EXPECT_EQ(t.config.layout.dp * t.config.layout.cp, 16);
  }
  // The free search costs more configurations than the fixed one, and reaches other layouts.
  const SearchResult all = search(g.model, *g.s.train, g.options());
  EXPECT_GT(all.evaluated, 5 * r.evaluated);
}

// Llama-3.1-8B on 16 and 32 A100s: every feasible configuration fits in the table, so the fixed
// search can be compared with the free one filtered by the fix.
struct Small {
  hw::GpuSpec gpu = test::hardware().gpu("a100-sxm-80gb", "test");
  TrainModel model{*test::models().find("llama-3.1-8b"), gpu, hw::make_cluster(gpu, 4, 8), model::Precision{}};
  TrainConfig base;
  Small() {
    base.seq_len = 4096;
    base.global_batch = 256;
  }
  SearchOptions options() const {
    SearchOptions o;
    o.gpu_counts = {16, 32};
    o.top = 100000;
    o.max_virtual_stages = 2;
    return o;
  }
};

TEST(SearchFix, IsTheFreeSearchFilteredByTheFixInTheSameOrder) {
  const Small f;
  const SearchResult all = search(f.model, f.base, f.options());
  ASSERT_EQ(static_cast<int64_t>(all.top.size()), all.feasible);  // nothing dropped from the table
  for (const std::string text : {"tp=2,pp=2", "dp=4", "cp=2,zero=3", "mb=2,v=2", "recompute=full,tp=1"}) {
    SearchOptions o = f.options();
    o.fix = parse_search_fix(text);
    const SearchResult fixed = search(f.model, f.base, o);
    std::vector<const TrainResult*> expected;
    for (const TrainResult& t : all.top) {
      if (o.fix.matches(t.config)) expected.push_back(&t);
    }
    ASSERT_FALSE(expected.empty()) << text;
    ASSERT_EQ(fixed.top.size(), expected.size()) << text;
    EXPECT_EQ(fixed.feasible, static_cast<int64_t>(expected.size())) << text;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(layout_label(fixed.top[i].config), layout_label(expected[i]->config)) << text << " row " << i;
      EXPECT_EQ(fixed.top[i].config.microbatch, expected[i]->config.microbatch) << text << " row " << i;
      EXPECT_EQ(fixed.top[i].config.zero, expected[i]->config.zero) << text << " row " << i;
      EXPECT_EQ(fixed.top[i].time.step, expected[i]->time.step) << text << " row " << i;
    }
  }
}

TEST(SearchFix, ZeroAndRecomputeOverrideWhatIsVaried) {
  const Small f;
  SearchOptions o = f.options();
  o.fix = parse_search_fix("zero=2,recompute=selective");  // selective is skipped when free (fused attention)
  const SearchResult r = search(f.model, f.base, o);
  ASSERT_FALSE(r.top.empty());
  for (const TrainResult& t : r.top) {
    EXPECT_EQ(t.config.zero, 2);
    EXPECT_EQ(t.config.recompute, model::Recompute::kSelective);
  }
  o.vary_zero = false;
  o.vary_recompute = false;
  const SearchResult same = search(f.model, f.base, o);  // the fix wins over vary_* = false too
  ASSERT_EQ(same.top.size(), r.top.size());
  for (const TrainResult& t : same.top) EXPECT_EQ(t.config.zero, 2);
}

TEST(SearchFix, AnImpossibleFixGivesNoLayoutAndSaysWhy) {
  const Gpt3 g;
  auto run = [&](const std::string& text) {
    SearchOptions o = g.options();
    o.fix = parse_search_fix(text);
    return search(g.model, *g.s.train, o);
  };
  const SearchResult tp3 = run("tp=3");
  EXPECT_TRUE(tp3.top.empty());
  EXPECT_EQ(tp3.evaluated, 0);
  ASSERT_EQ(tp3.rejected.count("fix"), 1u);
  EXPECT_NE(tp3.rejected.at("fix").example.find("tp=3 to divide the 1024 GPUs"), std::string::npos)
      << tp3.rejected.at("fix").example;

  const SearchResult dp3 = run("tp=8,dp=3");
  EXPECT_TRUE(dp3.top.empty());
  ASSERT_EQ(dp3.rejected.count("fix"), 1u);
  EXPECT_NE(dp3.rejected.at("fix").example.find("tp=8,dp=3"), std::string::npos) << dp3.rejected.at("fix").example;

  // 96 layers do not split into 8 × 5 chunks: check_config's reason, under its field.
  const SearchResult v5 = run("tp=8,pp=8,v=5");
  EXPECT_TRUE(v5.top.empty());
  EXPECT_GT(v5.rejected.count("parallel.virtual_stages"), 0u);

  // tp 64 divides the GPUs but not the 96 heads: the layout's own reason, under its field.
  const SearchResult tp64 = run("tp=64");
  EXPECT_TRUE(tp64.top.empty());
  EXPECT_GT(tp64.rejected.count("parallel.tp"), 0u);
  EXPECT_EQ(tp64.rejected.count("fix"), 0u);
}

// A configuration the plain evaluation accepts (it fits) above 90% of HBM, found by a search
// without headroom; then held fixed in a search with the default headroom.
TEST(SearchHeadroom, RejectsWhatThePlainEvaluationAcceptsAboveNinetyPercent) {
  const Gpt3 g;
  SearchOptions o = g.options();
  o.memory_headroom = 0;
  o.top = 100000;
  o.fix = parse_search_fix("tp=8");
  const SearchResult none = search(g.model, *g.s.train, o);
  const TrainResult* tight = nullptr;
  for (const TrainResult& t : none.top) {
    if (t.memory.total > 0.9 * t.memory.capacity) {
      tight = &t;
      break;
    }
  }
  ASSERT_NE(tight, nullptr) << "no configuration above 90% of HBM among " << none.top.size();
  const TrainConfig& c = tight->config;
  const TrainResult plain = g.model.evaluate(c);
  ASSERT_TRUE(plain.feasible());
  EXPECT_GT(plain.memory.total, 0.9 * plain.memory.capacity);

  SearchOptions held = g.options();
  EXPECT_DOUBLE_EQ(held.memory_headroom, 0.10);  // the documented default
  held.fix = parse_search_fix(fmt::format("tp={},pp={},dp={},cp={},ep={},v={},mb={},zero={},recompute={}", c.layout.tp,
                                          c.layout.pp, c.layout.dp, c.layout.cp, c.layout.ep, c.virtual_stages, c.microbatch,
                                          c.zero, model::to_string(c.recompute)));
  const SearchResult r = search(g.model, *g.s.train, held);
  EXPECT_TRUE(r.top.empty());
  EXPECT_EQ(r.evaluated, 1);
  ASSERT_EQ(r.rejected.count("memory headroom"), 1u);
  EXPECT_EQ(r.rejected.at("memory headroom").count, 1);
  const std::string& why = r.rejected.at("memory headroom").example;
  EXPECT_NE(why.find("expected at most 72.0 GiB per GPU (10% of the 80.0 GiB of HBM kept free)"), std::string::npos) << why;
  EXPECT_NE(why.find(layout_label(c)), std::string::npos) << why;

  // The same search without headroom lists it; with 10% every listed one leaves 10% free.
  held.memory_headroom = 0;
  EXPECT_EQ(search(g.model, *g.s.train, held).top.size(), 1u);
  o.memory_headroom = 0.10;
  const SearchResult ten = search(g.model, *g.s.train, o);
  ASSERT_FALSE(ten.top.empty());
  for (const TrainResult& t : ten.top) EXPECT_LE(t.memory.total, 0.9 * t.memory.capacity) << layout_label(t.config);
  EXPECT_LT(ten.top.size(), none.top.size());
  EXPECT_EQ(ten.evaluated, none.evaluated);  // costed either way; only the verdict differs
}

TEST(SearchCsv, NamesTheFrameworkAndTheFlopsBehindMfuAndHfu) {
  const Gpt3 g;
  SearchOptions o = g.options();
  o.top = 200;
  const SearchResult r = search(g.model, *g.s.train, o);
  std::ostringstream os;
  write_search_csv(os, r);
  const CsvTable t = CsvTable::parse(os.str(), "search.csv");
  ASSERT_EQ(t.rows(), r.top.size());
  const auto& h = t.header();
  ASSERT_EQ(h.size(), 24u);
  EXPECT_EQ(h[14], "mfu");
  EXPECT_EQ(h[15], "hfu");
  EXPECT_EQ(h[21], "framework");
  EXPECT_EQ(h[22], "model_flops_per_step");
  EXPECT_EQ(h[23], "hardware_flops_per_step");
  bool megatron = false;
  for (size_t i = 0; i < t.rows(); ++i) {
    const TrainResult& x = r.top[i];
    EXPECT_EQ(t.row(i)[21], to_string(framework_of(x.config)));
    megatron |= t.row(i)[21] == "megatron";
    // MFU and HFU are these FLOPs over the GPUs' peak for the step (9 significant digits written).
    const double peak_s = x.peak_flops * static_cast<double>(x.config.gpus()) * x.time.step;
    EXPECT_NEAR(std::stod(t.row(i)[22]) / peak_s, x.mfu, 1e-6 * x.mfu);
    EXPECT_NEAR(std::stod(t.row(i)[23]) / peak_s, x.hfu, 1e-6 * x.hfu);
    EXPECT_LE(x.mfu, x.hfu);
  }
  EXPECT_TRUE(megatron);
}

}  // namespace
}  // namespace fathom::train
