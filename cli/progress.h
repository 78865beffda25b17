#pragma once
// Progress of a long library call on standard error, for the commands that take
// `--progress auto|jsonl|none` (docs/user_guide.md, "Progress"). The library reports
// (done, total) through a callback; this draws it, in the same forms as `fathom sweep`:
//   auto   a line redrawn in place ("\rLABEL: DONE/TOTAL UNIT (P%), ETA M:SS\033[K") when
//          standard error is a terminal, cleared when the call ends; nothing otherwise, so a
//          log or a pipe sees no control characters;
//   jsonl  one JSON object per report, for programs that watch a run:
//          {"done":D,"total":T,"elapsed_s":S,"eta_s":E,"task":"LABEL"}; the last has D == T;
//   none   nothing.
// Standard output is untouched, so a report written there is the same in every mode.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace fathom::cli {

enum class ProgressMode { kAuto, kJsonl, kNone };
std::string to_string(ProgressMode mode);

// An ETA or duration as M:SS, or H:MM:SS past an hour; "?" when unknown.
std::string clock_text(double s);
// "auto", "jsonl" or "none"; anything else throws FlagError naming --progress.
ProgressMode parse_progress_mode(const std::string& text);

class ProgressLine {
 public:
  // `label` names the call ("train search"), `unit` what is counted ("configurations"); both
  // are plain text from the command (written into JSON unescaped).
  ProgressLine(std::string label, std::string unit, ProgressMode mode);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Draws (done, total). Calls must not overlap (the library's callbacks never do).
  void update(int64_t done, int64_t total);
  // update() as the library's on_progress; empty when nothing would be drawn, so that the
  // library does no progress work at all.
  std::function<void(int64_t, int64_t)> callback();
  // Clears the terminal line (also done by the destructor); call before printing to stderr.
  void finish();

 private:
  std::string label_, unit_;
  bool tty_ = false, jsonl_ = false, drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace fathom::cli
