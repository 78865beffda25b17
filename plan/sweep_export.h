#pragma once
// Tidy exports of a stored sweep: one row per point (ascending), one column per axis path and
// per metric, in a fixed order, so that the same results give the same bytes however they were
// computed (threads, shards, MPI ranks, resumes).
#include <iosfwd>
#include <string>

#include "store/sweep_store.h"

namespace fathom::plan {

// The sweep of `db` that `which` names: its name, or a prefix (≥ 6 hex digits) of its spec hash;
// empty: the only sweep in the file. Throws InputError listing the sweeps when none or several match.
store::SweepInfo pick_sweep(const store::SweepStore& db, const std::string& which, const std::string& db_path);

// Columns: point, the axis paths, status, verdict, seed, every metric (in the order the first
// point reporting it gives), scenario_hash, message.
void export_csv(std::ostream& os, const store::SweepStore& db, const store::SweepInfo& sweep);
void export_json(std::ostream& os, const store::SweepStore& db, const store::SweepInfo& sweep);

}  // namespace fathom::plan
