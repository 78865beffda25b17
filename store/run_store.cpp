#include "store/run_store.h"

#include <sqlite3.h>

#include "common/error.h"

namespace fathom::store {

struct RunStore::Impl {
  sqlite3* db = nullptr;
  std::string path;
  ~Impl() {
    if (db != nullptr) sqlite3_close(db);
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(path, what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "cannot open"));
  }
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err != nullptr ? err : "unknown error";
      sqlite3_free(err);
      throw InputError(path, std::string("expected a writable Fathom database, SQLite said: ") + msg);
    }
  }
  int user_version() const {
    sqlite3_stmt* st = nullptr;
    int v = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return v;
  }
};

namespace {
// Migrations: entry i moves a file from version i to i + 1.
const char* const kMigrations[] = {
    "CREATE TABLE IF NOT EXISTS runs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " command TEXT NOT NULL,"
    " scenario TEXT NOT NULL,"
    " fathom_version TEXT NOT NULL,"
    " result_json TEXT NOT NULL);"
    "PRAGMA user_version = 1;",
};
static_assert(std::size(kMigrations) == kSchemaVersion);
}  // namespace

RunStore::RunStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunStore::~RunStore() = default;
RunStore::RunStore(RunStore&&) noexcept = default;
RunStore& RunStore::operator=(RunStore&&) noexcept = default;

RunStore RunStore::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    impl->fail("expected a database file that can be created or opened");
  }
  sqlite3_busy_timeout(impl->db, 5000);
  impl->exec("PRAGMA journal_mode=WAL;");
  const int v = impl->user_version();
  if (v > kSchemaVersion) {
    throw InputError(path, "expected a database of schema version <= " + std::to_string(kSchemaVersion) +
                               ", found version " + std::to_string(v) + " (written by a newer Fathom)");
  }
  for (int i = v; i < kSchemaVersion; ++i) {
    impl->exec("BEGIN IMMEDIATE;");
    impl->exec(kMigrations[i]);
    impl->exec("COMMIT;");
  }
  return RunStore(std::move(impl));
}

int RunStore::schema_version() const { return impl_->user_version(); }

int64_t RunStore::add_run(const RunRecord& r) {
  sqlite3_stmt* st = nullptr;
  const char* sql = "INSERT INTO runs(command, scenario, fathom_version, result_json) VALUES (?,?,?,?)";
  if (sqlite3_prepare_v2(impl_->db, sql, -1, &st, nullptr) != SQLITE_OK) impl_->fail("cannot prepare insert");
  sqlite3_bind_text(st, 1, r.command.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, r.scenario.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, r.fathom_version.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, r.result_json.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) impl_->fail("cannot insert run");
  return sqlite3_last_insert_rowid(impl_->db);
}

std::vector<RunRecord> RunStore::runs() const {
  std::vector<RunRecord> out;
  sqlite3_stmt* st = nullptr;
  const char* sql = "SELECT id, created_at, command, scenario, fathom_version, result_json FROM runs ORDER BY id";
  if (sqlite3_prepare_v2(impl_->db, sql, -1, &st, nullptr) != SQLITE_OK) impl_->fail("cannot read runs");
  auto text = [&](int c) {
    const unsigned char* t = sqlite3_column_text(st, c);
    return t != nullptr ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  while (sqlite3_step(st) == SQLITE_ROW) {
    RunRecord r;
    r.id = sqlite3_column_int64(st, 0);
    r.created_at = text(1);
    r.command = text(2);
    r.scenario = text(3);
    r.fathom_version = text(4);
    r.result_json = text(5);
    out.push_back(std::move(r));
  }
  sqlite3_finalize(st);
  return out;
}

}  // namespace fathom::store
