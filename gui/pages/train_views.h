#pragma once
// What the Train page shows, built from library results as gui::Chart and gui::Table (free of
// Qt): the step-time and memory breakdowns of one configuration (train::TrainModel::evaluate, the
// call `fathom train` makes), its headline figures, and the ranked layouts of a search
// (train::search, as `fathom train --search`). No model code: every number is a field of a
// TrainResult or SearchResult, at most converted to the unit its column names; tooltips say where
// it comes from (the efficiency source, the formula, the docs/training.md section).
#include <string>

#include "gui/chart/chart.h"
#include "gui/table/table.h"
#include "sim/scenario.h"
#include "sim/train/search.h"

namespace fathom::gui::training {

// Units the page shows (the CLI prints the same conversions): GiB = 2^30 bytes, days = 86,400 s.
inline constexpr double kGiB = 1073741824.0;
inline constexpr double kDay_s = 86400.0;

// "kernels priced by documented defaults" (sim::efficiency_source) and the model behind it.
std::string priced_by(const sim::Scenario& s);

// Seconds per optimizer step as one stacked bar: forward, backward and recomputation (compute),
// exposed TP, CP, EP (all-to-all), PP (send/receive, "p2p") and DP communication, pipeline
// bubble, optimizer, offload; parts that are zero are left out. No result: an empty chart saying
// `empty_text`.
Chart step_time_chart(const train::TrainResult* r, const std::string& empty_text);
// GiB per GPU on the stage that needs most as one stacked bar (weights, gradients, optimizer
// state, activations, buffers, runtime, fragmentation) against the GPU's memory (a line).
Chart memory_chart(const train::TrainResult* r, const std::string& empty_text);

// The headline figures, one per row (figure, value, unit): step, tokens/s, MFU, HFU, memory per
// GPU and its capacity and margin, and with train.tokens the time, GPU-hours, dollars and energy
// to train. Row names are stable (tests look them up with figure_row).
Table figures_table(const sim::Scenario& s, const train::TrainResult& r);
// The row of `figure` in figures_table (e.g. "step"), -1 when absent.
int figure_row(const Table& t, const std::string& figure);

// The two breakdowns as rows (part, value, unit, share of the step or of the total).
Table breakdown_table(const sim::Scenario& s, const train::TrainResult& r);

// The ranked configurations of a search, best first: rank, GPUs, layout phrase, degrees,
// microbatch, recomputation, ZeRO, step, tokens/s, MFU, HFU, memory, margin, and with tokens
// the time, GPU-hours and dollars to train. Column names are the ones search_column finds.
Table search_table(const sim::Scenario& s, const train::SearchResult& r, train::RankBy rank);
int search_column(const Table& t, const std::string& name);

// The rejected configurations by the field at fault (memory, parallel.tp, ...): count, example.
Table rejections_table(const train::SearchResult& r);

// "10,258 configurations costed, 3,454 feasible, 7,920 rejected".
std::string search_summary(const train::SearchResult& r);

}  // namespace fathom::gui::training
