#include "common/units.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace fathom {

TEST(ParseQuantity, DecimalAndBinaryPrefixes) {
  EXPECT_DOUBLE_EQ(parse_quantity("3.35 TB/s", Dimension::kByteRate), 3.35e12);
  EXPECT_DOUBLE_EQ(parse_quantity("80 GiB", Dimension::kBytes), 80.0 * 1073741824.0);
  EXPECT_DOUBLE_EQ(parse_quantity("50 MiB", Dimension::kBytes), 50.0 * 1048576.0);
  EXPECT_DOUBLE_EQ(parse_quantity("989.4 TFLOP/s", Dimension::kFlopRate), 989.4e12);
  EXPECT_DOUBLE_EQ(parse_quantity("1978.9 TOP/s", Dimension::kFlopRate), 1978.9e12);
  EXPECT_DOUBLE_EQ(parse_quantity("1980 MHz", Dimension::kFrequency), 1.98e9);
  EXPECT_DOUBLE_EQ(parse_quantity("700 W", Dimension::kPower), 700.0);
  EXPECT_DOUBLE_EQ(parse_quantity("3 us", Dimension::kTime), 3e-6);
  EXPECT_DOUBLE_EQ(parse_quantity("1.5ms", Dimension::kTime), 1.5e-3);
}

TEST(ParseQuantity, BitsAreEighthsOfBytes) {
  EXPECT_DOUBLE_EQ(parse_quantity("400 Gb/s", Dimension::kByteRate), 50e9);
}

TEST(ParseQuantity, CountsTakeMagnitudeSuffixes) {
  EXPECT_DOUBLE_EQ(parse_quantity("4M", Dimension::kCount), 4e6);
  EXPECT_DOUBLE_EQ(parse_quantity("2T", Dimension::kCount), 2e12);
  EXPECT_DOUBLE_EQ(parse_quantity("8.03e9", Dimension::kCount), 8.03e9);
}

TEST(ParseQuantity, RejectsWrongDimensionAndGarbage) {
  EXPECT_THROW(parse_quantity("80 GiB", Dimension::kByteRate), std::invalid_argument);
  EXPECT_THROW(parse_quantity("fast", Dimension::kByteRate), std::invalid_argument);
  EXPECT_THROW(parse_quantity("", Dimension::kBytes), std::invalid_argument);
  EXPECT_THROW(parse_quantity("3 parsecs", Dimension::kTime), std::invalid_argument);
}

TEST(Quantity, DividingWorkByRateGivesSeconds) {
  Seconds t = Flops(2e12) / FlopRate(1e12);
  EXPECT_DOUBLE_EQ(t.value(), 2.0);
  Seconds u = Bytes(3e9) / ByteRate(1.5e9);
  EXPECT_DOUBLE_EQ(u.value(), 2.0);
}

}  // namespace fathom
