#include "cli/progress.h"

#include <unistd.h>

#include <iostream>
#include <utility>

#include <fmt/format.h>

#include "common/error.h"

namespace fathom::cli {

std::string to_string(ProgressMode mode) {
  switch (mode) {
    case ProgressMode::kAuto: return "auto";
    case ProgressMode::kJsonl: return "jsonl";
    case ProgressMode::kNone: return "none";
  }
  return "?";
}

ProgressMode parse_progress_mode(const std::string& text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "jsonl") return ProgressMode::kJsonl;
  if (text == "none") return ProgressMode::kNone;
  throw FlagError("--progress", "expected auto, jsonl or none, found '" + text + "'");
}

std::string clock_text(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const auto t = static_cast<int64_t>(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
}

ProgressLine::ProgressLine(std::string label, std::string unit, ProgressMode mode)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      tty_(mode == ProgressMode::kAuto && ::isatty(2) == 1),
      jsonl_(mode == ProgressMode::kJsonl),
      start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(int64_t done, int64_t total) {
  if (!tty_ && !jsonl_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double eta = done > 0 ? elapsed * static_cast<double>(total - done) / static_cast<double>(done) : -1;
  if (jsonl_) {
    std::cerr << fmt::format("{{\"done\":{},\"total\":{},\"elapsed_s\":{:.3f},\"eta_s\":{:.1f},\"task\":\"{}\"}}\n", done,
                             total, elapsed, eta < 0 ? 0.0 : eta, label_)
              << std::flush;
    return;
  }
  const double pct = total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
  std::cerr << fmt::format("\r{}: {}/{} {} ({:.1f}%), ETA {}\033[K", label_, done, total, unit_, pct, clock_text(eta))
            << std::flush;
  drawn_ = true;
}

std::function<void(int64_t, int64_t)> ProgressLine::callback() {
  if (!tty_ && !jsonl_) return {};
  return [this](int64_t done, int64_t total) { update(done, total); };
}

void ProgressLine::finish() {
  if (drawn_) std::cerr << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace fathom::cli
