// The Train page's charts (gui/pages/train_views.h): the step-time and memory breakdowns of one
// configuration, each part a field of train::TrainResult (docs/training.md, "Time per step" and
// "Memory per GPU"; the Breakdown table names each part in full). Every part keeps its colour
// whatever else is shown, so two screenshots compare at a glance; names are short because the
// legend sits beside a single bar.
#include <fmt/format.h>

#include "gui/pages/train_views.h"

namespace fathom::gui::training {

namespace {

struct Part {
  const char* name;
  double value;
  const char* color;
};

Chart stacked(std::string title, std::string y_title, std::string category, const std::vector<Part>& parts,
              const std::string& empty_text) {
  Chart c;
  c.title = std::move(title);
  c.y.title = std::move(y_title);
  c.y.min = 0.0;
  c.empty_text = empty_text;
  c.x.categories = {std::move(category)};
  c.legend_right = true;
  for (const Part& p : parts) {
    if (p.value <= 0) continue;
    Series s;
    s.name = p.name;
    s.kind = SeriesKind::kStackedBar;
    s.y = {p.value};
    s.color = p.color;
    c.series.push_back(std::move(s));
  }
  return c;
}

}  // namespace

Chart step_time_chart(const train::TrainResult* r, const std::string& empty_text) {
  if (r == nullptr) return stacked("Time per step", "seconds per optimizer step", "step", {}, empty_text);
  const train::TimeBreakdown& T = r->time;
  return stacked(fmt::format("Time per step: {:.4g} s", T.step), "seconds per optimizer step",
                 "step",
                 {{"forward", T.forward, "#4e79a7"},
                  {"backward", T.backward, "#76b7b2"},
                  {"recompute", T.recompute, "#a0cbe8"},
                  {"TP comm", T.tp_comm, "#f28e2b"},
                  {"CP comm", T.cp_comm, "#ffbe7d"},
                  {"EP a2a", T.ep_comm, "#b07aa1"},
                  {"PP p2p", T.pp_comm, "#d4a6c8"},
                  {"bubble", T.bubble, "#e15759"},
                  {"DP comm", T.dp_comm, "#59a14f"},
                  {"step tail", T.step_tail.exposed, "#8cd17d"},
                  {"contention", T.contention, "#ff9d9a"},
                  {"host", T.host, "#bab0ac"},
                  {"optimizer", T.optimizer, "#edc948"},
                  {"offload", T.offload, "#9c755f"}},
                 empty_text);
}

Chart memory_chart(const train::TrainResult* r, const std::string& empty_text) {
  if (r == nullptr) return stacked("Memory per GPU", "GiB per GPU", "GPU", {}, empty_text);
  const train::MemoryBreakdown& M = r->memory;
  Chart c = stacked(fmt::format("Memory per GPU: {:.1f} of {:.0f} GiB{}", M.total / kGiB, M.capacity / kGiB,
                                M.fits() ? "" : " (does not fit)"),
                    "GiB per GPU", "GPU",
                    {{"weights", M.weights / kGiB, "#4e79a7"},
                     {"gradients", M.gradients / kGiB, "#76b7b2"},
                     {"optimizer", M.optimizer / kGiB, "#edc948"},
                     {"activations", M.activations / kGiB, "#f28e2b"},
                     {"buffers", M.buffers / kGiB, "#b07aa1"},
                     {"runtime", M.runtime / kGiB, "#9c755f"},
                     {"fragment.", M.fragmentation / kGiB, "#bab0ac"}},
                    empty_text);
  c.lines.push_back({"HBM", true, M.capacity / kGiB});
  return c;
}

}  // namespace fathom::gui::training
