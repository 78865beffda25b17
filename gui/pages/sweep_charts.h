#pragma once
// A stored sweep (plan/sweep_table.h) as the sweep view of the Plans & sweeps page and
// `fathom-plot sweep` draw it: one metric against one axis, in series by a third axis, on the
// points the filters keep; and the tidy table `fathom sweep export` writes (docs/gui-plans.md).
#include <string>

#include "gui/chart/chart.h"
#include "gui/table/table.h"
#include "plan/sweep_table.h"

namespace fathom::gui {

// The chart of plan::select_sweep's result. Lines where each x appears once in a series, else
// markers (an axis left unfiltered puts several points at one x). `logx`/`logy`: base-10 axes.
Chart sweep_chart(const plan::SweepTable& t, const plan::SweepSelection& s, const plan::SweepPlot& p, bool logx, bool logy);

// The tidy table as shown (every stored point; its CSV is plan::sweep_table_csv, the bytes of
// `fathom sweep export`).
Table sweep_table(const plan::SweepTable& t);

}  // namespace fathom::gui
