// `fathom plan train` (docs/planning-train.md): reads the plan and the flags, runs
// plan::plan_train and hands its report to finish_plan.
#include <filesystem>

#include "cli/plan_cmd.h"
#include "cli/progress.h"
#include "common/version.h"
#include "hw/catalog.h"
#include "plan/plan_train.h"
#include "sim/model/model_catalog.h"

namespace fathom::cli {

namespace fs = std::filesystem;

int cmd_plan_train(const PlanFlags& flags, const CommonFlags& f) {
  check_plan_flags(flags, f);
  const plan::PlanInput input = plan::load_plan_input(flags.plan, plan_overrides(flags));
  const auto prices = flags.prices.empty() ? std::map<std::string, double>{} : plan::load_prices(flags.prices);
  const auto hwc = hw::HardwareCatalog::load((fs::path(data_dir()) / "hardware").string());
  const auto mc = model::ModelCatalog::load((fs::path(data_dir()) / "models").string());
  // SIGINT ends the process (common/interrupt.h), so the CLI needs no cancellation token.
  ProgressLine line("plan train", "steps", parse_progress_mode(flags.progress));
  plan::PlanOptions options;
  options.jobs = static_cast<int>(flags.jobs);
  options.on_progress = plan_progress(line);
  const plan::PlanReport report = plan::plan_train(input, prices, hwc, mc, options);
  line.finish();
  return finish_plan(report, flags, f);
}

}  // namespace fathom::cli
