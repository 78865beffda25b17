#pragma once
// A law is a formula y = f(p; x) with named parameters p and named variables x, plus the fitting
// procedure its source used (residual space, robust loss, optimiser, grid of starts). The catalog
// (law_names/make_law) holds the scaling laws and serving curves documented in docs/fitting.md;
// make_formula_law turns a user's expression into a law. Values are computed on doubles and on
// ceres::Jet<double, 8> (exact first derivatives for 8 parameters at a time); only fit/*.cpp
// includes Ceres.
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "fit/expr.h"

namespace fathom::fit {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

// Residuals r = f(p;x) − y (data space) or log f(p;x) − log y (log space).
enum class Space { Data, Log };
// The robust loss ρ(r) summed over points: none ½r²; Huber_δ ½r² for |r| ≤ δ, δ(|r| − ½δ)
// beyond; Cauchy_c ½c²·log(1 + (r/c)²). The objective is Σ ρ(r_i), equal to Ceres' cost.
enum class LossKind { None, Huber, Cauchy };
struct Loss {
  LossKind kind = LossKind::None;
  double scale = 1;  // δ for Huber, c for Cauchy
};
// lm: Ceres' trust-region Levenberg–Marquardt on the residuals (bounds honoured);
// lbfgs: Ceres' line-search L-BFGS on the objective (the Chinchilla paper's choice).
enum class Method { Lm, Lbfgs };

std::string to_string(Space s);
std::string to_string(const Loss& l);
std::string to_string(Method m);
// Parse user spellings ("log", "huber:1e-3", "lbfgs"); throw FlagError(flag, ...) when unknown.
Space parse_space(const std::string& text, const std::string& flag);
Loss parse_loss(const std::string& text, const std::string& flag);
Method parse_method(const std::string& text, const std::string& flag);

struct ParamSpec {
  std::string name;
  double lower = -kInf, upper = kInf;  // bounds honoured by lm and enforced by lbfgs
  std::vector<double> grid;            // values of the start grid (Cartesian product over params)
  double start_low = 0, start_high = 1;  // range of random starts
  std::string meaning;
};

// A quantity computed from the parameters (A = e^a, the N_opt exponent, ...), reported with its
// bootstrap interval.
struct DerivedSpec {
  std::string name;
  std::string meaning;
};

class Law {
 public:
  virtual ~Law() = default;

  std::string name;       // catalog name, or "formula"
  std::string formula;    // as written for people: "L = E + A/N^alpha + B/D^beta"
  std::string source;     // citation
  std::string response;   // y's name
  std::vector<std::string> variables;
  std::vector<bool> positive_variables;  // variables whose logarithm the law takes
  std::vector<ParamSpec> params;
  std::vector<DerivedSpec> derived;
  Space space = Space::Data;
  Loss loss;
  Method method = Method::Lm;

  // f(p; x); `logx` holds log x for every variable (NaN where x ≤ 0).
  virtual double value(const double* p, const double* x, const double* logx) const = 0;
  virtual Jet8 value(const Jet8* p, const double* x, const double* logx) const = 0;
  // log f(p; x). Laws that are sums of power laws override this with the log-sum-exp form.
  virtual double log_value(const double* p, const double* x, const double* logx) const;
  virtual Jet8 log_value(const Jet8* p, const double* x, const double* logx) const;
  // Laws whose sensible starts depend on the data's scale (a capacity above the highest offered
  // load, say) set their grids here; x[v][i] is variable v at point i.
  virtual void scale_to_data(const std::vector<std::vector<double>>& /*x*/, const std::vector<double>& /*y*/) {}
  // Derived quantities, in the order of `derived`.
  virtual std::vector<double> derived_values(const double* /*p*/) const { return {}; }

  size_t param_index(const std::string& n) const;  // params.size() when absent
  size_t variable_index(const std::string& n) const;
};

std::vector<std::string> law_names();
// Throws FlagError("--law", ...) with a did-you-mean when unknown.
std::unique_ptr<Law> make_law(const std::string& name);

// A user's law "RESPONSE = EXPRESSION". Names in `columns` that the expression uses become its
// variables (in the order of `columns`); every other name is a parameter with no bounds, a start
// grid {0.1, 0.5, 1} ({0.5, 1} above 7 parameters) that the caller may override, and random starts
// in [−2, 2]. `where` prefixes errors. When `text` has no '=', `response` names y.
std::unique_ptr<Law> make_formula_law(const std::string& text, const std::vector<std::string>& columns,
                                      const std::string& response, const std::string& where);

}  // namespace fathom::fit
