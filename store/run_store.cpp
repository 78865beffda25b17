#include "store/run_store.h"

#include "store/database.h"

namespace fathom::store {

struct RunStore::Impl {
  explicit Impl(const std::string& path) : db(path) {}
  Database db;
};

RunStore::RunStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunStore::~RunStore() = default;
RunStore::RunStore(RunStore&&) noexcept = default;
RunStore& RunStore::operator=(RunStore&&) noexcept = default;

RunStore RunStore::open(const std::string& path) { return RunStore(std::make_unique<Impl>(path)); }

int RunStore::schema_version() const { return impl_->db.user_version(); }

int64_t RunStore::add_run(const RunRecord& r) { return add_run(r, {}); }

int64_t RunStore::add_run(const RunRecord& r, const std::function<void()>& before_commit) {
  Transaction t(impl_->db);
  Statement st(impl_->db,
               "INSERT INTO runs(command, scenario, fathom_version, result_json, scenario_text, scenario_hash) "
               "VALUES (?,?,?,?,?,?)");
  st.bind(1, r.command);
  st.bind(2, r.scenario);
  st.bind(3, r.fathom_version);
  st.bind(4, r.result_json);
  st.bind(5, r.scenario_text);
  st.bind(6, r.scenario_hash);
  st.run();
  const int64_t id = sqlite3_last_insert_rowid(impl_->db.handle());
  if (before_commit) before_commit();
  t.commit();
  return id;
}

std::vector<RunRecord> RunStore::runs() const {
  std::vector<RunRecord> out;
  Statement st(impl_->db,
               "SELECT id, created_at, command, scenario, fathom_version, result_json, scenario_text, scenario_hash "
               "FROM runs ORDER BY id");
  while (st.step()) {
    RunRecord r;
    r.id = st.integer(0);
    r.created_at = st.text(1);
    r.command = st.text(2);
    r.scenario = st.text(3);
    r.fathom_version = st.text(4);
    r.result_json = st.text(5);
    r.scenario_text = st.text(6);
    r.scenario_hash = st.text(7);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace fathom::store
