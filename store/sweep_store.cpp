#include "store/sweep_store.h"

#include <fmt/format.h>

#include "common/error.h"
#include "store/database.h"

namespace fathom::store {

struct SweepStore::Impl {
  Impl(const std::string& path, bool write) : db(path, write ? OpenMode::kWrite : OpenMode::kRead) {}
  Database db;
};

SweepStore::SweepStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SweepStore::~SweepStore() = default;
SweepStore::SweepStore(SweepStore&&) noexcept = default;
SweepStore& SweepStore::operator=(SweepStore&&) noexcept = default;

SweepStore SweepStore::open(const std::string& path, bool write) { return SweepStore(std::make_unique<Impl>(path, write)); }

namespace {

constexpr const char* kSweepColumns = "id, spec_hash, name, command, points, axes_json, spec_text";

SweepInfo read_sweep(const Statement& st) {
  SweepInfo s;
  s.id = st.integer(0);
  s.spec_hash = st.text(1);
  s.name = st.text(2);
  s.command = st.text(3);
  s.points = st.integer(4);
  s.axes_json = st.text(5);
  s.spec_text = st.text(6);
  return s;
}

int64_t insert_sweep(Database& db, const SweepInfo& info) {
  Statement st(db, "INSERT INTO sweeps(spec_hash, name, command, points, axes_json, spec_text) VALUES (?,?,?,?,?,?)");
  st.bind(1, info.spec_hash);
  st.bind(2, info.name);
  st.bind(3, info.command);
  st.bind(4, info.points);
  st.bind(5, info.axes_json);
  st.bind(6, info.spec_text);
  st.run();
  return sqlite3_last_insert_rowid(db.handle());
}

}  // namespace

std::optional<SweepInfo> SweepStore::find_sweep(const std::string& spec_hash) const {
  Statement st(impl_->db, fmt::format("SELECT {} FROM sweeps WHERE spec_hash = ?", kSweepColumns).c_str());
  st.bind(1, spec_hash);
  if (!st.step()) return std::nullopt;
  return read_sweep(st);
}

std::vector<SweepInfo> SweepStore::sweeps() const {
  std::vector<SweepInfo> out;
  Statement st(impl_->db, fmt::format("SELECT {} FROM sweeps ORDER BY id", kSweepColumns).c_str());
  while (st.step()) out.push_back(read_sweep(st));
  return out;
}

int64_t SweepStore::ensure_sweep(const SweepInfo& info) {
  if (auto s = find_sweep(info.spec_hash)) {
    if (s->points != info.points || s->command != info.command) {
      throw InputError(impl_->db.path(), fmt::format("expected sweep '{}' with {} {} points, found {} {} points under the "
                                                     "same spec hash (a corrupt database?)",
                                                     info.name, info.points, info.command, s->points, s->command));
    }
    return s->id;
  }
  Transaction t(impl_->db);
  const int64_t id = insert_sweep(impl_->db, info);
  t.commit();
  return id;
}

std::vector<int64_t> SweepStore::done_points(int64_t sweep_id) const {
  std::vector<int64_t> out;
  Statement st(impl_->db, "SELECT point FROM sweep_points WHERE sweep_id = ? ORDER BY point");
  st.bind(1, sweep_id);
  while (st.step()) out.push_back(st.integer(0));
  return out;
}

namespace {

void insert_points(Database& db, int64_t sweep_id, const std::vector<SweepPointRow>& rows) {
  Statement ins(db,
                "INSERT INTO sweep_points(sweep_id, point, values_json, status, message, verdict, seed, scenario_hash, "
                "scenario_text, profile, fathom_version, metrics_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(sweep_id, point) DO NOTHING");
  Statement same(db, "SELECT scenario_hash, metrics_json, status FROM sweep_points WHERE sweep_id = ? AND point = ?");
  for (const auto& r : rows) {
    ins.reset();
    ins.bind(1, sweep_id);
    ins.bind(2, r.point);
    ins.bind(3, r.values_json);
    ins.bind(4, r.status);
    ins.bind(5, r.message);
    ins.bind(6, r.verdict);
    if (r.seed) ins.bind(7, *r.seed);
    else ins.bind_null(7);
    ins.bind(8, r.scenario_hash);
    ins.bind(9, r.scenario_text);
    ins.bind(10, r.profile);
    ins.bind(11, r.fathom_version);
    ins.bind(12, r.metrics_json);
    ins.run();
    if (sqlite3_changes(db.handle()) == 0) {  // stored before: it must be the same result
      same.reset();
      same.bind(1, sweep_id);
      same.bind(2, r.point);
      if (same.step() && (same.text(0) != r.scenario_hash || same.text(1) != r.metrics_json || same.text(2) != r.status)) {
        throw InputError(db.path(), fmt::format("expected point {} to hold the same result wherever it was computed, "
                                                "found a different one (scenario {} vs {}): were these databases "
                                                "written by different Fathom versions or catalogs?",
                                                r.point, same.text(0).substr(0, 12), r.scenario_hash.substr(0, 12)));
      }
    }
  }
}

}  // namespace

void SweepStore::add_points(int64_t sweep_id, const std::vector<SweepPointRow>& rows) {
  if (rows.empty()) return;
  Transaction t(impl_->db);
  insert_points(impl_->db, sweep_id, rows);
  t.commit();
}

std::vector<SweepPointRow> SweepStore::points(int64_t sweep_id) const {
  std::vector<SweepPointRow> out;
  Statement st(impl_->db,
               "SELECT point, values_json, status, message, verdict, seed, scenario_hash, scenario_text, profile, "
               "fathom_version, metrics_json FROM sweep_points WHERE sweep_id = ? ORDER BY point");
  st.bind(1, sweep_id);
  while (st.step()) {
    SweepPointRow r;
    r.point = st.integer(0);
    r.values_json = st.text(1);
    r.status = st.text(2);
    r.message = st.text(3);
    r.verdict = st.text(4);
    if (!st.is_null(5)) r.seed = st.integer(5);
    r.scenario_hash = st.text(6);
    r.scenario_text = st.text(7);
    r.profile = st.text(8);
    r.fathom_version = st.text(9);
    r.metrics_json = st.text(10);
    out.push_back(std::move(r));
  }
  return out;
}

int64_t SweepStore::merge_from(const std::string& other) {
  const SweepStore src = open(other, false);
  int64_t added = 0;
  Transaction t(impl_->db);
  for (const SweepInfo& s : src.sweeps()) {
    int64_t id = 0;
    if (auto mine = find_sweep(s.spec_hash)) {
      if (mine->points != s.points || mine->command != s.command) {
        throw InputError(other, fmt::format("expected sweep '{}' to match the one in {}, found a different point count", s.name,
                                            impl_->db.path()));
      }
      id = mine->id;
    } else {
      id = insert_sweep(impl_->db, s);
    }
    const int64_t before = static_cast<int64_t>(done_points(id).size());
    insert_points(impl_->db, id, src.points(s.id));
    added += static_cast<int64_t>(done_points(id).size()) - before;
  }
  t.commit();
  return added;
}

}  // namespace fathom::store
