#include "common/yaml.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/suggest.h"

namespace fathom {

TEST(Yaml, SyntaxErrorNamesFileAndLine) {
  try {
    parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "s.yaml");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("s.yaml:"), std::string::npos) << e.what();
  }
}

TEST(Yaml, WrongTypeNamesKeyLineAndValue) {
  auto root = parse_yaml("x: 1\nserve:\n  tp: eight\n", "s.yaml");
  try {
    root.at("serve").at("tp").as_positive_int();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "s.yaml:3: 'serve.tp': expected a positive integer, found 'eight'");
  }
}

TEST(Yaml, NegativeCountIsRejected) {
  auto root = parse_yaml("n: -4\n", "s.yaml");
  EXPECT_THROW(root.at("n").as_positive_int(), InputError);
}

TEST(Yaml, UnknownKeySuggestsClosest) {
  auto root = parse_yaml("modle: x\n", "s.yaml");
  try {
    root.expect_keys({"model", "hardware"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "s.yaml:1: unknown key 'modle' (did you mean 'model'?)");
  }
}

TEST(Yaml, MissingKeyNamesIt) {
  auto root = parse_yaml("a: 1\n", "s.yaml");
  try {
    root.at("model");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing required key 'model'"), std::string::npos);
  }
}

TEST(Suggest, ClosestNamesRankTyposFirst) {
  auto c = closest_names("h100-smx", {"h100-sxm", "h200-sxm", "a100-sxm-80gb", "l4"});
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0], "h100-sxm");
}

}  // namespace fathom
