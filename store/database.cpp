#include "store/database.h"

#include <filesystem>
#include <iterator>

#include "common/error.h"

namespace fathom::store {

namespace {
// Migrations: entry i moves a file from version i to i + 1.
const char* const kMigrations[] = {
    // 1: run records of estimate, train, serve.
    "CREATE TABLE IF NOT EXISTS runs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " command TEXT NOT NULL,"
    " scenario TEXT NOT NULL,"
    " fathom_version TEXT NOT NULL,"
    " result_json TEXT NOT NULL);"
    "PRAGMA user_version = 1;",
    // 2: calibration: the GPUs, each measuring run with its provenance, the measurements, and
    // the hardware profiles fitted from them.
    "CREATE TABLE devices ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " uuid TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " sm_count INTEGER NOT NULL CHECK (sm_count >= 0),"
    " memory_bytes INTEGER NOT NULL CHECK (memory_bytes >= 0),"
    " compute_capability TEXT NOT NULL);"
    "CREATE TABLE calib_runs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " device_id INTEGER NOT NULL REFERENCES devices(id),"
    " kind TEXT NOT NULL CHECK (kind IN ('microbench', 'injection', 'torch-trace', 'synthetic')),"
    " source TEXT NOT NULL,"
    " host TEXT NOT NULL,"
    " started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " fathom_version TEXT NOT NULL,"
    " driver_version TEXT NOT NULL,"
    " cuda_version TEXT NOT NULL,"
    " sm_clock_start_mhz REAL, sm_clock_end_mhz REAL, memory_clock_mhz REAL,"
    " notes TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE measurements ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " run_id INTEGER NOT NULL REFERENCES calib_runs(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " dtype TEXT NOT NULL DEFAULT '',"
    " shape TEXT NOT NULL DEFAULT '',"
    " flops REAL NOT NULL CHECK (flops >= 0),"
    " bytes REAL NOT NULL CHECK (bytes >= 0),"
    " time_s REAL NOT NULL CHECK (time_s > 0),"
    " min_s REAL, max_s REAL,"
    " repeats INTEGER NOT NULL CHECK (repeats >= 1),"
    " grid TEXT NOT NULL DEFAULT '', block TEXT NOT NULL DEFAULT '',"
    " nvtx TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX measurements_by_run_kind ON measurements(run_id, kind);"
    "CREATE TABLE profiles ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " device_id INTEGER NOT NULL REFERENCES devices(id),"
    " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " fathom_version TEXT NOT NULL,"
    " profile_yaml TEXT NOT NULL,"
    " summary_json TEXT NOT NULL);"
    "PRAGMA user_version = 2;",
    // 3: the resolved scenario text and its hash with every run record (a file's path alone does
    // not reproduce a result once the file changes), and sweeps: one row per sweep spec, one per
    // point, keyed by (sweep, point) so that a resumed sweep neither loses nor repeats a point.
    "ALTER TABLE runs ADD COLUMN scenario_text TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE runs ADD COLUMN scenario_hash TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE sweeps ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " spec_hash TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " command TEXT NOT NULL CHECK (command IN ('estimate', 'train', 'serve')),"
    " points INTEGER NOT NULL CHECK (points >= 1),"
    " axes_json TEXT NOT NULL,"
    " spec_text TEXT NOT NULL,"
    " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')));"
    "CREATE TABLE sweep_points ("
    " id INTEGER PRIMARY KEY,"
    " sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,"
    " point INTEGER NOT NULL CHECK (point >= 0),"
    " values_json TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),"
    " message TEXT NOT NULL DEFAULT '',"
    " verdict TEXT NOT NULL DEFAULT '',"
    " seed INTEGER,"
    " scenario_hash TEXT NOT NULL,"
    " scenario_text TEXT NOT NULL,"
    " profile TEXT NOT NULL,"
    " fathom_version TEXT NOT NULL,"
    " metrics_json TEXT NOT NULL,"
    " UNIQUE (sweep_id, point));"
    "PRAGMA user_version = 3;",
    // 4: plans (fathom plan serve|train|total --db): one row per planner run, with the plan as
    // resolved and its report; one per row of each section, with the scenario that reproduces it.
    "CREATE TABLE plans ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind TEXT NOT NULL CHECK (kind IN ('serve', 'train', 'total')),"
    " name TEXT NOT NULL,"
    " input_hash TEXT NOT NULL,"
    " input_text TEXT NOT NULL,"
    " fathom_version TEXT NOT NULL,"
    " created_utc TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),"
    " report_json TEXT NOT NULL);"
    "CREATE TABLE plan_rows ("
    " id INTEGER PRIMARY KEY,"
    " plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,"
    " section TEXT NOT NULL,"
    " rank INTEGER NOT NULL CHECK (rank >= 1),"
    " row_json TEXT NOT NULL,"
    " scenario_text TEXT NOT NULL,"
    " scenario_hash TEXT NOT NULL,"
    " profile TEXT NOT NULL,"
    " UNIQUE (plan_id, section, rank));"
    "PRAGMA user_version = 4;",
};
static_assert(std::size(kMigrations) == kDatabaseVersion);

// A path as the path part of an SQLite URI (https://sqlite.org/uri.html): '%', '?' and '#' escaped.
std::string uri_escape(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static const char* const kHex = "0123456789ABCDEF";
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 15];
      out += kHex[static_cast<unsigned char>(c) & 15];
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

Database::Database(const std::string& path, OpenMode mode) : path_(path) {
  // A constructor that throws runs no destructor: close the handle here on every failure
  // (SQLite allocates one even when opening fails).
  try {
    int flags = mode == OpenMode::kRead ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    std::string name = path;
    if (mode == OpenMode::kRead && !std::filesystem::exists(path + "-wal")) {
      // A read-only connection to a WAL database still creates -wal and -shm beside it and
      // leaves them. With no -wal present nothing is waiting to be checkpointed, so the file is
      // read as immutable: no locks, no files created, nothing changed (SQLite's URI parameter
      // immutable=1). With a -wal present (a writer at work) the plain read-only path is taken.
      flags |= SQLITE_OPEN_URI;
      name = "file:" + uri_escape(path) + "?immutable=1";
    }
    if (sqlite3_open_v2(name.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      fail(mode == OpenMode::kRead ? "expected an existing database file that can be read"
                                   : "expected a database file that can be created or opened");
    }
    sqlite3_busy_timeout(db_, 5000);
    // The version is read first, through a statement that changes nothing; it also proves the
    // file is a database (SQLite reads the header only now).
    const int v = read_user_version();
    if (v > kDatabaseVersion) {
      throw InputError(path, "expected a database of schema version <= " + std::to_string(kDatabaseVersion) +
                                 ", found version " + std::to_string(v) + " (written by a newer Fathom); left untouched");
    }
    if (mode == OpenMode::kRead) {
      if (v < kDatabaseVersion) {
        throw InputError(path, "expected a database of schema version " + std::to_string(kDatabaseVersion) +
                                   ", found version " + std::to_string(v) +
                                   " (older: a command that writes to it, such as calib synth, migrates it)");
      }
      exec("PRAGMA query_only=ON;");
      return;
    }
    exec("PRAGMA journal_mode=WAL;");
    exec("PRAGMA foreign_keys=ON;");
    for (int i = v; i < kDatabaseVersion; ++i) {
      Transaction t(*this);
      exec(kMigrations[i]);
      t.commit();
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

int Database::read_user_version() const {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &st, nullptr) != SQLITE_OK) {
    sqlite3_finalize(st);
    fail("expected a Fathom database (SQLite)");
  }
  const int rc = sqlite3_step(st);
  const int v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW) fail("expected a Fathom database (SQLite)");
  return v;
}

Database::~Database() {
  if (db_ != nullptr) sqlite3_close(db_);
}

void Database::fail(const std::string& what) const {
  throw InputError(path_, what + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : "cannot open"));
}

void Database::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    throw InputError(path_, std::string("expected a writable Fathom database, SQLite said: ") + msg);
  }
}

int Database::user_version() const {
  sqlite3_stmt* st = nullptr;
  int v = 0;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  return v;
}

Statement::Statement(const Database& db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql, -1, &st_, nullptr) != SQLITE_OK) db.fail("cannot prepare a statement");
}
Statement::~Statement() { sqlite3_finalize(st_); }
void Statement::bind(int i, const std::string& v) { sqlite3_bind_text(st_, i, v.c_str(), -1, SQLITE_TRANSIENT); }
void Statement::bind(int i, double v) { sqlite3_bind_double(st_, i, v); }
void Statement::bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); }
void Statement::bind_null(int i) { sqlite3_bind_null(st_, i); }
bool Statement::is_null(int c) const { return sqlite3_column_type(st_, c) == SQLITE_NULL; }
bool Statement::step() {
  const int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail("expected a valid record");
}
void Statement::run() {
  while (step()) {
  }
}
void Statement::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}
std::string Statement::text(int c) const {
  const unsigned char* t = sqlite3_column_text(st_, c);
  return t != nullptr ? std::string(reinterpret_cast<const char*>(t)) : std::string();
}
double Statement::real(int c) const { return sqlite3_column_double(st_, c); }
int64_t Statement::integer(int c) const { return sqlite3_column_int64(st_, c); }

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE;"); }
Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK;", nullptr, nullptr, nullptr);
}
void Transaction::commit() {
  db_.exec("COMMIT;");
  done_ = true;
}

}  // namespace fathom::store
