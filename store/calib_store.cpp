#include "store/calib_store.h"

#include <cmath>

#include "common/error.h"
#include "store/database.h"

namespace fathom::store {

struct CalibStore::Impl {
  Impl(const std::string& path, OpenMode mode) : db(path, mode) {}
  Database db;
};

namespace {
void bind_opt(Statement& st, int i, const std::optional<double>& v) {
  if (v) {
    st.bind(i, *v);
  }  // unbound parameters are NULL
}
std::optional<double> opt_real(const Statement& st, int c, bool is_null) {
  if (is_null) return std::nullopt;
  return st.real(c);
}
}  // namespace

CalibStore::CalibStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CalibStore::~CalibStore() = default;
CalibStore::CalibStore(CalibStore&&) noexcept = default;
CalibStore& CalibStore::operator=(CalibStore&&) noexcept = default;

CalibStore CalibStore::open(const std::string& path) { return CalibStore(std::make_unique<Impl>(path, OpenMode::kWrite)); }
CalibStore CalibStore::open_read(const std::string& path) {
  return CalibStore(std::make_unique<Impl>(path, OpenMode::kRead));
}

int CalibStore::schema_version() const { return impl_->db.user_version(); }

int64_t CalibStore::add_device(const DeviceRecord& d) {
  Database& db = impl_->db;
  if (d.uuid.empty()) throw InputError(db.path(), "expected a device UUID, found none");
  Transaction t(db);
  {
    Statement find(db, "SELECT id FROM devices WHERE uuid = ?");
    find.bind(1, d.uuid);
    if (find.step()) {
      const int64_t id = find.integer(0);
      return id;  // rolled back: nothing was written
    }
  }
  Statement st(db, "INSERT INTO devices(uuid, name, sm_count, memory_bytes, compute_capability) VALUES (?,?,?,?,?)");
  st.bind(1, d.uuid);
  st.bind(2, d.name);
  st.bind(3, d.sm_count);
  st.bind(4, d.memory_bytes);
  st.bind(5, d.compute_capability);
  st.run();
  const int64_t id = sqlite3_last_insert_rowid(db.handle());
  t.commit();
  return id;
}

int64_t CalibStore::add_run(const CalibRunRecord& r) {
  Database& db = impl_->db;
  Statement st(db,
               "INSERT INTO calib_runs(device_id, kind, source, host, started_at, fathom_version, driver_version,"
               " cuda_version, sm_clock_start_mhz, sm_clock_end_mhz, memory_clock_mhz, notes)"
               " VALUES (?,?,?,?,COALESCE(NULLIF(?, ''), strftime('%Y-%m-%dT%H:%M:%SZ','now')),?,?,?,?,?,?,?)");
  st.bind(1, r.device_id);
  st.bind(2, r.kind);
  st.bind(3, r.source);
  st.bind(4, r.host);
  st.bind(5, r.started_at);
  st.bind(6, r.fathom_version);
  st.bind(7, r.driver_version);
  st.bind(8, r.cuda_version);
  bind_opt(st, 9, r.sm_clock_start_mhz);
  bind_opt(st, 10, r.sm_clock_end_mhz);
  bind_opt(st, 11, r.memory_clock_mhz);
  st.bind(12, r.notes);
  st.run();
  return sqlite3_last_insert_rowid(db.handle());
}

void CalibStore::finish_run(int64_t run_id, std::optional<double> sm_clock_end_mhz) {
  Statement st(impl_->db, "UPDATE calib_runs SET sm_clock_end_mhz = ? WHERE id = ?");
  bind_opt(st, 1, sm_clock_end_mhz);
  st.bind(2, run_id);
  st.run();
  if (sqlite3_changes(impl_->db.handle()) != 1)
    throw InputError(impl_->db.path(), "expected calibration run " + std::to_string(run_id) + ", found none");
}

size_t CalibStore::add_measurements(const std::vector<MeasurementRecord>& ms) {
  Database& db = impl_->db;
  Transaction t(db);
  Statement st(db,
               "INSERT INTO measurements(run_id, kind, name, dtype, shape, flops, bytes, time_s, min_s, max_s,"
               " repeats, grid, block, nvtx) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  for (const auto& m : ms) {
    if (!std::isfinite(m.time_s) || !std::isfinite(m.flops) || !std::isfinite(m.bytes))
      throw InputError(db.path(), "expected finite times, FLOPs and bytes in measurement '" + m.name + "'");
    st.reset();
    st.bind(1, m.run_id);
    st.bind(2, m.kind);
    st.bind(3, m.name);
    st.bind(4, m.dtype);
    st.bind(5, m.shape);
    st.bind(6, m.flops);
    st.bind(7, m.bytes);
    st.bind(8, m.time_s);
    bind_opt(st, 9, m.min_s);
    bind_opt(st, 10, m.max_s);
    st.bind(11, m.repeats);
    st.bind(12, m.grid);
    st.bind(13, m.block);
    st.bind(14, m.nvtx);
    st.run();
  }
  t.commit();
  return ms.size();
}

int64_t CalibStore::add_profile(const ProfileRecord& p) {
  Statement st(impl_->db,
               "INSERT INTO profiles(device_id, fathom_version, profile_yaml, summary_json) VALUES (?,?,?,?)");
  st.bind(1, p.device_id);
  st.bind(2, p.fathom_version);
  st.bind(3, p.profile_yaml);
  st.bind(4, p.summary_json);
  st.run();
  return sqlite3_last_insert_rowid(impl_->db.handle());
}

std::vector<DeviceRecord> CalibStore::devices() const {
  std::vector<DeviceRecord> out;
  Statement st(impl_->db, "SELECT id, uuid, name, sm_count, memory_bytes, compute_capability FROM devices ORDER BY id");
  while (st.step()) {
    out.push_back({st.integer(0), st.text(1), st.text(2), st.integer(3), st.integer(4), st.text(5)});
  }
  return out;
}

std::vector<CalibRunRecord> CalibStore::runs() const {
  std::vector<CalibRunRecord> out;
  Statement st(impl_->db,
               "SELECT id, device_id, kind, source, host, started_at, fathom_version, driver_version, cuda_version,"
               " sm_clock_start_mhz, sm_clock_end_mhz, memory_clock_mhz, notes,"
               " sm_clock_start_mhz IS NULL, sm_clock_end_mhz IS NULL, memory_clock_mhz IS NULL"
               " FROM calib_runs ORDER BY id");
  while (st.step()) {
    CalibRunRecord r;
    r.id = st.integer(0);
    r.device_id = st.integer(1);
    r.kind = st.text(2);
    r.source = st.text(3);
    r.host = st.text(4);
    r.started_at = st.text(5);
    r.fathom_version = st.text(6);
    r.driver_version = st.text(7);
    r.cuda_version = st.text(8);
    r.sm_clock_start_mhz = opt_real(st, 9, st.integer(13) != 0);
    r.sm_clock_end_mhz = opt_real(st, 10, st.integer(14) != 0);
    r.memory_clock_mhz = opt_real(st, 11, st.integer(15) != 0);
    r.notes = st.text(12);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<MeasurementRecord> CalibStore::measurements(const std::string& kind) const {
  std::vector<MeasurementRecord> out;
  Statement st(impl_->db,
               "SELECT id, run_id, kind, name, dtype, shape, flops, bytes, time_s, min_s, max_s, repeats, grid, block,"
               " nvtx, min_s IS NULL, max_s IS NULL FROM measurements WHERE ? = '' OR kind = ? ORDER BY id");
  st.bind(1, kind);
  st.bind(2, kind);
  while (st.step()) {
    MeasurementRecord m;
    m.id = st.integer(0);
    m.run_id = st.integer(1);
    m.kind = st.text(2);
    m.name = st.text(3);
    m.dtype = st.text(4);
    m.shape = st.text(5);
    m.flops = st.real(6);
    m.bytes = st.real(7);
    m.time_s = st.real(8);
    m.min_s = opt_real(st, 9, st.integer(15) != 0);
    m.max_s = opt_real(st, 10, st.integer(16) != 0);
    m.repeats = st.integer(11);
    m.grid = st.text(12);
    m.block = st.text(13);
    m.nvtx = st.text(14);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<ProfileRecord> CalibStore::profiles() const {
  std::vector<ProfileRecord> out;
  Statement st(impl_->db,
               "SELECT id, device_id, created_at, fathom_version, profile_yaml, summary_json FROM profiles ORDER BY id");
  while (st.step()) out.push_back({st.integer(0), st.integer(1), st.text(2), st.text(3), st.text(4), st.text(5)});
  return out;
}

}  // namespace fathom::store
