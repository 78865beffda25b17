#include "sim/model/hf_import.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "catalog_fixture.h"
#include "sim/model/params.h"

namespace fathom::model {

namespace {
std::string hf(const char* f) { return std::string(FATHOM_TEST_DATA_DIR) + "/hf/" + f; }
}  // namespace

// Imported configs must count the same parameters as the catalog entries (written
// independently from the model cards), and the released totals.
TEST(HfImport, ReleasedConfigsMatchTheCatalog) {
  struct Case { const char* file; const char* catalog; };
  for (const auto& c : {Case{"llama-3.1-8b.json", "llama-3.1-8b"}, Case{"mistral-7b-v0.3.json", "mistral-7b"},
                        Case{"mixtral-8x7b.json", "mixtral-8x7b"}, Case{"qwen2.5-7b.json", "qwen2.5-7b"},
                        Case{"deepseek-v3.json", "deepseek-v3"}}) {
    ModelSpec m = import_hf_config(hf(c.file));
    const ModelSpec& ref = *test::models().find(c.catalog);
    EXPECT_DOUBLE_EQ(count_params(m).total, count_params(ref).total) << c.file;
    EXPECT_DOUBLE_EQ(count_params(m).active, count_params(ref).active) << c.file;
  }
}

TEST(HfImport, Qwen3KeepsItsExplicitHeadDim) {
  ModelSpec m = import_hf_config(hf("qwen3-8b.json"));
  EXPECT_EQ(m.attention.head_dim, 128);
  EXPECT_EQ(m.attention.kv_heads, 8);
  // Qwen3-8B: 8.19B parameters (model card), of which q/k norms (2 × 128 per layer) are not
  // represented here: 36 × 256 = 9,216 parameters.
  EXPECT_NEAR(count_params(m).total / 8.19e9, 1.0, 0.005);
}

TEST(HfImport, WrittenYamlReadsBackIdentically) {
  ModelSpec m = import_hf_config(hf("deepseek-v3.json"), "dsv3");
  ModelSpec back = parse_model(parse_yaml(to_yaml(m), "roundtrip.yaml"));
  EXPECT_EQ(back.name, "dsv3");
  EXPECT_DOUBLE_EQ(count_params(back).total, count_params(m).total);
  EXPECT_DOUBLE_EQ(count_params(back).active, count_params(m).active);
}

// Found by tests/fuzz/fuzz_model (regressions/model/source_with_quotes.yaml): text fields were
// written unquoted or quoted without escapes, so a source with quotes, a name with ": " or an
// activation with '#' produced a file that parse_model rejected.
TEST(HfImport, WrittenYamlKeepsTextWithQuotesColonsAndHashes) {
  ModelSpec m = import_hf_config(hf("llama-3.1-8b.json"), "my: model #1");
  m.display_name = "Llama \"8B\" \\ test";
  m.source = "\"Qwen/Qwen2.5-7B config.json\"";
  m.ffn.activation = "silu # gated";
  ModelSpec back = parse_model(parse_yaml(to_yaml(m), "roundtrip.yaml"));
  EXPECT_EQ(back.name, m.name);
  EXPECT_EQ(back.display_name, m.display_name);
  EXPECT_EQ(back.source, m.source);
  EXPECT_EQ(back.ffn.activation, m.ffn.activation);
}

// Found by tests/fuzz/fuzz_hf_config (regressions/hf_config/max_position_zero.json): a
// max_position_embeddings of 0 (or -0) was imported, and the catalog file written from it refused.
TEST(HfImport, ZeroMaxPositionIsAnInputErrorWithTheLine) {
  const auto path = std::filesystem::temp_directory_path() / "fathom_hf_max_position_zero.json";
  std::ofstream(path) << "{\"model_type\": \"llama\", \"vocab_size\": 32000, \"hidden_size\": 512,\n"
                         " \"intermediate_size\": 1376, \"num_hidden_layers\": 4, \"num_attention_heads\": 8,\n"
                         " \"max_position_embeddings\": -0e309}\n";
  try {
    import_hf_config(path.string());
    FAIL() << "a max_position_embeddings of 0 was imported";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path.string() + ":3"), std::string::npos) << what;
    EXPECT_NE(what.find("max_position_embeddings"), std::string::npos) << what;
  }
  std::filesystem::remove(path);
}

TEST(HfImport, UnsupportedFamilyIsAnInputError) {
  try {
    import_hf_config(std::string(FATHOM_TEST_DATA_DIR) + "/bad/hf_unknown_family.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("expected one of llama, mistral"), std::string::npos) << e.what();
  }
}

}  // namespace fathom::model
