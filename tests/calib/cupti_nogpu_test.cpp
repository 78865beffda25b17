// CUDA builds only (links fathom_cupti). Holds on any machine: with no driver CUPTI refuses and
// the tracer says which call refused; with a GPU the tracer starts. Either way nothing crashes.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "calib/cupti/nvml.h"
#include "calib/cupti/tracer.h"

namespace fathom::calib::cupti {
namespace {

// Starts a tracer, or returns null with the refusal in `error`.
std::unique_ptr<ActivityTracer> try_start(std::string& error) {
  try {
    return std::make_unique<ActivityTracer>(TracerOptions{});
  } catch (const std::runtime_error& e) {
    error = e.what();
    return nullptr;
  }
}

TEST(ActivityTracerWithoutGpu, StartsOrNamesTheCuptiCallThatRefused) {
  std::string error;
  auto tracer = try_start(error);
  if (tracer == nullptr) {
    EXPECT_EQ(error.rfind("CUPTI cupti", 0), 0u) << error;
    EXPECT_NE(error.find("expected CUPTI_SUCCESS"), std::string::npos) << error;
  } else {
    EXPECT_NO_THROW(tracer->take_kernels());
    EXPECT_EQ(tracer->dropped(), 0u);
  }
}

TEST(ActivityTracerWithoutGpu, AFailedStartLeavesRoomForTheNextTracer) {
  std::string first, second;
  auto a = try_start(first);
  if (a != nullptr) GTEST_SKIP() << "CUPTI started here: this test is about refusals";
  auto b = try_start(second);
  EXPECT_EQ(b, nullptr);
  // Refused by CUPTI again, not by the one-tracer-per-process rule.
  EXPECT_EQ(second.find("already running"), std::string::npos) << second;
}

TEST(ActivityTracerWithoutGpu, ASecondTracerIsRefusedWhileOneRuns) {
  std::string error;
  auto first = try_start(error);
  if (first == nullptr) GTEST_SKIP() << "CUPTI refused here (" << error << ")";
  try {
    ActivityTracer second;
    FAIL() << "two tracers ran at once";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("already running"), std::string::npos) << e.what();
  }
}

TEST(ActivityTracerWithoutGpu, RefusesATinyBufferNamingTheField) {
  TracerOptions o;
  o.buffer_bytes = 100;
  try {
    ActivityTracer t(o);
    FAIL() << "a 100-byte buffer was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("buffer_bytes"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("100"), std::string::npos) << e.what();
  }
}

TEST(NvmlWithoutGpu, QuerySaysWhyWhenThereIsNoDriver) {
  std::string why;
  const std::optional<nvml::DeviceInfo> info = nvml::query("", &why);
  if (!info) {
    EXPECT_FALSE(why.empty());
    // And clocks() of the same missing device are empty, not a crash.
    const nvml::Clocks c = nvml::clocks("");
    EXPECT_FALSE(c.sm_mhz.has_value());
    EXPECT_FALSE(c.memory_mhz.has_value());
  } else {
    EXPECT_FALSE(info->name.empty());
    EXPECT_EQ(info->uuid.rfind("GPU-", 0), 0u) << info->uuid;
  }
}

TEST(NvmlWithoutGpu, AnUnknownPciBusIdIsRefusedNotACrash) {
  std::string why;
  const auto info = nvml::query("ffff:ff:1f.7", &why);
  EXPECT_FALSE(info.has_value());
  EXPECT_FALSE(why.empty());
}

}  // namespace
}  // namespace fathom::calib::cupti
