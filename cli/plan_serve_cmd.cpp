// `fathom plan serve PLAN.yaml` (docs/planning.md): reads the plan and its flags, runs
// plan::plan_serve and hands the report to finish_plan.
#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/plan_cmd.h"
#include "cli/progress.h"
#include "common/error.h"
#include "common/interrupt.h"
#include "common/version.h"
#include "common/yaml.h"
#include "hw/catalog.h"
#include "plan/plan_serve.h"
#include "sim/model/model_catalog.h"

namespace fathom::cli {

namespace fs = std::filesystem;

int cmd_plan_serve(const PlanFlags& flags, const CommonFlags& f) {
  check_plan_flags(flags, f);
  const ProgressMode mode = parse_progress_mode(flags.progress);
  const std::vector<YamlOverride> sets = plan_overrides(flags);
  const plan::PlanInput input = plan::load_plan_input(flags.plan, sets);
  plan::ServePlanSpec spec = plan::parse_serve_plan(input, flags.plan);
  auto hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
  auto mc = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());
  hwc.apply_profile_choice(f.profile, "--profile");
  spec.profile_defaults = f.profile == "defaults";
  // $/GPU-hour of each candidate GPU, by its catalog name: --prices, else the plan's prices,
  // else the catalog's (names or aliases in either file).
  const std::map<std::string, double> flag_prices = flags.prices.empty() ? std::map<std::string, double>{}
                                                                          : plan::load_prices(flags.prices);
  spec.prices = plan::serve_plan_prices(spec, flag_prices, hwc, flags.plan);

  std::atomic<bool> stop{false};
  ProgressLine line("plan serve", "candidates", mode);
  plan::PlanOptions o;
  o.jobs = static_cast<int>(flags.jobs);
  o.cancel = &stop;
  o.database = flags.db;
  auto draw = plan_progress(line);
  o.on_progress = [&](const plan::PlanProgress& p) {
    if (interrupt::received() != 0) stop = true;  // stop at the next simulator run
    if (draw) draw(p);
  };
  plan::PlanReport report;
  {
    // A signal stops the plan at the next simulator run; the runs finished so far are in --db
    // for the next run. The process then ends with 130/143 once the database is closed.
    interrupt::Defer defer;
    try {
      report = plan::plan_serve(spec, input, hwc, mc, o);
    } catch (const Cancelled& e) {
      line.finish();
      std::cerr << "fathom: interrupted: " << e.what()
                << (flags.db.empty() ? "" : "; the simulator runs so far are kept in " + flags.db + " for the next run") << "\n";
      return 130;
    }
  }
  line.finish();
  return finish_plan(report, flags, f);
}

}  // namespace fathom::cli
