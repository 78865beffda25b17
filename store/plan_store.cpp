#include "store/plan_store.h"

#include "common/error.h"
#include "store/database.h"

namespace fathom::store {

struct PlanStore::Impl {
  Impl(const std::string& path, bool write) : db(path, write ? OpenMode::kWrite : OpenMode::kRead) {}
  Database db;
};

PlanStore::PlanStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PlanStore::~PlanStore() = default;
PlanStore::PlanStore(PlanStore&&) noexcept = default;
PlanStore& PlanStore::operator=(PlanStore&&) noexcept = default;

PlanStore PlanStore::open(const std::string& path, bool write) { return PlanStore(std::make_unique<Impl>(path, write)); }

namespace {

constexpr const char* kPlanColumns =
    "SELECT id, kind, name, input_hash, input_text, fathom_version, created_utc, report_json FROM plans";

PlanRecord read_plan(const Statement& st) {
  PlanRecord p;
  p.id = st.integer(0);
  p.kind = st.text(1);
  p.name = st.text(2);
  p.input_hash = st.text(3);
  p.input_text = st.text(4);
  p.fathom_version = st.text(5);
  p.created_utc = st.text(6);
  p.report_json = st.text(7);
  return p;
}

}  // namespace

int64_t PlanStore::add_plan(const PlanRecord& plan, const std::vector<PlanRowRecord>& rows,
                            const std::function<void()>& before_commit) {
  Database& db = impl_->db;
  Transaction t(db);
  Statement ins(db,
                "INSERT INTO plans(kind, name, input_hash, input_text, fathom_version, report_json) VALUES (?,?,?,?,?,?)");
  ins.bind(1, plan.kind);
  ins.bind(2, plan.name);
  ins.bind(3, plan.input_hash);
  ins.bind(4, plan.input_text);
  ins.bind(5, plan.fathom_version);
  ins.bind(6, plan.report_json);
  ins.run();
  const int64_t id = sqlite3_last_insert_rowid(db.handle());
  Statement row(db,
                "INSERT INTO plan_rows(plan_id, section, rank, row_json, scenario_text, scenario_hash, profile) "
                "VALUES (?,?,?,?,?,?,?)");
  for (const auto& r : rows) {
    row.reset();
    row.bind(1, id);
    row.bind(2, r.section);
    row.bind(3, r.rank);
    row.bind(4, r.row_json);
    row.bind(5, r.scenario_text);
    row.bind(6, r.scenario_hash);
    row.bind(7, r.profile);
    row.run();
  }
  if (before_commit) before_commit();
  t.commit();
  return id;
}

std::vector<PlanRecord> PlanStore::plans() const {
  std::vector<PlanRecord> out;
  Statement st(impl_->db, (std::string(kPlanColumns) + " ORDER BY id").c_str());
  while (st.step()) out.push_back(read_plan(st));
  return out;
}

std::optional<StoredPlan> PlanStore::load(int64_t id) const {
  Statement st(impl_->db, (std::string(kPlanColumns) + " WHERE id = ?").c_str());
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  StoredPlan p{read_plan(st), {}};
  // Sections in the order they were first stored (their smallest row id), ranks ascending.
  Statement rows(impl_->db,
                 "SELECT section, rank, row_json, scenario_text, scenario_hash, profile FROM plan_rows r WHERE plan_id = ? "
                 "ORDER BY (SELECT MIN(id) FROM plan_rows s WHERE s.plan_id = r.plan_id AND s.section = r.section), rank");
  rows.bind(1, id);
  while (rows.step()) {
    p.rows.push_back(PlanRowRecord{rows.text(0), rows.integer(1), rows.text(2), rows.text(3), rows.text(4), rows.text(5)});
  }
  return p;
}

}  // namespace fathom::store
