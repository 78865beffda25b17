#include "gui/plot.h"

#include <cstdio>
#include <fmt/format.h>

#include "common/error.h"
#include "common/output.h"
#include "gui/app/export.h"
#include "gui/chart/chart_qt.h"

namespace fathom::gui {

std::string PlotArgs::get(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

std::string PlotArgs::need(const std::string& name, const std::string& expected) const {
  auto it = options.find(name);
  if (it == options.end()) throw FlagError("--" + name, "expected " + expected + ", found nothing");
  return it->second;
}

PlotArgs parse_plot_args(const std::string& command, int argc, char** argv, int first,
                         const std::set<std::string>& known) {
  PlotArgs a;
  a.command = command;
  for (int i = first; i < argc; ++i) {
    const std::string w = argv[i];
    if (w.size() > 2 && w.rfind("--", 0) == 0) {
      const std::string name = w.substr(2);
      if (name != "out" && name != "size" && name != "chart" && name != "where" && !known.count(name)) {
        std::string list = "--chart, --out, --size";
        for (const auto& k : known) list += ", --" + k;
        throw FlagError(w, fmt::format("expected one of {} for `fathom-plot {}`, found an unknown option", list, command));
      }
      if (i + 1 >= argc) throw FlagError(w, "expected a value, found the end of the arguments");
      const std::string value = argv[++i];
      if (name == "where") {
        a.wheres.push_back(value);
      } else {
        if (a.options.count(name)) throw FlagError(w, "expected the option once, found it twice");
        a.options[name] = value;
      }
    } else {
      a.inputs.push_back(w);
    }
  }
  return a;
}

QSize plot_size(const PlotArgs& args) {
  const std::string s = args.get("size", "900x560");
  int w = 0, h = 0;
  char tail = 0;
  if (std::sscanf(s.c_str(), "%dx%d%c", &w, &h, &tail) != 2 || w < 64 || h < 64 || w > 8192 || h > 8192) {
    throw FlagError("--size", "expected WIDTHxHEIGHT in pixels between 64x64 and 8192x8192, found '" + s + "'");
  }
  return {w, h};
}

namespace {
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
}  // namespace

void check_plot_out(const PlotArgs& args) {
  const std::string out = args.need("out", "an output file ending in .png or .svg");
  if (!ends_with(out, ".png") && !ends_with(out, ".svg")) {
    throw FlagError("--out", "expected a file ending in .png or .svg, found '" + out + "'");
  }
  OutputSet::check(out, "--out");
  plot_size(args);
}

void write_plot(const Chart& chart, const PlotArgs& args) {
  check_plot_out(args);
  const std::string out = args.get("out");
  const QSize size = plot_size(args);
  const QByteArray bytes = ends_with(out, ".svg") ? render_svg(chart, size) : render_png(chart, size);
  OutputSet set;
  set.add(out, "--out", bytes.toStdString());
  set.commit();
}

int plot_main(int argc, char** argv) {
  const char* usage =
      "usage: fathom-plot serve RESULT.json [--requests CSV] [--timeseries CSV] --chart NAME --out FILE.png|.svg\n"
      "       fathom-plot plan PLAN.json|PLAN.sqlite [--plan ID] --chart ranked|pareto-cost-latency|pareto-throughput-interactivity|hourly --out FILE\n"
      "       fathom-plot sweep SWEEP.sqlite --x AXIS --y METRIC [--series AXIS] [--where AXIS=VALUE]... [--sweep NAME] [--logx 1] [--logy 1] --out FILE\n"
      "       fathom-plot fit RESULT.yaml --data CSV [--x COL] [--series COL] --chart fit|residuals|frontier [--compute C1,C2] --out FILE\n"
      "       (every form takes --size WxH, default 900x560; docs/gui.md lists the charts)\n";
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "serve") return plot_serve(parse_plot_args(command, argc, argv, 2, {"requests", "timeseries"}));
    if (command == "plan") return plot_plan(parse_plot_args(command, argc, argv, 2, {"plan"}));
    if (command == "sweep") return plot_sweep(parse_plot_args(command, argc, argv, 2, {"x", "y", "series", "sweep", "logx", "logy"}));
    if (command == "fit") return plot_fit(parse_plot_args(command, argc, argv, 2, {"data", "x", "series", "compute", "flops-per-param-token", "at"}));
    throw FlagError(command, "expected a subcommand serve, plan, sweep or fit, found '" + command + "'");
  } catch (const Error& e) {
    std::fprintf(stderr, "fathom-plot: %s\n", e.what());
    return 2;
  }
}

}  // namespace fathom::gui
