#pragma once
// SQLite store of run records. The Fathom database file (store/database.h) holds these and the
// calibration measurements (store/calib_store.h); it carries its schema version (PRAGMA
// user_version), opening an older file migrates it, and WAL mode lets a reader (the GUI) read
// while a writer appends.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fathom::store {

// Schema versions: 1 runs; 2 adds devices, calib_runs, measurements, profiles; 3 adds the
// resolved scenario text and hash to runs, and sweeps with sweep_points; 4 adds plans with
// plan_rows (docs/database.md).
inline constexpr int kSchemaVersion = 4;

struct RunRecord {
  int64_t id = 0;
  std::string created_at;   // UTC, ISO 8601
  std::string command;      // e.g. "estimate"
  std::string scenario;     // scenario file path, as given
  std::string scenario_text;  // the resolved scenario (sim::ResolvedScenario::text): reproduces the run
  std::string scenario_hash;  // its SHA-256
  std::string fathom_version;
  std::string result_json;  // the command's JSON report
};

class RunStore {
 public:
  // Opens (creating if needed) and migrates. Throws fathom::InputError naming the path.
  static RunStore open(const std::string& path);
  ~RunStore();
  RunStore(RunStore&&) noexcept;
  RunStore& operator=(RunStore&&) noexcept;

  int schema_version() const;
  int64_t add_run(const RunRecord& r);  // in one transaction; returns the id
  // The same, calling `before_commit` inside the transaction after the row is written: when it
  // throws, the row is rolled back (the CLI commits its output files there, so that a record and
  // its files appear together or not at all).
  int64_t add_run(const RunRecord& r, const std::function<void()>& before_commit);
  std::vector<RunRecord> runs() const;

 private:
  struct Impl;
  explicit RunStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fathom::store
