// --set overrides and the resolved scenario text (sim::resolve_scenario).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "catalog_fixture.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/version.h"
#include "sim/estimate.h"
#include "sim/scenario.h"

namespace fathom::sim {
namespace {

std::string scenario(const std::string& name) { return data_dir() + "/scenarios/" + name; }

ResolvedScenario resolve(const std::string& name, const std::vector<std::string>& sets) {
  ResolveOptions o;
  for (const auto& s : sets) o.overrides.push_back(parse_override(s));
  return resolve_scenario(scenario(name), test::hardware(), test::models(), o);
}

std::string error_of(const std::string& name, const std::vector<std::string>& sets) {
  try {
    resolve(name, sets);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Sha256, KnownVectors) {  // FIPS 180-4 examples
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Overrides, SetValuesChangeTheScenarioExactlyAsTheFileWould) {
  const auto base = resolve("llama3.1-70b-decode-h100.yaml", {});
  const auto tp4 = resolve("llama3.1-70b-decode-h100.yaml", {"serve.parallel.tp=4", "hardware.gpu=h200-sxm"});
  EXPECT_EQ(base.scenario.serve->layout.tp, 8);
  EXPECT_EQ(tp4.scenario.serve->layout.tp, 4);
  EXPECT_EQ(tp4.scenario.gpu.name, test::hardware().gpu("h200-sxm", "test").name);
  EXPECT_NE(base.hash, tp4.hash);
  // A list value and a map value; a later override wins; null removes a key.
  const auto m = resolve("llama3.1-70b-decode-h100.yaml", {"serve.parallel={tp: 2, pp: 1}", "serve.parallel.tp=4",
                                                             "precision.kv_cache=null"});
  EXPECT_EQ(m.scenario.serve->layout.tp, 4);
  EXPECT_EQ(m.text.find("kv_cache"), std::string::npos);
  // The same text (and numbers) from the resolved text alone.
  const auto again = resolve_scenario_text(tp4.text, "<stored>", test::hardware(), test::models());
  EXPECT_EQ(again.text, tp4.text);
  EXPECT_EQ(again.hash, tp4.hash);
  EXPECT_EQ(estimate(again.scenario, EstimateKind::kServeIteration).total_s,
            estimate(tp4.scenario, EstimateKind::kServeIteration).total_s);
}

TEST(Overrides, ErrorsNameTheOverride) {
  const std::string f = "llama3.1-70b-decode-h100.yaml";
  EXPECT_EQ(error_of(f, {"serve.parallel.tpp=4"}).rfind("--set serve.parallel.tpp=4: unknown key 'serve.parallel.tpp'", 0), 0u)
      << error_of(f, {"serve.parallel.tpp=4"});
  EXPECT_EQ(error_of(f, {"serve.iteration.sequences=-1"}).rfind("--set serve.iteration.sequences=-1: ", 0), 0u);
  // A check over several keys names the file's line and the override inside it.
  EXPECT_NE(error_of(f, {"serve.parallel.tp=3"}).find(":14 (with --set serve.parallel.tp=3)"), std::string::npos)
      << error_of(f, {"serve.parallel.tp=3"});
  EXPECT_NE(error_of(f, {"model.x=1"}).find("expected a map at 'model'"), std::string::npos);
  EXPECT_NE(error_of(f, {"serve.parallel.tp=[1"}).find("syntax error"), std::string::npos);
  EXPECT_THROW(parse_override("serve.parallel.tp"), FlagError);
  EXPECT_THROW(parse_override("=4"), FlagError);
  EXPECT_THROW(parse_override("a..b=4"), FlagError);
  EXPECT_THROW(parse_override("a[x]=4"), FlagError);
  EXPECT_THROW(parse_override("a.b= "), FlagError);
}

TEST(Overrides, ListElementsByIndex) {
  YamlNode doc = parse_yaml("a:\n  - {x: 1}\n  - {x: 2}\nb: 3\n", "t.yaml");
  doc = apply_overrides(doc, {parse_override("a[1].x=5"), parse_override("a.0.x=7"), parse_override("a[2]=9")});
  EXPECT_EQ(doc.at("a").items()[0].at("x").as_int(), 7);
  EXPECT_EQ(doc.at("a").items()[1].at("x").as_int(), 5);
  EXPECT_EQ(doc.at("a").items()[2].as_int(), 9);
  EXPECT_EQ(doc.at("a").items()[1].at("x").where(), "--set a[1].x=5");
  EXPECT_EQ(doc.at("b").where(), "t.yaml:4");
  YamlNode d2 = parse_yaml("a: [1]\n", "t.yaml");
  EXPECT_THROW(apply_overrides(d2, {parse_override("a[3]=1")}), FlagError);
  // A missing key on the way is created: a list before an index, else a map.
  YamlNode d4 = apply_overrides(parse_yaml("a: 1\n", "t.yaml"), {parse_override("b.c[0]=4"), parse_override("d.e=5")});
  EXPECT_EQ(d4.at("b").at("c").items().at(0).as_int(), 4);
  EXPECT_EQ(d4.at("d").at("e").as_int(), 5);
  YamlNode d3 = parse_yaml("a: 1\n", "t.yaml");
  EXPECT_THROW(apply_overrides(d3, {parse_override("a.b=1")}), FlagError);
}

TEST(Overrides, ResolvedTextMakesPathsAbsoluteAndNamesTheProfile) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("fathom_resolve_" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  fs::copy_file(data_dir() + "/models/llama-3.1-8b.yaml", dir / "sub" / "m.yaml", fs::copy_options::overwrite_existing);
  {
    std::ofstream f(dir / "s.yaml");
    f << "model: sub/m.yaml\nhardware: {gpu: h100-sxm}\nserve:\n  parallel: {tp: 1}\n  iteration: {phase: decode, "
         "sequences: 8, context: 512}\n";
  }
  ResolveOptions o;
  o.profile = "defaults";
  const auto r = resolve_scenario((dir / "s.yaml").string(), test::hardware(), test::models(), o);
  EXPECT_NE(r.text.find((dir / "sub" / "m.yaml").string()), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("profile: defaults"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("name: s"), std::string::npos) << r.text;
  const auto again = resolve_scenario_text(r.text, "<stored>", test::hardware(), test::models());
  EXPECT_EQ(again.hash, r.hash);
  EXPECT_EQ(again.scenario.profile, nullptr);
  fs::remove_all(dir);
}

}  // namespace fathom::sim
