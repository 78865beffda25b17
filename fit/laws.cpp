// The law catalog. Each law states its formula, its source, and the fitting procedure of that
// source as defaults (docs/fitting.md lists them with the equations).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <functional>

#include "common/error.h"
#include "common/suggest.h"
#include "fit/jet_math.h"
#include "fit/law.h"

namespace fathom::fit {

namespace {

using std::exp;
using std::log;
using ceres::exp;
using ceres::log;

std::vector<double> range(double lo, double hi, double step) {
  std::vector<double> v;
  for (double x = lo; x <= hi + 1e-9 * std::abs(step); x += step) v.push_back(x);
  return v;
}

ParamSpec param(std::string name, std::vector<double> grid, double lo, double hi, std::string meaning,
                double lower = -kInf, double upper = kInf) {
  ParamSpec s;
  s.name = std::move(name);
  s.grid = std::move(grid);
  s.start_low = lo;
  s.start_high = hi;
  s.meaning = std::move(meaning);
  s.lower = lower;
  s.upper = upper;
  return s;
}

// Adapts a struct with static templates f(p, x, logx) and/or logf(p, x, logx) (the log-sum-exp
// form of a sum of power laws) to the virtual interface: the one it lacks is derived from the other.
template <class D>
concept HasValue = requires(const double* p) { D::f(p, p, p); };
template <class D>
concept HasLog = requires(const double* p) { D::logf(p, p, p); };

template <class D>
class Impl : public Law {
 public:
  double value(const double* p, const double* x, const double* lx) const override { return val(p, x, lx); }
  Jet8 value(const Jet8* p, const double* x, const double* lx) const override { return val(p, x, lx); }
  double log_value(const double* p, const double* x, const double* lx) const override { return lval(p, x, lx); }
  Jet8 log_value(const Jet8* p, const double* x, const double* lx) const override { return lval(p, x, lx); }

 private:
  template <class T>
  static T val(const T* p, const double* x, const double* lx) {
    if constexpr (HasValue<D>) {
      return D::f(p, x, lx);
    } else {
      return exp(D::logf(p, x, lx));
    }
  }
  template <class T>
  static T lval(const T* p, const double* x, const double* lx) {
    if constexpr (HasLog<D>) {
      return D::logf(p, x, lx);
    } else {
      return log(D::f(p, x, lx));
    }
  }
};

// ---- Chinchilla: L = E + A/N^α + B/D^β, fitted as log L = LSE(a − α log N, b − β log D, e) ----
struct Chinchilla {
  template <class T>
  static T logf(const T* p, const double*, const double* lx) {
    return lse3(p[0] - p[3] * lx[0], p[1] - p[4] * lx[1], p[2]);
  }
};
class ChinchillaLaw : public Impl<Chinchilla> {
 public:
  ChinchillaLaw() {
    name = "chinchilla";
    formula = "L = E + A/N^alpha + B/D^beta, with A = e^a, B = e^b, E = e^e";
    source = "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, Approach 3 (eq. 2); "
             "procedure as documented by Besiroglu et al. 2024 (arXiv:2404.10102)";
    response = "L";
    variables = {"N", "D"};
    positive_variables = {true, true};
    params = {param("a", range(0, 25, 5), 0, 25, "log A (parameter term)"),
              param("b", range(0, 25, 5), 0, 25, "log B (data term)"),
              param("e", range(-1, 1, 0.5), -1, 1, "log E (irreducible loss)"),
              param("alpha", range(0, 2, 0.5), 0, 2, "exponent of N"),
              param("beta", range(0, 2, 0.5), 0, 2, "exponent of D")};
    derived = {{"A", "e^a"}, {"B", "e^b"}, {"E", "e^e"},
               {"a_opt", "beta/(alpha+beta): N_opt grows as C^a_opt"},
               {"b_opt", "alpha/(alpha+beta): D_opt grows as C^b_opt"}};
    space = Space::Log;
    loss = {LossKind::Huber, 1e-3};
    method = Method::Lbfgs;
  }
  std::vector<double> derived_values(const double* p) const override {
    return {std::exp(p[0]), std::exp(p[1]), std::exp(p[2]), p[4] / (p[3] + p[4]), p[3] / (p[3] + p[4])};
  }
};

// ---- Kaplan: L = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D ----
struct Kaplan {
  template <class T>
  static T logf(const T* p, const double*, const double* lx) {
    // p = (log N_c, log D_c, α_N, α_D)
    return p[3] * lse2((p[2] / p[3]) * (p[0] - lx[0]), p[1] - lx[1]);
  }
};
class KaplanLaw : public Impl<Kaplan> {
 public:
  KaplanLaw() {
    name = "kaplan";
    formula = "L = ((N_c/N)^(alpha_N/alpha_D) + D_c/D)^alpha_D, with N_c = e^log_nc, D_c = e^log_dc";
    source = "Kaplan et al. 2020, Scaling Laws for Neural Language Models, eq. 1.5 (fit: alpha_N 0.076, "
             "alpha_D 0.103, N_c 6.4e13, D_c 1.8e13)";
    response = "L";
    variables = {"N", "D"};
    positive_variables = {true, true};
    params = {param("log_nc", {20, 30, 40}, 15, 45, "log N_c"), param("log_dc", {20, 30, 40}, 15, 45, "log D_c"),
              param("alpha_n", {0.05, 0.1, 0.3}, 0.01, 0.5, "exponent of N", 1e-4),
              param("alpha_d", {0.05, 0.1, 0.3}, 0.01, 0.5, "exponent of D", 1e-4)};
    derived = {{"N_c", "e^log_nc"}, {"D_c", "e^log_dc"}};
    space = Space::Log;
    method = Method::Lm;
  }
  std::vector<double> derived_values(const double* p) const override { return {std::exp(p[0]), std::exp(p[1])}; }
};

// ---- Power law with an offset in compute: L = E + A/C^α ----
struct Compute {
  template <class T>
  static T logf(const T* p, const double*, const double* lx) {
    return lse2(p[1] - p[2] * lx[0], p[0]);
  }
};
class ComputeLaw : public Impl<Compute> {
 public:
  ComputeLaw() {
    name = "compute";
    formula = "L = E + A/C^alpha, with A = e^a, E = e^e";
    source = "Henighan et al. 2020, Scaling Laws for Autoregressive Generative Modeling, eq. 1.1 "
             "(reducible loss as a power law of compute plus an irreducible term)";
    response = "L";
    variables = {"C"};
    positive_variables = {true};
    params = {param("e", {-1, 0, 1}, -1, 1, "log E (irreducible loss)"),
              param("a", {0, 5, 10, 20}, 0, 25, "log A"),
              param("alpha", {0.05, 0.2, 0.5}, 0.01, 1, "exponent of C")};
    derived = {{"E", "e^e"}, {"A", "e^a"}};
    space = Space::Log;
    method = Method::Lm;
  }
  std::vector<double> derived_values(const double* p) const override { return {std::exp(p[0]), std::exp(p[1])}; }
};

// ---- Data-constrained (Muennighoff et al. 2023) ----
// U_D = min(U, D); R_D = D/U_D − 1; D' = U_D + U_D·R_D*·(1 − e^{−R_D/R_D*});
// U_N = min(N, G·(G·U_D)^{β/α}) with G = (αA/(βB))^{1/(α+β)}; R_N = max(N/U_N − 1, 0);
// N' = U_N + U_N·R_N*·(1 − e^{−R_N/R_N*}); log L = LSE(a − α log N', b − β log D', e).
struct DataConstrained {
  template <class T>
  static T logf(const T* p, const double* x, const double*) {
    // Unique tokens seen: a run shorter than its pool sees only D of them (U_D = min(U, D)).
    const double N = x[0], D = x[1], U = std::min(x[2], x[1]);
    const T& a = p[0];
    const T& b = p[1];
    const T& e = p[2];
    const T& alpha = p[3];
    const T& beta = p[4];
    const T& rd_star = p[5];
    const T& rn_star = p[6];
    const double r_d = std::max(D / U - 1.0, 0.0);
    const T d_eff = U + U * rd_star * (1.0 - exp(-r_d / rd_star));
    // log G = (log α + a − log β − b)/(α + β); log N_opt(U) = log G + (β/α)(log G + log U).
    const T log_g = (log(alpha) + a - log(beta) - b) / (alpha + beta);
    const T log_nopt = log_g + (beta / alpha) * (log_g + std::log(U));
    T u_n = exp(log_nopt);
    if (value_of(u_n) > N) u_n = T(N);
    const T r_n = N / u_n - 1.0;
    T n_eff = u_n;
    if (value_of(r_n) > 0) n_eff = u_n + u_n * rn_star * (1.0 - exp(-r_n / rn_star));
    return lse3(a - alpha * log(n_eff), b - beta * log(d_eff), e);
  }
};
class DataConstrainedLaw : public Impl<DataConstrained> {
 public:
  DataConstrainedLaw() {
    name = "data_constrained";
    formula = "L = E + A/N'^alpha + B/D'^beta with effective N', D' under repeated data (U unique tokens)";
    source = "Muennighoff et al. 2023, Scaling Data-Constrained Language Models, eq. 5-7 and app. A "
             "(published: R_D* 15.4, R_N* 5.3; A 521, B 1488, E 1.87, alpha = beta = 0.353)";
    response = "L";
    variables = {"N", "D", "U"};
    positive_variables = {true, true, true};
    params = {param("a", {0, 10, 20}, 0, 25, "log A"),
              param("b", {0, 10, 20}, 0, 25, "log B"),
              param("e", {0, 1}, -1, 1, "log E"),
              param("alpha", {0.25, 0.5}, 0.05, 1, "exponent of N'", 1e-3),
              param("beta", {0.25, 0.5}, 0.05, 1, "exponent of D'", 1e-3),
              param("rd_star", {1, 5, 15}, 0.5, 30, "R_D*: repetitions of data after which value decays by 1/e", 1e-3),
              param("rn_star", {1, 5, 15}, 0.5, 30, "R_N*: excess parameters' decay constant", 1e-3)};
    derived = {{"A", "e^a"}, {"B", "e^b"}, {"E", "e^e"}};
    space = Space::Log;
    loss = {LossKind::Huber, 1e-3};
    method = Method::Lbfgs;
  }
  std::vector<double> derived_values(const double* p) const override {
    return {std::exp(p[0]), std::exp(p[1]), std::exp(p[2])};
  }
};

// ---- Pure power laws y = k·x^p, fitted as log y = log k + p·log x ----
struct PowerLaw {
  template <class T>
  static T logf(const T* p, const double*, const double* lx) {
    return p[0] + p[1] * lx[0];
  }
};
class PowerLawLaw : public Impl<PowerLaw> {
 public:
  PowerLawLaw(std::string n, std::string resp, std::string var, std::string form, std::string src) {
    name = std::move(n);
    response = std::move(resp);
    variables = {std::move(var)};
    positive_variables = {true};
    formula = std::move(form);
    source = std::move(src);
    params = {param("log_k", {-10, 0, 10}, -20, 20, "log k"), param("p", {-1, 0, 1}, -2, 2, "exponent")};
    derived = {{"k", "e^log_k"}};
    space = Space::Log;
    method = Method::Lm;
  }
  std::vector<double> derived_values(const double* p) const override { return {std::exp(p[0])}; }
};

// ---- Critical batch size: B_crit = B*/L^(1/α_B) ----
struct CriticalBatch {
  template <class T>
  static T logf(const T* p, const double*, const double* lx) {
    return p[0] - lx[0] / p[1];
  }
};
class CriticalBatchLaw : public Impl<CriticalBatch> {
 public:
  CriticalBatchLaw() {
    name = "critical_batch";
    formula = "B = B_star / L^(1/alpha_B), with B_star = e^log_bstar";
    source = "Kaplan et al. 2020, eq. 1.4 (B* about 2e8 tokens, alpha_B about 0.21); McCandlish et al. 2018";
    response = "B";
    variables = {"L"};
    positive_variables = {true};
    params = {param("log_bstar", {10, 15, 20, 25}, 5, 30, "log B*"),
              param("alpha_b", {0.1, 0.3, 1}, 0.05, 2, "alpha_B", 1e-3)};
    derived = {{"B_star", "e^log_bstar"}};
    space = Space::Log;
    method = Method::Lm;
  }
  std::vector<double> derived_values(const double* p) const override { return {std::exp(p[0])}; }
};

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

double max_of(const std::vector<double>& v) { return v.empty() ? 1.0 : *std::max_element(v.begin(), v.end()); }
double min_of(const std::vector<double>& v) { return v.empty() ? 1.0 : *std::min_element(v.begin(), v.end()); }
double median_of(std::vector<double> v) {
  if (v.empty()) return 1;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// ---- Throughput saturating with batch size: X = X_max·B/(B + B_half) ----
struct Throughput {
  template <class T>
  static T f(const T* p, const double* x, const double*) {
    return p[0] * x[0] / (x[0] + p[1]);
  }
  template <class T>
  static T logf(const T* p, const double* x, const double* lx) {
    return log(p[0]) + lx[0] - log(x[0] + p[1]);
  }
};
class ThroughputLaw : public Impl<Throughput> {
 public:
  ThroughputLaw() {
    name = "throughput";
    formula = "X = X_max * B / (B + B_half)";
    source = "a step time linear in batch, t(B) = t0 + c*B (memory-bound weights plus per-sequence work), "
             "gives X = B/t(B) = X_max*B/(B + B_half) with X_max = 1/c, B_half = t0/c";
    response = "X";
    variables = {"B"};
    positive_variables = {true};
    params = {param("x_max", {1}, 0, 1, "throughput at infinite batch", 0),
              param("b_half", {1}, 0, 1, "batch at half of X_max", 0)};
    space = Space::Log;
    method = Method::Lm;
  }
  void scale_to_data(const std::vector<std::vector<double>>& x, const std::vector<double>& y) override {
    const double ym = max_of(y), bm = median_of(x[0]);
    params[0].grid = {ym, 2 * ym, 5 * ym};
    params[0].start_low = ym;
    params[0].start_high = 10 * ym;
    params[1].grid = {0.1 * bm, bm, 10 * bm};
    params[1].start_low = 0.01 * bm;
    params[1].start_high = 10 * bm;
  }
};

// ---- Latency against offered load: W = L0 + c·ρ/(1 − ρ), ρ = λ/μ ----
struct LatencyLoad {
  template <class T>
  static T f(const T* p, const double* x, const double*) {
    const T rho = x[0] / p[2];
    if (value_of(rho) >= 1.0) return T(std::numeric_limits<double>::quiet_NaN());
    return p[0] + p[1] * rho / (1.0 - rho);
  }
};
class LatencyLoadLaw : public Impl<LatencyLoad> {
 public:
  LatencyLoadLaw() {
    name = "latency_load";
    formula = "W = L0 + c * rho/(1 - rho), rho = lambda/mu";
    source = "M/M/1 sojourn time W = S/(1 - rho) (Kleinrock 1975, Queueing Systems vol. 1, sec. 3.2) "
             "generalised to a floor L0 and a queueing scale c; mu is the saturation rate";
    response = "W";
    variables = {"lambda"};
    positive_variables = {false};
    params = {param("l0", {1}, 0, 1, "latency at no load", 0), param("c", {1}, 0, 1, "queueing scale", 0),
              param("mu", {1}, 0, 1, "saturation rate (same unit as lambda)", 0)};
    space = Space::Data;
    method = Method::Lm;
  }
  void scale_to_data(const std::vector<std::vector<double>>& x, const std::vector<double>& y) override {
    const double lm = max_of(x[0]), y0 = min_of(y), ym = max_of(y);
    params[0].grid = {0.5 * y0, y0};
    params[0].start_low = 0;
    params[0].start_high = y0;
    params[1].grid = {0.1 * y0, y0, ym};
    params[1].start_low = 0.01 * y0;
    params[1].start_high = ym;
    params[2].grid = {1.05 * lm, 1.3 * lm, 2 * lm, 5 * lm};
    params[2].start_low = 1.01 * lm;
    params[2].start_high = 10 * lm;
  }
};

using Factory = std::function<std::unique_ptr<Law>()>;
const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> m = {
      {"chinchilla", [] { return std::make_unique<ChinchillaLaw>(); }},
      {"kaplan", [] { return std::make_unique<KaplanLaw>(); }},
      {"compute", [] { return std::make_unique<ComputeLaw>(); }},
      {"data_constrained", [] { return std::make_unique<DataConstrainedLaw>(); }},
      {"critical_batch", [] { return std::make_unique<CriticalBatchLaw>(); }},
      {"batch_size",
       [] {
         return std::make_unique<PowerLawLaw>(
             "batch_size", "B", "C", "B = k * C^p (optimal batch size in tokens against compute)",
             "DeepSeek-AI 2024, DeepSeek LLM, sec. 3.1 (B_opt = 0.2920 C^0.3271)");
       }},
      {"learning_rate",
       [] {
         return std::make_unique<PowerLawLaw>("learning_rate", "lr", "C",
                                              "lr = k * C^p (optimal learning rate against compute)",
                                              "DeepSeek-AI 2024, DeepSeek LLM, sec. 3.1 (eta_opt = 0.3118 C^-0.1250)");
       }},
      {"throughput", [] { return std::make_unique<ThroughputLaw>(); }},
      {"latency_load", [] { return std::make_unique<LatencyLoadLaw>(); }},
  };
  return m;
}

// ---- user formulas ----
class FormulaLaw : public Law {
 public:
  explicit FormulaLaw(Expr e) : expr_(std::move(e)) {}
  double value(const double* p, const double* x, const double*) const override { return expr_.eval(p, x); }
  Jet8 value(const Jet8* p, const double* x, const double*) const override { return expr_.eval(p, x); }

 private:
  Expr expr_;
};

}  // namespace

double Law::log_value(const double* p, const double* x, const double* lx) const { return std::log(value(p, x, lx)); }
Jet8 Law::log_value(const Jet8* p, const double* x, const double* lx) const { return ceres::log(value(p, x, lx)); }

size_t Law::param_index(const std::string& n) const {
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].name == n) return i;
  return params.size();
}
size_t Law::variable_index(const std::string& n) const {
  for (size_t i = 0; i < variables.size(); ++i)
    if (variables[i] == n) return i;
  return variables.size();
}

std::vector<std::string> law_names() {
  std::vector<std::string> v;
  for (const auto& [k, f] : factories()) v.push_back(k);
  return v;
}

std::unique_ptr<Law> make_law(const std::string& name) {
  const auto& f = factories();
  const auto it = f.find(name);
  if (it == f.end()) {
    throw FlagError("--law", "expected one of " + join(law_names(), ", ") + did_you_mean(name, law_names()) +
                                 ", found '" + name + "'");
  }
  return it->second();
}

std::unique_ptr<Law> make_formula_law(const std::string& text, const std::vector<std::string>& columns,
                                      const std::string& response, const std::string& where) {
  std::string lhs = response, rhs = text;
  const size_t eq = text.find('=');
  if (eq != std::string::npos) {
    lhs = text.substr(0, eq);
    // Blanks in place of "Y =" keep the columns of parse errors those of the whole formula.
    rhs = std::string(eq + 1, ' ') + text.substr(eq + 1);
    const auto b = lhs.find_first_not_of(" \t");
    const auto e = lhs.find_last_not_of(" \t");
    lhs = b == std::string::npos ? "" : lhs.substr(b, e - b + 1);
    if (!lhs.empty() && lhs.front() == '`' && lhs.back() == '`' && lhs.size() >= 2) lhs = lhs.substr(1, lhs.size() - 2);
  }
  if (lhs.empty()) {
    throw InputError(where, "expected 'RESPONSE = EXPRESSION' (or --response NAME), found no response name in '" +
                                text + "'");
  }
  Expr probe = Expr::parse(rhs, columns, where);
  const std::vector<bool> used = probe.variables_used();
  std::vector<std::string> vars;
  for (size_t i = 0; i < columns.size(); ++i)
    if (used[i]) vars.push_back(columns[i]);
  Expr expr = Expr::parse(rhs, vars, where);
  if (expr.parameters().empty()) {
    throw InputError(where, "expected at least one parameter (a name that is not a data column), found none in '" +
                                rhs + "'");
  }
  const std::vector<std::string> names = expr.parameters();
  auto law = std::make_unique<FormulaLaw>(std::move(expr));
  law->name = "formula";
  std::string body = eq == std::string::npos ? text : text.substr(eq + 1);
  body.erase(0, std::min(body.size(), body.find_first_not_of(" \t")));
  law->formula = lhs + " = " + body;
  law->source = "user formula";
  law->response = lhs;
  law->variables = vars;
  law->positive_variables.assign(vars.size(), false);
  const std::vector<double> grid = names.size() <= 7 ? std::vector<double>{0.1, 0.5, 1} : std::vector<double>{0.5, 1};
  for (const auto& n : names) law->params.push_back(param(n, grid, -2, 2, "parameter of the formula"));
  law->space = Space::Data;
  law->method = Method::Lm;
  return law;
}

}  // namespace fathom::fit

namespace fathom::fit {

std::string to_string(Space s) { return s == Space::Log ? "log" : "data"; }
std::string to_string(Method m) { return m == Method::Lbfgs ? "lbfgs" : "lm"; }
std::string to_string(const Loss& l) {
  char b[64];
  switch (l.kind) {
    case LossKind::Huber:
      std::snprintf(b, sizeof b, "huber:%.6g", l.scale);
      return b;
    case LossKind::Cauchy:
      std::snprintf(b, sizeof b, "cauchy:%.6g", l.scale);
      return b;
    case LossKind::None:
      break;
  }
  return "none";
}

Space parse_space(const std::string& t, const std::string& flag) {
  if (t == "log") return Space::Log;
  if (t == "data" || t == "linear") return Space::Data;
  throw FlagError(flag, "expected 'log' or 'data', found '" + t + "'");
}

Method parse_method(const std::string& t, const std::string& flag) {
  if (t == "lm") return Method::Lm;
  if (t == "lbfgs") return Method::Lbfgs;
  throw FlagError(flag, "expected 'lm' or 'lbfgs', found '" + t + "'");
}

Loss parse_loss(const std::string& t, const std::string& flag) {
  const size_t colon = t.find(':');
  const std::string kind = t.substr(0, colon);
  Loss l;
  if (kind == "none") {
    if (colon != std::string::npos) throw FlagError(flag, "expected 'none' without a scale, found '" + t + "'");
    return l;
  }
  if (kind == "huber") {
    l.kind = LossKind::Huber;
  } else if (kind == "cauchy") {
    l.kind = LossKind::Cauchy;
  } else {
    throw FlagError(flag, "expected none, huber:DELTA or cauchy:SCALE, found '" + t + "'");
  }
  if (colon == std::string::npos) throw FlagError(flag, "expected " + kind + ":SCALE (e.g. " + kind + ":1e-3), found '" + t + "'");
  const std::string v = t.substr(colon + 1);
  char* end = nullptr;
  const double s = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(s > 0) || !std::isfinite(s))
    throw FlagError(flag, "expected a positive scale after '" + kind + ":', found '" + v + "'");
  l.scale = s;
  return l;
}

}  // namespace fathom::fit
