// Calibration on the host: measurement conventions, the synthetic generator, the profile fit
// and its YAML, the calibrated efficiency model in the cost chain, and the report. The
// measurements are produced by Fathom's own generator (a documented ground truth plus noise),
// so every recovered number has a known right answer.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "calib/measure.h"
#include "calib/profile_fit.h"
#include "calib/report.h"
#include "calib/suite.h"
#include "calib/synthetic.h"
#include "catalog_fixture.h"
#include "common/error.h"
#include "common/version.h"
#include "hw/profile.h"
#include "sim/estimate.h"
#include "sim/scenario.h"
#include "sim/serve/validate.h"
#include "store/temp_db.h"

namespace fathom::calib {
namespace {

namespace fs = std::filesystem;

const hw::GpuSpec& h200() { return *test::hardware().find_gpu("h200-sxm"); }

TEST(Measure, ShapesParseAndReportWhatIsWrong) {
  const ShapeMap s = parse_shape("m=4096,n=128,k=8192");
  EXPECT_EQ(shape_get(s, "m"), 4096);
  EXPECT_EQ(shape_get(s, "k"), 8192);
  EXPECT_EQ(format_shape({{"m", 4096}, {"n", 128}, {"k", 8192}}), "m=4096,n=128,k=8192");
  EXPECT_THROW(parse_shape("m=4096,n"), std::invalid_argument);
  EXPECT_THROW(parse_shape("m=4x"), std::invalid_argument);
  EXPECT_THROW(parse_shape("m=1,m=2"), std::invalid_argument);
  try {
    gemm_from_shape("m=1,n=2");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'k'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gemm_from_shape("m=0,n=2,k=3"), std::invalid_argument);
  EXPECT_THROW(attention_from_shape("batch=1,heads=8,kv_heads=8,q=9,kv=4,d=64,causal=1"), std::invalid_argument);
}

TEST(Measure, WorkFollowsTheDocumentedConventions) {
  const Work g = gemm_work({4096, 1024, 512, 1}, "bf16");
  EXPECT_DOUBLE_EQ(g.flops, 2.0 * 4096 * 1024 * 512);
  EXPECT_DOUBLE_EQ(g.bytes, (4096.0 * 512 + 512.0 * 1024) * 2 + 4096.0 * 1024 * 2);
  const Work t = gemm_work({64, 64, 64, 2}, "tf32");  // fp32 in and out
  EXPECT_DOUBLE_EQ(t.bytes, 2 * (64.0 * 64 * 4 * 3));
  EXPECT_DOUBLE_EQ(gemm_work({16, 16, 16, 1}, "fp8").bytes, 16.0 * 16 * 2 + 16.0 * 16 * 2);
  EXPECT_DOUBLE_EQ(memory_work("copy", 1e6).bytes, 2e6);
  EXPECT_DOUBLE_EQ(memory_work("triad", 4e6).flops, 2e6);
  EXPECT_THROW(memory_work("scale", 1), std::invalid_argument);
  // Causal prefill (q = kv = s) counts s(s+1)/2 score entries.
  const Work a = attention_work({1, 2, 1, 4, 4, 8, true});
  EXPECT_DOUBLE_EQ(a.flops, 4.0 * 2 * 10 * 8);
  EXPECT_EQ(rowwise_kind("rmsnorm"), "reduction");
  EXPECT_EQ(rowwise_kind("silu_mul"), "elementwise");
  const store::MeasurementRecord m = summarise("gemm", "x", "bf16", "m=1,n=1,k=1", {}, {3e-6, 1e-6, 2e-6, 4e-6});
  EXPECT_DOUBLE_EQ(m.time_s, 2.5e-6);
  EXPECT_DOUBLE_EQ(*m.min_s, 1e-6);
  EXPECT_EQ(m.repeats, 4);
}

TEST(Plan, QuickIsASubsetAndShapesAreDeduplicated) {
  SuitePlan q = default_plan(true), full = default_plan(false);
  EXPECT_LT(q.benchmark_count(), full.benchmark_count());
  const size_t before = q.gemms.size();
  add_gemm_shapes(q, {{512, 512, 512, 1}, {512, 512, 512, 1}, {0, 5, 5, 1}, {3, 5, 7, 1}});
  EXPECT_EQ(q.gemms.size(), before + 1);  // 512³ was there, 0×5×5 is dropped
  EXPECT_TRUE(std::is_sorted(q.gemms.begin(), q.gemms.end()));
}

// The quick plan with decode- and prefill-like GEMMs of an 8B model at TP 1 and 8.
SuitePlan synthetic_plan() {
  SuitePlan plan = default_plan(true);
  add_gemm_shapes(plan, {{1, 6144, 4096, 1}, {1, 4096, 4096, 1}, {1, 28672, 4096, 1}, {1, 4096, 14336, 1},
                         {4096, 6144, 4096, 1}, {4096, 4096, 4096, 1}, {4096, 28672, 4096, 1},
                         {4096, 4096, 14336, 1}, {256, 768, 4096, 1}, {256, 512, 4096, 1},
                         {256, 3584, 4096, 1}, {256, 4096, 1792, 1}});
  return plan;
}

// One synthetic database and its fit, shared by the tests below (the fit takes a few seconds).
struct Fixture {
  std::string db_path;
  std::vector<store::MeasurementRecord> ms;
  store::DeviceRecord device;
  hw::GpuSpec gpu;
  ProfileFit fit;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.db_path = store::temp_db("calib_synth");
    store::CalibStore db = store::CalibStore::open(x.db_path);
    SyntheticOptions o;
    o.seed = 7;
    generate_synthetic(synthetic_plan(), h200(), db, o);
    x.device = db.devices().at(0);
    x.ms = db.measurements();
    const hw::GpuSpec* g = match_catalog_gpu(x.device.name, test::hardware().gpus());
    EXPECT_NE(g, nullptr);
    x.gpu = fitting_gpu(g ? *g : h200(), x.device);
    ProfileFitOptions po;
    po.threads = 2;
    x.fit = fit_profile(x.ms, x.gpu, x.device, po, x.db_path);
    return x;
  }();
  return f;
}

TEST(Synthetic, IsRecordedAsSyntheticAndIsDeterministic) {
  const Fixture& f = fixture();
  EXPECT_EQ(f.device.uuid.rfind("synthetic-", 0), 0u);
  store::CalibStore db = store::CalibStore::open(f.db_path);
  ASSERT_EQ(db.runs().size(), 1u);
  EXPECT_EQ(db.runs()[0].kind, "synthetic");
  // Same seed, same numbers, bit for bit.
  const std::string other = store::temp_db("calib_synth2");
  {
    store::CalibStore db2 = store::CalibStore::open(other);
    SyntheticOptions o;
    o.seed = 7;
    generate_synthetic(synthetic_plan(), h200(), db2, o);
    const auto b = db2.measurements();
    ASSERT_EQ(b.size(), f.ms.size());
    for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(b[i].time_s, f.ms[i].time_s) << i;
  }
  fs::remove(other);
}

TEST(ProfileFit, RecoversTheGroundTruthWithinAFewPercent) {
  const Fixture& f = fixture();
  const SyntheticTruth truth;
  const hw::CalibratedProfile& p = f.fit.profile;
  EXPECT_EQ(p.gpu, "h200-sxm");
  ASSERT_TRUE(p.gemm.count("bf16"));
  ASSERT_TRUE(p.gemm.count("fp8"));
  EXPECT_NEAR(p.gemm.at("bf16").peak_fraction, truth.gemm_bf16, 0.05 * truth.gemm_bf16);
  EXPECT_NEAR(p.gemm.at("fp8").peak_fraction, truth.gemm_fp8, 0.05 * truth.gemm_fp8);
  EXPECT_NEAR(p.gemm.at("bf16").memory_fraction, truth.gemm_memory, 0.05 * truth.gemm_memory);
  for (const auto& [name, want] : std::map<std::string, double>{{"copy", truth.copy}, {"read", truth.read},
                                                                {"write", truth.write}, {"triad", truth.triad}}) {
    ASSERT_TRUE(p.memory.count(name)) << name;
    EXPECT_NEAR(p.memory.at(name).memory_fraction, want, 0.03 * want) << name;
  }
  ASSERT_TRUE(p.elementwise && p.reduction);
  EXPECT_NEAR(p.elementwise->memory_fraction, truth.elementwise, 0.03 * truth.elementwise);
  EXPECT_NEAR(p.reduction->memory_fraction, truth.reduction, 0.03 * truth.reduction);
  EXPECT_NEAR(p.reduction->fixed_s, truth.reduction_fixed_s, 0.25 * truth.reduction_fixed_s);
  ASSERT_TRUE(p.launch_gap_s.has_value());
  EXPECT_NEAR(*p.launch_gap_s, truth.launch_gap_s, 0.03 * truth.launch_gap_s);
  // Own attention kernel: fitted, recorded, not applied.
  ASSERT_TRUE(p.attention.has_value());
  EXPECT_FALSE(p.attention->apply);
  EXPECT_EQ(p.attention->kernel, "fathom_tiled_attention");
}

TEST(ProfileFit, HeldOutErrorIsNearTheNoiseForGemmsAndMemory) {
  const Fixture& f = fixture();
  for (const GroupFit& g : f.fit.groups) {
    SCOPED_TRACE(g.group);
    EXPECT_GE(g.quality.folds, 2);
    EXPECT_GT(g.quality.points, 0);
    if (g.group.rfind("gemm", 0) == 0 || g.group.rfind("memory", 0) == 0) {
      EXPECT_LE(g.quality.heldout_median, 0.05);
      EXPECT_GE(g.quality.heldout_median, g.quality.insample_median * 0.5);
    }
  }
}

TEST(ProfileFit, SameNumbersOnAnyThreadCount) {
  const Fixture& f = fixture();
  ProfileFitOptions one;
  one.threads = 1;
  const ProfileFit a = fit_profile(f.ms, f.gpu, f.device, one, f.db_path);
  EXPECT_EQ(hw::profile_to_yaml(a.profile), hw::profile_to_yaml(f.fit.profile));
}

TEST(ProfileFit, TooFewMeasurementsIsAnInputError) {
  const Fixture& f = fixture();
  std::vector<store::MeasurementRecord> none;
  EXPECT_THROW(fit_profile(none, f.gpu, f.device, {}, "x.sqlite"), InputError);
  std::vector<store::MeasurementRecord> bad = {f.ms.front()};
  bad[0].kind = "gemm";
  bad[0].shape = "m=4,n=oops";
  try {
    fit_profile(bad, f.gpu, f.device, {}, "x.sqlite");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("x.sqlite"), std::string::npos) << e.what();
  }
}

TEST(Profile, YamlRoundTripsExactly) {
  const Fixture& f = fixture();
  const std::string y = hw::profile_to_yaml(f.fit.profile);
  const hw::CalibratedProfile back = hw::parse_profile(parse_yaml(y, "profile.yaml"));
  EXPECT_EQ(hw::profile_to_yaml(back), y);
  EXPECT_EQ(back.gemm.at("bf16").k_half, f.fit.profile.gemm.at("bf16").k_half);
}

TEST(Profile, BadValuesNameTheLine) {
  const std::string y =
      "profile: 1\ngpu: h200-sxm\ngemm:\n  bf16: {peak_fraction: 1.4, k_half: 10, memory_fraction: 0.8, fixed_s: 2e-6}\n";
  try {
    hw::parse_profile(parse_yaml(y, "p.yaml"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("p.yaml:4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(hw::parse_profile(parse_yaml("profile: 2\n", "p.yaml")), InputError);
  EXPECT_THROW(hw::parse_profile(parse_yaml("profile: 1\ngemm:\n  int3: {}\n", "p.yaml")), InputError);
  EXPECT_THROW(hw::parse_profile(parse_yaml("profile: 1\nspeed: 3\n", "p.yaml")), InputError);
}

TEST(CalibratedModel, TheCostChainReproducesTheFittedFormula) {
  // The report's calibrated error for a group is computed through hw::CostModel; the fit's
  // in-sample error through fit/'s formula. They agree only if hw/ uses the fit as fitted.
  const Fixture& f = fixture();
  const CalibReport r = make_report(f.ms, f.gpu, &f.fit.profile);
  size_t checked = 0;
  for (const ReportRow& row : r.rows) {
    for (const GroupFit& g : f.fit.groups) {
      // Attention is not applied; the chain prices every memory operation with the copy fit.
      if (g.group != row.group || row.group == "attention" ||
          (row.group.rfind("memory ", 0) == 0 && row.group != "memory copy")) {
        continue;
      }
      EXPECT_NEAR(row.calibrated_median, g.quality.insample_median, 1e-9) << row.group;
      EXPECT_EQ(row.heldout_median, g.quality.heldout_median) << row.group;
      ++checked;
    }
  }
  EXPECT_GE(checked, 5u);  // gemm bf16, fp8, memory copy, elementwise, reduction
}

TEST(CalibratedModel, FallsBackToTheDefaultsWhereTheProfileIsSilent) {
  auto p = std::make_shared<hw::CalibratedProfile>();
  p->gemm["bf16"] = {0.5, 0.0, 0.5, 0.0, {}};
  const hw::CalibratedEfficiencyModel cal(p);
  const hw::DefaultEfficiencyModel def;
  hw::Op fp8;
  fp8.kind = hw::OpKind::kGemm;
  fp8.dtype = DType::kFp8;
  fp8.m = fp8.n = fp8.k = 4096;
  EXPECT_EQ(cal.compute_efficiency(fp8, h200()), def.compute_efficiency(fp8, h200()));
  hw::Op bf16 = fp8;
  bf16.dtype = DType::kFp16;  // fp16 uses the bf16 fit
  EXPECT_NEAR(cal.compute_efficiency(bf16, h200()), 0.5 * def.wave_efficiency(4096, 4096, 4096, h200()), 1e-12);
  hw::Op norm;
  norm.kind = hw::OpKind::kNorm;
  EXPECT_EQ(cal.memory_efficiency(norm, h200()), def.memory_efficiency(norm, h200()));
  EXPECT_EQ(cal.launch_overhead_s(norm, h200()), def.launch_overhead_s(norm, h200()));
}

TEST(Report, CalibrationBeatsTheDefaultsOnItsOwnGpu) {
  const Fixture& f = fixture();
  const CalibReport with = make_report(f.ms, f.gpu, &f.fit.profile);
  const CalibReport without = make_report(f.ms, f.gpu, nullptr);
  ASSERT_EQ(with.rows.size(), without.rows.size());
  for (const ReportRow& row : with.rows) {
    SCOPED_TRACE(row.group);
    EXPECT_GT(row.points, 0u);
    if (row.group == "attention") continue;  // not applied: the defaults price it
    EXPECT_LE(row.calibrated_median, row.default_median + 1e-12);
  }
  for (const ReportRow& row : without.rows) EXPECT_TRUE(std::isnan(row.calibrated_median));
  // Best rate reached: below the truth's ceiling (plus a few noise deviations), but near it, as
  // the largest shapes come close to their peak fraction.
  const SyntheticTruth truth;
  for (const ReportRow& row : with.rows) {
    SCOPED_TRACE(row.group);
    if (row.group == "gemm bf16") {
      EXPECT_TRUE(row.rate_is_flops);
      EXPECT_EQ(row.datasheet_rate, f.gpu.peak(DType::kBf16));
      EXPECT_LT(row.best_rate / row.datasheet_rate, truth.gemm_bf16 * 1.06);
      EXPECT_GT(row.best_rate / row.datasheet_rate, truth.gemm_bf16 * 0.85);
    } else if (row.group == "memory copy") {
      EXPECT_FALSE(row.rate_is_flops);
      EXPECT_EQ(row.datasheet_rate, f.gpu.memory_bw_Bps);
      // The L2 bonus lets small buffers beat the HBM fraction by up to 10%.
      EXPECT_LT(row.best_rate / row.datasheet_rate, truth.copy * 1.06 / (1 - truth.l2_bonus));
      EXPECT_GT(row.best_rate / row.datasheet_rate, truth.copy * 0.85);
    } else if (row.group == "launch") {
      EXPECT_TRUE(std::isnan(row.best_rate));
    }
  }
}

TEST(Scenario, AProfileChangesTheEstimateAndMustMatchTheGpu) {
  const Fixture& f = fixture();
  const fs::path dir = fs::temp_directory_path() / ("fathom_calib_scn_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "h200.yaml") << hw::profile_to_yaml(f.fit.profile);
  }
  auto scenario = [&](const std::string& gpu, bool profile) {
    const std::string y = "model: llama-3.1-8b\nhardware: {gpu: " + gpu + ", nodes: 1, gpus_per_node: 8}\n" +
                          (profile ? "efficiency: {profile: h200.yaml}\n" : "") +
                          "serve:\n  parallel: {tp: 1}\n  iteration: {phase: decode, sequences: 64, context: 2048}\n";
    const fs::path p = dir / "s.yaml";
    std::ofstream(p) << y;
    return sim::load_scenario(p.string(), test::hardware(), test::models());
  };
  const sim::Scenario plain = scenario("h200-sxm", false);
  const sim::Scenario cal = scenario("h200-sxm", true);
  ASSERT_NE(cal.profile, nullptr);
  const double t0 = sim::estimate(plain, sim::EstimateKind::kServeIteration).total_s;
  const double t1 = sim::estimate(cal, sim::EstimateKind::kServeIteration).total_s;
  EXPECT_GT(t0, 0);
  EXPECT_NE(t0, t1);
  try {
    scenario("h100-sxm", true);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("h200-sxm"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// A catalog GPU that names a calibrated profile carries it into every scenario on it, unless the
// scenario asks for `defaults` or another profile; the catalog refuses a profile that is missing,
// synthetic or of another GPU. Built on a copy of the catalog with a profile added to the H200.
TEST(CatalogProfile, TheGpuCarriesItsProfileIntoScenariosAndRefusesBadOnes) {
  const Fixture& f = fixture();
  const fs::path dir = fs::temp_directory_path() / ("fathom_calib_cat_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "calibration");
  fs::copy(fs::path(data_dir()) / "hardware", dir / "hardware", fs::copy_options::recursive);
  hw::CalibratedProfile measured = f.fit.profile;
  measured.synthetic = false;
  std::ofstream(dir / "calibration" / "h200.yaml") << hw::profile_to_yaml(measured);
  hw::CalibratedProfile synthetic = measured;
  synthetic.synthetic = true;
  std::ofstream(dir / "calibration" / "synthetic.yaml") << hw::profile_to_yaml(synthetic);
  const fs::path gpu_file = dir / "hardware" / "gpus" / "h200-sxm.yaml";
  // The catalog's entry without any calibrated_profile lines of its own (the test names its own).
  const auto without_profile = [](const fs::path& file) {
    std::ifstream in(file);
    std::string out, line;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(' ') != std::string::npos &&
          line.compare(line.find_first_not_of(' '), 19, "calibrated_profile:") == 0) {
        continue;
      }
      out += line + "\n";
    }
    return out;
  };
  const std::string original = without_profile(gpu_file);
  // sources: is the file's last block, so the source line can be appended to it.
  auto name_profile = [&](const std::string& path) {
    std::ofstream(gpu_file) << "calibrated_profile: " << path << "\n"
                            << original << "  calibrated_profile: \"test: a profile fitted to the fixture\"\n";
  };
  auto scenario = [&](const hw::HardwareCatalog& hw, const std::string& efficiency) {
    const std::string y = "model: llama-3.1-8b\nhardware: {gpu: h200-sxm, nodes: 1, gpus_per_node: 8}\n" + efficiency +
                          "serve:\n  parallel: {tp: 1}\n  iteration: {phase: decode, sequences: 64, context: 2048}\n";
    const fs::path p = dir / "s.yaml";
    std::ofstream(p) << y;
    return sim::load_scenario(p.string(), hw, test::models());
  };
  auto serve_time = [](const sim::Scenario& s) { return sim::estimate(s, sim::EstimateKind::kServeIteration).total_s; };

  name_profile("../../calibration/h200.yaml");
  const hw::HardwareCatalog cat = hw::HardwareCatalog::load((dir / "hardware").string());
  const hw::GpuSpec& gpu = *cat.find_gpu("h200-sxm");
  ASSERT_NE(gpu.calibrated_profile, nullptr);
  EXPECT_EQ(cat.find_gpu("h100-sxm")->calibrated_profile, nullptr);

  const sim::Scenario by_catalog = scenario(cat, "");
  EXPECT_EQ(by_catalog.profile, gpu.calibrated_profile);
  EXPECT_NE(sim::efficiency_source(by_catalog).find("the catalog's for h200-sxm"), std::string::npos)
      << sim::efficiency_source(by_catalog);
  const sim::Scenario defaults = scenario(cat, "efficiency: {profile: defaults}\n");
  EXPECT_EQ(defaults.profile, nullptr);
  EXPECT_EQ(sim::efficiency_source(defaults), "documented defaults");
  // The catalog's profile prices exactly as the same profile named in the scenario, and
  // `defaults` exactly as a catalog without one.
  const sim::Scenario named = scenario(test::hardware(), "efficiency: {profile: calibration/h200.yaml}\n");
  EXPECT_EQ(serve_time(by_catalog), serve_time(named));
  EXPECT_EQ(serve_time(defaults), serve_time(scenario(test::hardware(), "efficiency: {profile: defaults}\n")));
  EXPECT_NE(serve_time(by_catalog), serve_time(defaults));
  // validate serving builds its scenarios without a file, and takes the catalog's profile too.
  const sim::Scenario built = serve::make_serve_scenario(*test::models().find("llama-3.1-8b"), gpu, 1,
                                                         model::Precision{}, serve::ServeConfig{});
  EXPECT_EQ(built.profile, gpu.calibrated_profile);

  auto refused = [&](const std::string& path, const std::string& expect) {
    name_profile(path);
    try {
      hw::HardwareCatalog::load((dir / "hardware").string());
      ADD_FAILURE() << "the catalog accepted " << path;
    } catch (const std::exception& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("h200-sxm.yaml:1"), std::string::npos) << what;
      EXPECT_NE(what.find(expect), std::string::npos) << what;
    }
  };
  refused("../../calibration/none.yaml", "calibrated profile file");
  refused("../../calibration/synthetic.yaml", "synthetic");
  // A profile of the H200 named by the H100's file.
  std::ofstream(gpu_file) << original;
  const fs::path h100_file = dir / "hardware" / "gpus" / "h100-sxm.yaml";
  const std::string h100 = without_profile(h100_file);
  std::ofstream(h100_file) << "calibrated_profile: ../../calibration/h200.yaml\n"
                           << h100 << "  calibrated_profile: \"test\"\n";
  try {
    hw::HardwareCatalog::load((dir / "hardware").string());
    ADD_FAILURE() << "the catalog accepted the H200's profile for the H100";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("expected a profile measured on h100-sxm"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// Real measurements: every database committed under data/calibration/ fits and reports.
TEST(RealMeasurements, CommittedDatabasesFitAndReport) {
  const fs::path dir = fs::path(data_dir()) / "calibration";
  std::error_code ec;
  std::vector<fs::path> dbs;
  if (fs::is_directory(dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".sqlite") dbs.push_back(e.path());
    }
  }
  if (dbs.empty()) GTEST_SKIP() << "no measured database in " << dir.string() << " yet (needs a GPU session)";
  for (const fs::path& p : dbs) {
    SCOPED_TRACE(p.string());
    store::CalibStore db = store::CalibStore::open(p.string());
    for (const store::DeviceRecord& d : db.devices()) {
      const hw::GpuSpec* g = match_catalog_gpu(d.name, test::hardware().gpus());
      ASSERT_NE(g, nullptr) << d.name;
      std::vector<store::MeasurementRecord> ms;
      for (const auto& run : db.runs()) {
        if (run.device_id != d.id) continue;
        for (auto& m : db.measurements()) {
          if (m.run_id == run.id) ms.push_back(m);
        }
      }
      const hw::GpuSpec gpu = fitting_gpu(*g, d);
      const ProfileFit pf = fit_profile(ms, gpu, d, {}, p.string());
      EXPECT_FALSE(pf.groups.empty());
      const CalibReport r = make_report(ms, gpu, &pf.profile);
      EXPECT_FALSE(r.rows.empty());
    }
  }
}

}  // namespace
}  // namespace fathom::calib

namespace fathom::calib {
namespace {

// A kind with too few points for cross-validation is still fitted; its held-out error is .nan
// in the profile, which reads back.
TEST(ProfileFit, SmallGroupsFitWithoutHeldOutError) {
  const Fixture& f = fixture();
  std::vector<store::MeasurementRecord> few;
  for (const auto& m : f.ms) {
    if (m.kind == "gemm" && m.dtype == "bf16" && few.size() < 7) few.push_back(m);
  }
  ASSERT_EQ(few.size(), 7u);
  ProfileFitOptions o;
  o.threads = 1;
  const ProfileFit seven = fit_profile(few, f.gpu, f.device, o, "few.sqlite");
  ASSERT_EQ(seven.groups.size(), 1u);
  EXPECT_EQ(seven.groups[0].quality.folds, 5);  // 7 points, 5 folds: each split trains on 5
  few.pop_back();
  try {  // below params + 3: left to the defaults; with nothing else to fit, an error saying why
    fit_profile(few, f.gpu, f.device, o, "few.sqlite");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("gemm bf16: 6 measurements, fewer than 7"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fit_profile(std::vector<store::MeasurementRecord>(few.begin(), few.begin() + 2), f.gpu, f.device, o, "x"),
               InputError);
  hw::CalibratedProfile p = seven.profile;
  p.gemm["bf16"].quality.heldout_median = std::nan("");
  const hw::CalibratedProfile back = hw::parse_profile(parse_yaml(hw::profile_to_yaml(p), "p.yaml"));
  EXPECT_TRUE(std::isnan(back.gemm.at("bf16").quality.heldout_median));
}

}  // namespace
}  // namespace fathom::calib
