#include "store/calib_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "common/error.h"
#include "store/temp_db.h"
#include "store/run_store.h"

namespace fathom::store {

namespace {

DeviceRecord h200() {
  return {0, "GPU-5f1c0000-synthetic", "NVIDIA H200", 132, 150754820096, "9.0"};
}

CalibRunRecord run_on(int64_t device) {
  CalibRunRecord r;
  r.device_id = device;
  r.kind = "synthetic";
  r.source = "test";
  r.host = "testhost";
  r.fathom_version = "0.1.0";
  r.driver_version = "570.00";
  r.cuda_version = "13.0";
  r.sm_clock_start_mhz = 1980;
  return r;
}

MeasurementRecord gemm(int64_t run, double t) {
  MeasurementRecord m;
  m.run_id = run;
  m.kind = "gemm";
  m.name = "cublasLt bf16";
  m.dtype = "bf16";
  m.shape = "m=8192,n=8192,k=8192";
  m.flops = 2.0 * 8192.0 * 8192.0 * 8192.0;
  m.bytes = 3.0 * 2 * 8192.0 * 8192.0;
  m.time_s = t;
  m.min_s = 0.99 * t;
  m.repeats = 20;
  return m;
}
}  // namespace

TEST(CalibStore, RoundTripsDevicesRunsMeasurementsAndProfiles) {
  const std::string path = temp_db("calib");
  {
    CalibStore s = CalibStore::open(path);
    EXPECT_EQ(s.schema_version(), kSchemaVersion);
    const int64_t dev = s.add_device(h200());
    EXPECT_EQ(s.add_device(h200()), dev);  // the same UUID is the same device
    const int64_t run = s.add_run(run_on(dev));
    EXPECT_EQ(s.add_measurements({gemm(run, 1.4e-3), gemm(run, 1.5e-3)}), 2u);
    s.finish_run(run, 1965.0);
    ProfileRecord p;
    p.device_id = dev;
    p.fathom_version = "0.1.0";
    p.profile_yaml = "gpu: h200\n";
    p.summary_json = "{}";
    EXPECT_GT(s.add_profile(p), 0);
  }
  CalibStore again = CalibStore::open(path);
  ASSERT_EQ(again.devices().size(), 1u);
  EXPECT_EQ(again.devices()[0].sm_count, 132);
  const auto runs = again.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(*runs[0].sm_clock_start_mhz, 1980);
  EXPECT_EQ(*runs[0].sm_clock_end_mhz, 1965);
  EXPECT_FALSE(runs[0].memory_clock_mhz.has_value());
  EXPECT_FALSE(runs[0].started_at.empty());
  const auto ms = again.measurements("gemm");
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_DOUBLE_EQ(ms[1].time_s, 1.5e-3);
  EXPECT_TRUE(ms[0].min_s.has_value());
  EXPECT_FALSE(ms[0].max_s.has_value());
  EXPECT_EQ(again.measurements("memory").size(), 0u);
  EXPECT_EQ(again.measurements().size(), 2u);
  EXPECT_EQ(again.profiles().size(), 1u);
  std::filesystem::remove(path);
}

TEST(CalibStore, ABatchWithABadRowWritesNothing) {
  const std::string path = temp_db("batch");
  CalibStore s = CalibStore::open(path);
  const int64_t run = s.add_run(run_on(s.add_device(h200())));
  // A row of a run that does not exist (foreign key), then a non-positive time (CHECK).
  EXPECT_THROW(s.add_measurements({gemm(run, 1e-3), gemm(run + 7, 1e-3)}), InputError);
  EXPECT_THROW(s.add_measurements({gemm(run, 1e-3), gemm(run, 0.0)}), InputError);
  EXPECT_THROW(s.add_measurements({gemm(run, 1e-3), gemm(run, std::numeric_limits<double>::quiet_NaN())}), InputError);
  EXPECT_EQ(s.measurements().size(), 0u);
  EXPECT_THROW(s.finish_run(run + 7, 1.0), InputError);
  CalibRunRecord bad = run_on(12345);  // no such device
  EXPECT_THROW(s.add_run(bad), InputError);
  bad = run_on(s.devices()[0].id);
  bad.kind = "guess";
  EXPECT_THROW(s.add_run(bad), InputError);
  std::filesystem::remove(path);
}

TEST(CalibStore, MigratesAVersionOneFileKeepingItsRuns) {
  const std::string path = temp_db("migrate");
  {
    // A file as version 1 wrote it: the runs table only.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL DEFAULT "
                           "(strftime('%Y-%m-%dT%H:%M:%SZ','now')), command TEXT NOT NULL, scenario TEXT NOT NULL, "
                           "fathom_version TEXT NOT NULL, result_json TEXT NOT NULL);"
                           "INSERT INTO runs(command, scenario, fathom_version, result_json) VALUES ('serve', 'a.yaml', "
                           "'0.1.0', '{}');PRAGMA user_version = 1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  {
    CalibStore s = CalibStore::open(path);
    EXPECT_EQ(s.schema_version(), kSchemaVersion);
    s.add_run(run_on(s.add_device(h200())));
    EXPECT_EQ(s.runs().size(), 1u);
  }
  RunStore r = RunStore::open(path);
  ASSERT_EQ(r.runs().size(), 1u);
  EXPECT_EQ(r.runs()[0].command, "serve");
  EXPECT_EQ(r.runs()[0].scenario_text, "");  // a version-1 record has no resolved text
  // Every part shares one file and one version.
  EXPECT_EQ(r.schema_version(), kSchemaVersion);
  std::filesystem::remove(path);
}

TEST(CalibStore, RefusesAFileOfANewerSchema) {
  const std::string path = temp_db("newer");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99;", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  try {
    CalibStore::open(path);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("found version 99 (written by a newer Fathom)"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace fathom::store
