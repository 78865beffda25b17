#pragma once
// Internal to store/: one Fathom database file (SQLite) shared by the run records and the
// calibration measurements. Opening migrates the file to the current schema (PRAGMA
// user_version), one transaction per step; WAL lets a reader (the GUI) read while a writer
// appends; foreign keys are enforced. Only store/*.cpp include this header and sqlite3.h.
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "store/run_store.h"

namespace fathom::store {

inline constexpr int kDatabaseVersion = kSchemaVersion;

enum class OpenMode {
  kWrite,  // created if absent, migrated, WAL
  kRead,   // must exist; opened read-only: nothing in the file (or beside it) changes
};

class Database {
 public:
  // Opens the file at `path`. Before anything is changed, checks that it is a SQLite database of
  // a schema this build knows (a newer one is refused untouched); then, for kWrite, switches to
  // WAL and migrates an older file. Throws fathom::InputError naming the path.
  explicit Database(const std::string& path, OpenMode mode = OpenMode::kWrite);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  int user_version() const;
  void exec(const char* sql);
  [[noreturn]] void fail(const std::string& what) const;

 private:
  int read_user_version() const;  // throws when the file is not a database
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement that finalizes itself; bind by 1-based index.
class Statement {
 public:
  Statement(const Database& db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  void bind(int i, const std::string& v);
  void bind(int i, double v);
  void bind(int i, int64_t v);
  void bind_null(int i);
  bool step();  // true while a row is available; throws on error
  void run();   // a statement that returns no rows
  void reset();  // ready to run again, every parameter unbound (NULL)
  std::string text(int c) const;
  double real(int c) const;
  int64_t integer(int c) const;
  bool is_null(int c) const;

 private:
  const Database& db_;
  sqlite3_stmt* st_ = nullptr;
};

// BEGIN IMMEDIATE … COMMIT; rolled back when destroyed before commit().
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace fathom::store
