#include "store/run_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/error.h"
#include "store/temp_db.h"

namespace fathom::store {

TEST(RunStore, CreatesSchemaAndKeepsRunsAcrossReopen) {
  const std::string path = temp_db("runs");
  {
    RunStore s = RunStore::open(path);
    EXPECT_EQ(s.schema_version(), kSchemaVersion);
    RunRecord r;
    r.command = "estimate";
    r.scenario = "a.yaml";
    r.fathom_version = "0.1.0";
    r.result_json = "{\"x\": 1}";
    EXPECT_EQ(s.add_run(r), 1);
    r.scenario = "b.yaml";
    EXPECT_EQ(s.add_run(r), 2);
  }
  RunStore again = RunStore::open(path);
  auto runs = again.runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].scenario, "b.yaml");
  EXPECT_EQ(runs[0].result_json, "{\"x\": 1}");
  EXPECT_FALSE(runs[0].created_at.empty());
  std::filesystem::remove(path);
}

TEST(RunStore, RefusesAFileThatIsNotADatabase) {
  const std::string path = temp_db("garbage");
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fputs("this is not a database, it is text long enough to fill a header page..........", f);
    std::fclose(f);
  }
  EXPECT_THROW(RunStore::open(path), InputError);
  std::filesystem::remove(path);
}

}  // namespace fathom::store
