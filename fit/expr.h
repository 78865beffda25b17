#pragma once
// A small formula language for user-defined fit laws ("E + A/N^alpha + B/D^beta"). A formula
// is parsed once into postfix bytecode and evaluated on doubles or on Ceres jets, so a fitter
// gets exact derivatives. Names listed as variables are data columns; every other name (not a
// function, not `pi`) is a parameter. Only expr.cpp includes Ceres.
//
// Grammar: numbers (3, .5, 1e-3), names [A-Za-z_][A-Za-z0-9_]* or `quoted with spaces` (a
// quoted name is never a function or pi), + - * / and ^ (or **; right-associative, tighter than
// unary minus: -2^2 = -4), parentheses, exp log (natural) log10 log2 sqrt abs tanh, pow(a, b),
// min/max/lse(a, b, ...) where lse = log(sum exp) computed stably, and the constant pi (e is a
// parameter). Operations on constants are folded; a constant exponent is applied by repeated
// multiplication (integers) or pow(x, constant), so a negative base keeps finite derivatives.
#include <cstdint>
#include <string>
#include <vector>

namespace ceres {
template <typename T, int N>
struct Jet;
}

namespace fathom::fit {

using Jet8 = ceres::Jet<double, 8>;

namespace detail {
// The postfix bytecode, run on a stack by Expr::eval.
enum class OpCode : std::uint8_t {
  Const, Param, Var,                            // push value / params[index] / vars[index]
  Neg, Exp, Log, Log10, Log2, Sqrt, Abs, Tanh,  // unary, on the top of the stack
  PowInt, PowConst,                             // top ^ value (an integer / any constant)
  Add, Sub, Mul, Div, Pow,                      // binary
  Min, Max, Lse,                                // n-ary over the top `index` values
};
struct Op {
  OpCode code;
  std::uint32_t index = 0;  // parameter or variable index, or argument count
  double value = 0;         // constant, or constant exponent
};
}  // namespace detail

class Expr {
 public:
  static constexpr size_t kMaxParameters = 64;

  // Parses `text`; vars[i] in eval is variables[i]. Parameters are numbered in order of first
  // appearance. Throws fathom::InputError "where: column N: expected ..., found ...".
  static Expr parse(const std::string& text, const std::vector<std::string>& variables,
                    const std::string& where = "--formula");

  const std::string& text() const { return text_; }
  const std::vector<std::string>& parameters() const { return parameters_; }
  const std::vector<std::string>& variables() const { return variables_; }
  std::vector<bool> variables_used() const;

  // params has parameters().size() entries, vars has variables().size(). No allocation when the
  // formula's stack depth is at most 32.
  double eval(const double* params, const double* vars) const;
  Jet8 eval(const Jet8* params, const double* vars) const;
  // The value, and in gradient[k] its exact derivative by parameter k (jets, 8 parameters at a
  // time): for callers that do not include Ceres.
  double eval(const double* params, const double* vars, double* gradient) const;

 private:
  template <class T>
  T run(const T* p, const double* v) const;  // instantiated for double and Jet8 in expr.cpp

  friend class ExprParser;
  std::string text_;
  std::vector<std::string> parameters_, variables_;
  std::vector<detail::Op> code_;
  size_t depth_ = 0;  // maximum stack depth of code_
};

}  // namespace fathom::fit
