#include "store/plan_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>

#include "common/error.h"
#include "store/run_store.h"
#include "store/temp_db.h"

namespace fathom::store {

namespace {

PlanRecord plan(const std::string& name) {
  PlanRecord p;
  p.kind = "train";
  p.name = name;
  p.input_hash = "abc";
  p.input_text = "model: x\n";
  p.fathom_version = "0.1.0";
  p.report_json = "{\"sections\": []}";
  return p;
}

PlanRowRecord row(const std::string& section, int64_t rank) {
  return PlanRowRecord{section, rank, "{\"usd\":" + std::to_string(rank) + "}", "name: s\n", "h" + std::to_string(rank),
                       std::string("documented defaults")};
}

int user_version(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  const int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

}  // namespace

TEST(PlanStore, StoresAPlanWithItsRowsAndLoadsItBackInOrder) {
  const std::string path = temp_db("plans");
  {
    PlanStore s = PlanStore::open(path, true);
    // Sections stored ranked first, then by_size; rows of a section in rank order.
    EXPECT_EQ(s.add_plan(plan("a"), {row("ranked", 1), row("ranked", 2), row("by_size", 1)}), 1);
    EXPECT_EQ(s.add_plan(plan("b"), {}), 2);
  }
  const PlanStore r = PlanStore::open(path, false);
  const auto all = r.plans();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].name, "b");
  EXPECT_EQ(all[0].created_utc.size(), 20u);  // 2026-01-01T00:00:00Z
  const auto p = r.load(1);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->plan.input_text, "model: x\n");
  EXPECT_EQ(p->plan.report_json, "{\"sections\": []}");
  ASSERT_EQ(p->rows.size(), 3u);
  EXPECT_EQ(p->rows[0].section, "ranked");
  EXPECT_EQ(p->rows[1].rank, 2);
  EXPECT_EQ(p->rows[1].scenario_hash, "h2");
  EXPECT_EQ(p->rows[2].section, "by_size");
  EXPECT_EQ(p->rows[2].profile, "documented defaults");
  EXPECT_FALSE(r.load(3).has_value());
  std::filesystem::remove(path);
}

TEST(PlanStore, StoresNothingWhenTheCommitStepOrARowFails) {
  const std::string path = temp_db("plans_fail");
  PlanStore s = PlanStore::open(path, true);
  EXPECT_THROW(s.add_plan(plan("a"), {row("ranked", 1)}, [] { throw std::runtime_error("disk full"); }), std::runtime_error);
  EXPECT_THROW(s.add_plan(plan("b"), {row("ranked", 1), row("ranked", 1)}), InputError);  // a rank twice
  PlanRecord bad = plan("c");
  bad.kind = "bake";
  EXPECT_THROW(s.add_plan(bad, {}), InputError);
  EXPECT_TRUE(s.plans().empty());
  EXPECT_EQ(s.add_plan(plan("d"), {row("ranked", 1)}), 1);
  std::filesystem::remove(path);
}

TEST(PlanStore, MigratesAVersionThreeFileKeepingItsRuns) {
  const std::string path = temp_db("plans_v3");
  {
    RunStore runs = RunStore::open(path);
    RunRecord rec;
    rec.command = "train";
    rec.scenario = "a.yaml";
    rec.fathom_version = "0.1.0";
    rec.result_json = "{}";
    runs.add_run(rec);
  }
  {
    // Back to the file version 3 wrote: the same tables without plans.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE plan_rows; DROP TABLE plans; PRAGMA user_version = 3;", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  ASSERT_EQ(user_version(path), 3);
  EXPECT_THROW(PlanStore::open(path, false), InputError);  // reading does not migrate
  EXPECT_EQ(user_version(path), 3);
  {
    PlanStore s = PlanStore::open(path, true);
    EXPECT_EQ(s.add_plan(plan("a"), {row("ranked", 1)}), 1);
  }
  EXPECT_EQ(user_version(path), 4);
  EXPECT_EQ(kSchemaVersion, 4);
  RunStore runs = RunStore::open(path);
  ASSERT_EQ(runs.runs().size(), 1u);
  EXPECT_EQ(runs.runs()[0].scenario, "a.yaml");
  std::filesystem::remove(path);
}

}  // namespace fathom::store
