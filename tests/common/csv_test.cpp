#include <gtest/gtest.h>

#include "common/csv.h"
#include "common/error.h"

namespace fathom {
namespace {

TEST(Csv, QuotesBomCrlfAndComments) {
  const std::string text = "\xEF\xBB\xBF# comment\r\na,b,c\r\n1,\"x, \"\"y\"\"\",3\r\n\r\n4,5,6";
  CsvTable t = CsvTable::parse(text, "t.csv");
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.header()[0], "a");
  EXPECT_EQ(t.cell(0, 1), "x, \"y\"");
  EXPECT_EQ(t.number(1, t.column("c")), 6.0);
  EXPECT_EQ(t.line(1), 5);
  // A header that starts with '#' is data when comments are off.
  CsvTable h = CsvTable::parse("# GPUs,b\n8,1\n", "h.csv", false);
  EXPECT_EQ(h.column("# GPUs"), 0u);
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  try {
    CsvTable::parse("a,b\n1,2\n3\n", "f.csv");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "f.csv:3: expected 2 cells as in the header, found 1");
  }
  CsvTable t = CsvTable::parse("a,b\n1,x\n", "g.csv");
  try {
    t.number(0, 1);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "g.csv:2: column 'b': expected a number, found 'x'");
  }
  EXPECT_THROW(t.column("zz"), InputError);
  EXPECT_THROW(CsvTable::parse("a\n\"open", "q.csv"), InputError);
  EXPECT_THROW(CsvTable::parse("", "e.csv"), InputError);
}

}  // namespace
}  // namespace fathom
