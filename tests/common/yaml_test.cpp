#include "common/yaml.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/input_file.h"
#include "common/suggest.h"

namespace fathom {

TEST(Utf8, AcceptsWellFormedAndFindsTheFirstBadByte) {
  EXPECT_EQ(invalid_utf8_at("plain ascii"), std::string::npos);
  EXPECT_EQ(invalid_utf8_at("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string::npos);  // été € 😀
  EXPECT_EQ(invalid_utf8_at("ab\xC7"), 2u);                  // Latin-1 Ç, a lead byte with nothing after
  EXPECT_EQ(invalid_utf8_at("a\xC0\xAF"), 1u);              // overlong '/'
  EXPECT_EQ(invalid_utf8_at("\xED\xA0\x80"), 0u);          // a surrogate (U+D800)
  EXPECT_EQ(invalid_utf8_at("\xF4\x90\x80\x80"), 0u);      // above U+10FFFF
  EXPECT_EQ(invalid_utf8_at("ok\x80"), 2u);                  // a lone continuation byte
  EXPECT_EQ(invalid_utf8_at("\xE2\x82"), 0u);               // cut short
  try {
    parse_yaml("a: 1\nname: x\xFFy\n", "t.yaml");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "t.yaml:2: expected UTF-8 text, found the byte 0xFF at column 8");
  }
}

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
