#pragma once
// SQLite store of sweeps (plan/sweep.h): one `sweeps` row per spec, identified by the SHA-256 of
// its resolved text, and one `sweep_points` row per point, keyed by (sweep, point index). Points
// are written in batches, each one transaction: a run killed at any moment leaves whole points
// only, and running the same spec into the same file again computes just the missing ones.
// Schema: docs/database.md.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fathom::store {

struct SweepInfo {
  int64_t id = 0;
  std::string spec_hash;  // SHA-256 of spec_text
  std::string name;
  std::string command;    // estimate, train, serve
  int64_t points = 0;     // in the whole spec (every shard)
  std::string axes_json;  // the axis columns, in order: ["serve.parallel.tp", ...]
  std::string spec_text;  // the spec with its base scenario inlined: reruns from the database alone
};

struct SweepPointRow {
  int64_t point = 0;
  std::string values_json;   // {"axis path": value, ...}
  std::string status;        // ok, failed
  std::string message;       // why it failed
  std::string verdict;       // serve: stable, overloaded...; else ""
  std::optional<int64_t> seed;
  std::string scenario_hash, scenario_text;
  std::string profile;       // the kernel profile that priced it (sim::efficiency_source)
  std::string fathom_version;
  std::string metrics_json;  // {"metric": value, ...} in the command's order
};

class SweepStore {
 public:
  // kWrite creates and migrates; read-only otherwise (nothing in or beside the file changes).
  static SweepStore open(const std::string& path, bool write);
  ~SweepStore();
  SweepStore(SweepStore&&) noexcept;
  SweepStore& operator=(SweepStore&&) noexcept;

  // The sweep with this spec hash (its id), creating it when new.
  int64_t ensure_sweep(const SweepInfo& info);
  std::optional<SweepInfo> find_sweep(const std::string& spec_hash) const;
  std::vector<SweepInfo> sweeps() const;
  // Indices of the points stored for a sweep, ascending.
  std::vector<int64_t> done_points(int64_t sweep_id) const;
  // Writes the rows in one transaction. A point already stored must hold the same scenario
  // hash and metrics (else InputError: the file mixes results of different code or inputs);
  // it is then left as it is.
  void add_points(int64_t sweep_id, const std::vector<SweepPointRow>& rows);
  std::vector<SweepPointRow> points(int64_t sweep_id) const;  // ascending point index
  // Copies every sweep and point of the database at `other` into this one (sweeps matched by
  // spec hash). Returns the points added.
  int64_t merge_from(const std::string& other);

 private:
  struct Impl;
  explicit SweepStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fathom::store
