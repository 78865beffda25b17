#include "fit/expr.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <new>
#include <numbers>
#include <string_view>

#include <ceres/jet.h>

#include "common/error.h"
#include "common/suggest.h"

namespace fathom::fit {

using detail::Op;
using detail::OpCode;

namespace {

constexpr size_t kInlineStack = 32;  // deeper formulas evaluate on a heap stack
constexpr size_t kMaxNesting = 100;  // parentheses, signs and exponents; bounds the recursion
constexpr int kMaxIntPower = 64;     // x^n by repeated multiplication up to |n| = 64

// How many values an instruction pops (it always pushes one).
size_t arity(const Op& op) {
  switch (op.code) {
    case OpCode::Const: case OpCode::Param: case OpCode::Var: return 0;
    case OpCode::Add: case OpCode::Sub: case OpCode::Mul: case OpCode::Div: case OpCode::Pow: return 2;
    case OpCode::Min: case OpCode::Max: case OpCode::Lse: return op.index;
    default: return 1;
  }
}

// x^n by squaring: exact derivatives for any sign of x (ceres::pow(Jet, Jet) gives NaN ones
// for a negative base).
template <class T>
T int_pow(T x, int n) {
  if (n == 0) return T(1.0);
  unsigned k = static_cast<unsigned>(n < 0 ? -n : n);
  while (!(k & 1u)) { x = x * x; k >>= 1; }
  T r = x;
  for (k >>= 1; k; k >>= 1) {
    x = x * x;
    if (k & 1u) r = r * x;
  }
  return n < 0 ? T(1.0) / r : r;
}

// log(sum exp a[i]), shifted by the largest argument so that nothing overflows.
template <class T>
T log_sum_exp(const T* a, size_t n) {
  using std::exp, std::isfinite, std::log;
  T m = a[0];
  for (size_t i = 1; i < n; ++i) if (a[i] > m) m = a[i];
  if (!isfinite(m)) return m;  // all -inf, or an inf/NaN argument
  T sum = exp(a[0] - m);
  for (size_t i = 1; i < n; ++i) sum += exp(a[i] - m);
  return m + log(sum);
}

// Runs `count` instructions on the stack `s`, deep enough and possibly uninitialized: pushes
// construct their slot. Math functions reach ceres' Jet overloads by argument-dependent lookup.
template <class T>
T execute(const Op* code, size_t count, const T* p, const double* v, T* s) {
  using std::abs, std::exp, std::log, std::log10, std::log2, std::pow, std::sqrt, std::tanh;
  size_t n = 0;
  for (const Op* op = code; op != code + count; ++op) {
    switch (op->code) {
      case OpCode::Const: new (s + n++) T(op->value); break;
      case OpCode::Param: new (s + n++) T(p[op->index]); break;
      case OpCode::Var: new (s + n++) T(v[op->index]); break;
      case OpCode::Neg: s[n - 1] = -s[n - 1]; break;
      case OpCode::Exp: s[n - 1] = exp(s[n - 1]); break;
      case OpCode::Log: s[n - 1] = log(s[n - 1]); break;
      case OpCode::Log10: s[n - 1] = log10(s[n - 1]); break;
      case OpCode::Log2: s[n - 1] = log2(s[n - 1]); break;
      case OpCode::Sqrt: s[n - 1] = sqrt(s[n - 1]); break;
      case OpCode::Abs: s[n - 1] = abs(s[n - 1]); break;
      case OpCode::Tanh: s[n - 1] = tanh(s[n - 1]); break;
      case OpCode::PowInt: s[n - 1] = int_pow(s[n - 1], static_cast<int>(op->value)); break;
      case OpCode::PowConst: s[n - 1] = pow(s[n - 1], op->value); break;
      case OpCode::Add: --n; s[n - 1] += s[n]; break;
      case OpCode::Sub: --n; s[n - 1] -= s[n]; break;
      case OpCode::Mul: --n; s[n - 1] *= s[n]; break;
      case OpCode::Div: --n; s[n - 1] /= s[n]; break;
      case OpCode::Pow: --n; s[n - 1] = pow(s[n - 1], s[n]); break;
      case OpCode::Min: case OpCode::Max: case OpCode::Lse: {
        n -= op->index - 1;
        T* a = s + n - 1;
        if (op->code == OpCode::Lse) {
          a[0] = log_sum_exp(a, op->index);
        } else {
          for (size_t i = 1; i < op->index; ++i) {
            if (op->code == OpCode::Min ? a[i] < a[0] : a[i] > a[0]) a[0] = a[i];
          }
        }
        break;
      }
    }
  }
  return count ? s[0] : T(0.0);
}

struct Function {
  std::string_view name;
  OpCode code;
  size_t min_args, max_args;
};
constexpr size_t kAny = ~size_t{0};
constexpr std::array<Function, 11> kFunctions = {{
    {"exp", OpCode::Exp, 1, 1},    {"log", OpCode::Log, 1, 1},   {"log10", OpCode::Log10, 1, 1},
    {"log2", OpCode::Log2, 1, 1},  {"sqrt", OpCode::Sqrt, 1, 1}, {"abs", OpCode::Abs, 1, 1},
    {"tanh", OpCode::Tanh, 1, 1},  {"pow", OpCode::Pow, 2, 2},   {"min", OpCode::Min, 1, kAny},
    {"max", OpCode::Max, 1, kAny}, {"lse", OpCode::Lse, 1, kAny},
}};

// 'text', built by appending (GCC 12 warns falsely on "'" + std::string).
std::string quoted(std::string_view text) {
  std::string r(1, '\'');
  r += text;
  r += '\'';
  return r;
}

const Function* find_function(std::string_view name) {
  for (const auto& f : kFunctions) if (f.name == name) return &f;
  return nullptr;
}

}  // namespace

template <class T>
T Expr::run(const T* p, const double* v) const {
  if (depth_ <= kInlineStack) {
    alignas(T) std::byte raw[kInlineStack * sizeof(T)];  // not a std::array<T>: no zeroing of jets
    return execute(code_.data(), code_.size(), p, v, reinterpret_cast<T*>(raw));
  }
  std::vector<T> s(depth_);
  return execute(code_.data(), code_.size(), p, v, s.data());
}
template double Expr::run<double>(const double*, const double*) const;
template Jet8 Expr::run<Jet8>(const Jet8*, const double*) const;

double Expr::eval(const double* params, const double* vars) const { return run(params, vars); }
Jet8 Expr::eval(const Jet8* params, const double* vars) const { return run(params, vars); }

double Expr::eval(const double* params, const double* vars, double* gradient) const {
  const size_t np = parameters_.size();
  if (np == 0) return run(params, vars);
  std::array<Jet8, kMaxParameters> jp;
  double value = 0;
  for (size_t first = 0; first < np; first += 8) {
    for (size_t k = 0; k < np; ++k) {
      jp[k] = k >= first && k < first + 8 ? Jet8(params[k], static_cast<int>(k - first)) : Jet8(params[k]);
    }
    const Jet8 r = run(jp.data(), vars);
    value = r.a;
    for (size_t k = first; k < np && k < first + 8; ++k) gradient[k] = r.v[static_cast<Eigen::Index>(k - first)];
  }
  return value;
}

std::vector<bool> Expr::variables_used() const {
  std::vector<bool> used(variables_.size(), false);
  for (const Op& op : code_) if (op.code == OpCode::Var) used[op.index] = true;
  return used;
}

// Recursive descent straight to postfix code, folding operations on constants as it goes:
//   sum     = product (('+' | '-') product)*
//   product = unary (('*' | '/') unary)*
//   unary   = ('-' | '+') unary | power
//   power   = primary (('^' | '**') unary)?
//   primary = number | name | name '(' sum (',' sum)* ')' | '(' sum ')'
class ExprParser {
 public:
  ExprParser(Expr& e, const std::string& where) : e_(e), s_(e.text_), where_(where) {}

  void parse() {
    next();
    if (tok_.kind == Kind::End) fail(tok_.col, "expected a formula, found an empty one");
    sum();
    if (tok_.kind != Kind::End) fail(tok_.col, "expected an operator or end of formula, found " + found());
    size_t depth = 0;
    for (const Op& op : e_.code_) {
      depth = depth + 1 - arity(op);
      e_.depth_ = std::max(e_.depth_, depth);
    }
  }

 private:
  enum class Kind { End, Number, Name, Quoted, Symbol };
  struct Token {
    Kind kind = Kind::End;
    size_t col = 0;         // 1-based
    std::string_view text;  // as written ("**" for power, backticks included)
    double value = 0;
  };

  [[noreturn]] void fail(size_t col, const std::string& message) const {
    throw InputError(where_, "column " + std::to_string(col) + ": " + message);
  }
  std::string found() const { return tok_.kind == Kind::End ? "end of formula" : quoted(tok_.text); }
  bool is(char c) const { return tok_.kind == Kind::Symbol && tok_.text[0] == c; }
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  static bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }

  // Reads the next token into tok_.
  void next() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    const size_t start = pos_;
    tok_ = {Kind::End, start + 1, {}, 0};
    if (pos_ == s_.size()) return;
    const char c = s_[pos_];
    auto at = [&](size_t i) { return i < s_.size() ? s_[i] : '\0'; };
    if (digit(c) || (c == '.' && digit(at(pos_ + 1)))) {
      while (digit(at(pos_))) ++pos_;
      if (at(pos_) == '.') for (++pos_; digit(at(pos_));) ++pos_;
      if (at(pos_) == 'e' || at(pos_) == 'E') {
        size_t q = pos_ + 1;
        if (at(q) == '+' || at(q) == '-') ++q;
        if (!digit(at(q))) {
          fail(q + 1, "expected digits after " + quoted(s_.substr(start, q - start)) + ", found " +
                          (q < s_.size() ? quoted(s_.substr(q, 1)) : "end of formula"));
        }
        for (pos_ = q; digit(at(pos_));) ++pos_;
      }
      tok_.kind = Kind::Number;
      tok_.text = std::string_view(s_).substr(start, pos_ - start);
      auto r = std::from_chars(tok_.text.data(), tok_.text.data() + tok_.text.size(), tok_.value);
      if (r.ec != std::errc() || r.ptr != tok_.text.data() + tok_.text.size()) {
        fail(tok_.col, "expected a number a double can hold, found " + quoted(tok_.text));
      }
    } else if (name_start(c)) {
      while (name_start(at(pos_)) || digit(at(pos_))) ++pos_;
      tok_.kind = Kind::Name;
    } else if (c == '`') {
      const size_t close = s_.find('`', pos_ + 1);
      if (close == std::string::npos) {
        fail(s_.size() + 1, "expected '`' to close the name at column " + std::to_string(tok_.col) +
                                ", found end of formula");
      }
      if (close == pos_ + 1) fail(tok_.col, "expected a name between the backticks, found ``");
      pos_ = close + 1;
      tok_.kind = Kind::Quoted;
    } else if (std::string_view("+-*/^(),").find(c) != std::string_view::npos) {
      pos_ += (c == '*' && at(pos_ + 1) == '*') ? 2 : 1;
      tok_.kind = Kind::Symbol;
    } else {
      const auto u = static_cast<unsigned char>(c);
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", u);
      fail(tok_.col, std::string("expected a number, a name, an operator or a parenthesis, found ") +
                         (std::isprint(u) ? quoted(std::string(1, c)) : std::string("byte ") + hex));
    }
    if (tok_.kind != Kind::Number) tok_.text = std::string_view(s_).substr(start, pos_ - start);
  }

  // Appends an instruction; one whose operands are all constants is replaced by its value.
  void emit(OpCode code, size_t index = 0, double value = 0) {
    auto& c = e_.code_;
    c.push_back({code, static_cast<std::uint32_t>(index), value});
    const size_t args = arity(c.back());
    if (args == 0) return;
    for (size_t i = c.size() - 1 - args; i + 1 < c.size(); ++i) {
      if (c[i].code != OpCode::Const) return;  // a Const is a whole operand: it pops nothing
    }
    std::array<double, 2> small;
    std::vector<double> stack(args > 2 ? args : 0);
    const double r = execute(c.data() + c.size() - 1 - args, args + 1, static_cast<const double*>(nullptr),
                             nullptr, args > 2 ? stack.data() : small.data());
    c.resize(c.size() - 1 - args);
    c.push_back({OpCode::Const, 0, r});
  }

  // base^exponent, both already emitted: a constant exponent becomes part of the instruction,
  // so the derivative never involves log(base) (finite for negative bases).
  void emit_pow() {
    auto& c = e_.code_;
    if (c.back().code != OpCode::Const) return emit(OpCode::Pow);
    const double k = c.back().value;
    c.pop_back();
    const bool integer = k == std::floor(k) && std::abs(k) <= kMaxIntPower;
    emit(integer ? OpCode::PowInt : OpCode::PowConst, 0, k);
  }

  void sum() {
    product();
    while (is('+') || is('-')) {
      const OpCode code = is('+') ? OpCode::Add : OpCode::Sub;
      next();
      product();
      emit(code);
    }
  }

  void product() {
    unary();
    while ((is('*') && tok_.text.size() == 1) || is('/')) {
      const OpCode code = is('*') ? OpCode::Mul : OpCode::Div;
      next();
      unary();
      emit(code);
    }
  }

  void unary() {
    if (++nesting_ > kMaxNesting) {
      fail(tok_.col, "expected at most " + std::to_string(kMaxNesting) + " nested levels, found more");
    }
    if (is('-') || is('+')) {
      const bool minus = is('-');
      next();
      unary();
      if (minus) emit(OpCode::Neg);
    } else {
      power();
    }
    --nesting_;
  }

  void power() {
    primary();
    if (is('^') || (is('*') && tok_.text.size() == 2)) {
      next();
      unary();
      emit_pow();
    }
  }

  void primary() {
    const Token t = tok_;
    if (t.kind == Kind::Number) {
      next();
      return emit(OpCode::Const, 0, t.value);
    }
    if (is('(')) {
      next();
      sum();
      if (!is(')')) {
        fail(tok_.col, "expected ')' to close '(' at column " + std::to_string(t.col) + ", found " + found());
      }
      return next();
    }
    if (t.kind != Kind::Name && t.kind != Kind::Quoted) {
      fail(t.col, "expected a number, a name, '(' or '-', found " + found());
    }
    const std::string name(t.kind == Kind::Quoted ? t.text.substr(1, t.text.size() - 2) : t.text);
    next();
    if (t.kind == Kind::Name && is('(')) return call(name, t.col);
    const auto& vars = e_.variables_;
    if (auto it = std::find(vars.begin(), vars.end(), name); it != vars.end()) {
      return emit(OpCode::Var, static_cast<size_t>(it - vars.begin()));
    }
    if (t.kind == Kind::Name && find_function(name)) {
      fail(tok_.col, "expected '(' after the function '" + name + "', found " + found());
    }
    if (t.kind == Kind::Name && name == "pi") return emit(OpCode::Const, 0, std::numbers::pi);
    auto& params = e_.parameters_;
    auto it = std::find(params.begin(), params.end(), name);
    if (it == params.end()) {
      if (params.size() == Expr::kMaxParameters) {
        fail(t.col, "expected at most " + std::to_string(Expr::kMaxParameters) + " parameters, found '" + name +
                        "' as parameter " + std::to_string(params.size() + 1));
      }
      it = params.insert(params.end(), name);
    }
    emit(OpCode::Param, static_cast<size_t>(it - params.begin()));
  }

  // name '(' args ')', with tok_ at '('.
  void call(const std::string& name, size_t col) {
    const Function* f = find_function(name);
    if (!f) {
      std::vector<std::string> names;
      for (const auto& g : kFunctions) names.emplace_back(g.name);
      fail(col, "unknown function '" + name + "'" + did_you_mean(name, names));
    }
    const size_t open = tok_.col;
    next();
    size_t args = 0;
    if (!is(')')) {
      for (sum(), ++args; is(','); ++args) {
        next();
        sum();
      }
    }
    if (!is(')')) {
      fail(tok_.col, "expected ',' or ')' to close '(' at column " + std::to_string(open) + ", found " + found());
    }
    next();
    if (args < f->min_args || args > f->max_args) {
      const bool exact = f->min_args == f->max_args;
      fail(col, name + " takes " + (exact ? "" : "at least ") + std::to_string(f->min_args) +
                    (f->min_args == 1 ? " argument" : " arguments") + ", found " + std::to_string(args));
    }
    if (f->code == OpCode::Pow) return emit_pow();
    if (f->max_args == 1) return emit(f->code);
    if (args > 1) emit(f->code, args);  // min, max, lse of one value is that value
  }

  Expr& e_;
  const std::string& s_;
  const std::string& where_;
  Token tok_;
  size_t pos_ = 0;
  size_t nesting_ = 0;
};

Expr Expr::parse(const std::string& text, const std::vector<std::string>& variables, const std::string& where) {
  Expr e;
  e.text_ = text;
  e.variables_ = variables;
  ExprParser(e, where).parse();
  return e;
}

}  // namespace fathom::fit
