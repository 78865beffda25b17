// `fathom plan serve|train|total|export`: the flags, and the end every planner shares (render,
// --emit-scenario, --db). The planners themselves are in plan/ (docs/planning.md).
#include "cli/plan_cmd.h"

#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/progress.h"
#include "cli/report.h"
#include "cli/table.h"
#include "common/error.h"
#include "common/interrupt.h"
#include "common/output.h"
#include "common/version.h"
#include "common/yaml.h"
#include "plan/plan_record.h"
#include "plan/plan_report.h"
#include "store/plan_store.h"

namespace fathom::cli {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

std::string cell_text(const plan::PlanValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  const double d = std::get<double>(v);
  if (!std::isfinite(d)) return "-";
  if (d == std::floor(d) && std::fabs(d) < 1e15) return fmt::format("{:.0f}", d);
  if (std::fabs(d) >= 1000) return fmt::format("{:.0f}", d);
  return fmt::format("{:.4g}", d);
}

std::string render_table(const plan::PlanReport& r) {
  std::ostringstream os;
  os << fmt::format("{} plan '{}' (input {})\n", r.kind, r.name, r.input_hash.substr(0, 12));
  for (const auto& s : r.sections) {
    os << "\n" << s.title << " [" << s.name << "]\n";
    if (s.rows.empty()) {
      os << "(no rows)\n";
      continue;
    }
    Table t{{"#"}, {true}, {}};
    for (const auto& [name, value] : s.rows.front().cells) {
      t.header.push_back(name);
      t.right.push_back(std::holds_alternative<double>(value));
    }
    for (size_t i = 0; i < s.rows.size(); ++i) {
      std::vector<std::string> row{std::to_string(i + 1)};
      for (const auto& [name, value] : s.rows[i].cells) row.push_back(cell_text(value));
      t.rows.push_back(std::move(row));
    }
    t.print(os);
  }
  if (!r.notes.empty()) {
    os << "\nnotes:\n";
    for (const auto& n : r.notes) os << "  - " << n << "\n";
  }
  return os.str();
}

std::string render(const plan::PlanReport& r, Format fmt) {
  if (fmt == Format::kCsv) {
    if (r.sections.empty()) return "rank\n";
    return plan::section_csv(r.sections.front());
  }
  if (fmt == Format::kJson) {
    ojson doc = ojson::object();
    doc["context"] = ojson::parse(context("plan " + r.kind).dump());
    const ojson body = ojson::parse(plan::report_json(r));
    for (const auto& [k, v] : body.items()) doc[k] = v;
    return doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return render_table(r);
}

// Stores the plan, committing the staged outputs inside the same transaction (as record_run
// does for runs): both appear or neither; a database this call created is removed on failure.
void record_plan(const std::string& path, const plan::PlanReport& r) {
  const store::PlanRecord rec = plan::plan_record(r);
  const std::vector<store::PlanRowRecord> rows = plan::plan_row_records(r);
  write_database(path, [&] {
    store::PlanStore db = store::PlanStore::open(path, true);
    db.add_plan(rec, rows, [] { outputs().commit(); });
  });
}

}  // namespace

void check_plan_flags(const PlanFlags& flags, const CommonFlags& f) {
  parse_format(f.format);
  parse_progress_mode(flags.progress);
  if (!flags.db.empty()) check_db_flag(flags.db);
  if (!f.output.empty()) OutputSet::check(f.output, "--output");
  if (flags.emit_rank < 0) {
    throw FlagError("--emit-scenario", "expected a rank >= 1 of the ranked table, found " + std::to_string(flags.emit_rank));
  }
  if (!flags.emit_out.empty()) {
    if (flags.emit_rank == 0) throw FlagError("--scenario-out", "expected only with --emit-scenario RANK");
    OutputSet::check(flags.emit_out, "--scenario-out");
  }
  if (flags.jobs < 0 || flags.jobs > 4096) {
    throw FlagError("--jobs", "expected a thread count from 0 (every core) to 4096, found " + std::to_string(flags.jobs));
  }
  if (flags.cost != "usd" && flags.cost != "flops") {
    throw FlagError("--cost", "expected usd or flops, found '" + flags.cost + "'");
  }
}

std::vector<YamlOverride> plan_overrides(const PlanFlags& flags) {
  std::vector<YamlOverride> out;
  for (const auto& s : flags.sets) out.push_back(parse_override(s, "--set"));
  return out;
}

std::function<void(const plan::PlanProgress&)> plan_progress(ProgressLine& line) {
  auto cb = line.callback();
  if (!cb) return {};
  return [cb](const plan::PlanProgress& p) { cb(p.done, p.total); };
}

int finish_plan(const plan::PlanReport& report, const PlanFlags& flags, const CommonFlags& f) {
  const Format fmt = parse_format(f.format);
  const plan::PlanRow* emitted = nullptr;
  if (flags.emit_rank > 0) {
    const size_t n = report.sections.empty() ? 0 : report.sections.front().rows.size();
    if (n == 0) {
      throw FlagError("--emit-scenario",
                      fmt::format("expected a rank of the ranked table, found {}: it has no rows", flags.emit_rank));
    }
    if (static_cast<size_t>(flags.emit_rank) > n) {
      throw FlagError("--emit-scenario", fmt::format("expected a rank from 1 to {}, found {}", n, flags.emit_rank));
    }
    emitted = &report.sections.front().rows[static_cast<size_t>(flags.emit_rank) - 1];
    if (emitted->scenario_text.empty()) {
      throw FlagError("--emit-scenario", fmt::format("expected a row with a scenario, found none in row {}", flags.emit_rank));
    }
  }
  // With --emit-scenario and no --scenario-out the scenario alone goes to standard output (so
  // that it can be piped), the report only to --output if one is given.
  if (emitted == nullptr || !flags.emit_out.empty() || !f.output.empty()) emit(render(report, fmt), f);
  if (emitted != nullptr) stage_file(flags.emit_out.empty() ? "-" : flags.emit_out, emitted->scenario_text, "--scenario-out");
  if (!flags.db.empty()) record_plan(flags.db, report);
  return 0;
}

int cmd_plan_export(const std::string& db, const std::string& which, const std::string& section, const CommonFlags& f) {
  const Format fmt = parse_format(f.format);
  const store::PlanStore s = store::PlanStore::open(db, false);
  const store::PlanRecord pick = plan::pick_plan(s, which, db);
  plan::PlanReport r = plan::report_from_store(*s.load(pick.id));
  if (!section.empty()) {
    auto it = std::find_if(r.sections.begin(), r.sections.end(), [&](const auto& x) { return x.name == section; });
    if (it == r.sections.end()) {
      std::string names;
      for (const auto& x : r.sections) names += (names.empty() ? "" : ", ") + x.name;
      throw FlagError("--section", fmt::format("expected a section of plan {} ({}), found '{}'", pick.id, names, section));
    }
    std::rotate(r.sections.begin(), it, it + 1);  // the asked section first: what csv writes
  }
  emit(render(r, fmt), f);
  return 0;
}

std::function<int()> add_plan_commands(CLI::App& app, CommonFlags& common, const std::function<void(CLI::App*)>& add_common) {
  struct State {
    PlanFlags flags;
    std::string db, which, section;
  };
  auto st = std::make_shared<State>();
  auto* plan = app.add_subcommand("plan", "Plan fleets: serving, training, or both (docs/planning.md)");
  plan->require_subcommand(1);
  auto planner = [&](const char* name, const char* help) {
    auto* c = plan->add_subcommand(name, help);
    c->add_option("plan", st->flags.plan, "Plan YAML")->required();
    c->add_option("--set", st->flags.sets, "Override a plan value, PATH=VALUE with a dotted path; repeatable")
        ->allow_extra_args(false);
    c->add_option("--db", st->flags.db, "Store the plan (and its rows' scenarios) in this database");
    c->add_option("-j,--jobs", st->flags.jobs, "Threads (default: every core)");
    c->add_option("--emit-scenario", st->flags.emit_rank, "Write the runnable scenario of this row of the ranked table");
    c->add_option("--scenario-out", st->flags.emit_out, "File for --emit-scenario (default: standard output, alone)");
    c->add_option("--prices", st->flags.prices, "YAML of $/GPU-hour by GPU (usd_per_gpu_hour: {h100-sxm: 2.5})");
    c->add_option("--progress", st->flags.progress, "auto (a line on a terminal), jsonl (JSON lines on stderr) or none");
    add_common(c);
    return c;
  };
  auto* serve = planner("serve", "The cheapest serving fleets meeting the SLOs (docs/planning.md)");
  serve->add_option("--profile", common.profile,
                    "Calibrated profile (fathom calib fit) replacing its GPU's, or 'defaults' (default: the catalog GPUs' own)");
  auto* train = planner("train", "Training layouts meeting a deadline and a budget, ranked (docs/planning-train.md)");
  auto* total = planner("total", "Model size and tokens minimising training plus lifetime serving cost (docs/planning-total.md)");
  total->add_option("--cost", st->flags.cost, "usd (real prices) or flops (6ND training, 2N per served token)");
  auto* exp = plan->add_subcommand("export", "Write a stored plan as CSV (one section) or JSON (all)");
  exp->add_option("database", st->db, "Database holding plans")->required();
  exp->add_option("--plan", st->which, "The plan's id or name (default: the latest)");
  exp->add_option("--section", st->section, "The section for CSV (default: the ranked table)");
  add_common(exp);
  return [st, serve, train, total, exp, &common]() -> int {
    if (serve->parsed()) return cmd_plan_serve(st->flags, common);
    if (train->parsed()) return cmd_plan_train(st->flags, common);
    if (total->parsed()) return cmd_plan_total(st->flags, common);
    if (exp->parsed()) {
      if (common.format == "table") common.format = "csv";
      return cmd_plan_export(st->db, st->which, st->section, common);
    }
    return 2;
  };
}

}  // namespace fathom::cli
