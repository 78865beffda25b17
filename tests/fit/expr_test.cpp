#include "fit/expr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/error.h"

namespace fathom::fit {

namespace {
const double* const none = nullptr;  // no parameters or no variables

double value(const std::string& text) { return Expr::parse(text, {}).eval(none, none); }

std::string error_of(const std::string& text, const std::vector<std::string>& vars = {},
                     const std::string& where = "--formula") {
  try {
    Expr::parse(text, vars, where);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// The value and the gradient (by jets) at p, on variables v.
std::pair<double, std::vector<double>> with_gradient(const Expr& f, const std::vector<double>& p,
                                                     const std::vector<double>& v = {}) {
  std::vector<double> g(p.size());
  const double y = f.eval(p.data(), v.data(), g.data());
  return {y, g};
}

// Checks the jet derivatives of `f` at (p, v) against central differences, to 1e-6 relative.
void expect_derivatives(const Expr& f, std::vector<double> p, const std::vector<double>& v) {
  const auto [y, g] = with_gradient(f, p, v);
  EXPECT_EQ(y, f.eval(p.data(), v.data()));
  for (size_t k = 0; k < p.size(); ++k) {
    const double x = p[k], h = 1e-5 * std::max(std::abs(x), 1e-3);
    p[k] = x + h;
    const double up = f.eval(p.data(), v.data());
    p[k] = x - h;
    const double down = f.eval(p.data(), v.data());
    p[k] = x;
    const double fd = (up - down) / (2 * h);
    EXPECT_NEAR(g[k], fd, 1e-6 * std::max(std::abs(fd), 1e-12))
        << f.text() << ": d/d" << f.parameters()[k];
  }
}
}  // namespace

TEST(ExprEval, PrecedenceAndAssociativity) {
  EXPECT_EQ(value("1 + 2*3"), 7);
  EXPECT_EQ(value("(1+2)*3"), 9);
  EXPECT_EQ(value("10 - 4 - 3"), 3);
  EXPECT_EQ(value("8/4/2"), 1);
  EXPECT_EQ(value("2^3^2"), 512);
  EXPECT_EQ(value("2**3**2"), 512);
  EXPECT_EQ(value("-2^2"), -4);
  EXPECT_EQ(value("(-2)^2"), 4);
  EXPECT_EQ(value("2^-1"), 0.5);
  EXPECT_EQ(value("2*3^2"), 18);
  EXPECT_EQ(value("-3*-2"), 6);
  EXPECT_EQ(value("+4 - -1"), 5);
  EXPECT_EQ(value(" .5 + 1e-3 "), 0.501);
  EXPECT_EQ(value("2.5E+10"), 2.5e10);
  EXPECT_DOUBLE_EQ(value("pi"), M_PI);
  EXPECT_DOUBLE_EQ(value("log10(1000) + log2(8) + sqrt(16) + abs(-3)"), 13);
  EXPECT_DOUBLE_EQ(value("exp(log(5)) + tanh(0) + pow(2, 10)"), 1029);
  EXPECT_EQ(value("min(3, 1, 2) + max(3, 7, 2) + min(4)"), 12);
  EXPECT_EQ(value("2^0.5"), std::sqrt(2.0));

  // The same rules at run time (parameters are not folded), on doubles and on jets.
  const Expr f = Expr::parse("-a^b^c + a - b - c + a/b/c", {});
  const double p[3] = {2, 3, 2};
  const double want = -512 + 2 - 3 - 2 + 2.0 / 3 / 2;
  EXPECT_DOUBLE_EQ(f.eval(p, none), want);
  EXPECT_DOUBLE_EQ(with_gradient(f, {2, 3, 2}).first, want);
}

TEST(ExprEval, DeepFormulaUsesAHeapStack) {
  std::string text = "x";
  for (int i = 0; i < 40; ++i) text = "x + (" + text + ")";  // stack depth 41
  const Expr f = Expr::parse(text, {"x"});
  const double x = 0.5;
  EXPECT_EQ(f.eval(none, &x), 20.5);
  const double two = 2;
  std::vector<double> g(1);
  EXPECT_EQ(Expr::parse(text, {}).eval(&two, none, g.data()), 82);
  EXPECT_EQ(g[0], 41);
}

TEST(ExprNames, ParametersVariablesAndConstants) {
  const Expr f = Expr::parse("E + A/N^alpha + B/D^beta + 0*A*e", {"N", "D", "C"});
  EXPECT_EQ(f.parameters(), (std::vector<std::string>{"E", "A", "alpha", "B", "beta", "e"}));
  EXPECT_EQ(f.variables_used(), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(f.text(), "E + A/N^alpha + B/D^beta + 0*A*e");

  const Expr g = Expr::parse("`Model Size` * k + `my param` * pi", {"tokens", "Model Size"});
  EXPECT_EQ(g.parameters(), (std::vector<std::string>{"k", "my param"}));
  EXPECT_EQ(g.variables_used(), (std::vector<bool>{false, true}));
  const double p[2] = {2, 1}, v[2] = {0, 10};
  EXPECT_DOUBLE_EQ(g.eval(p, v), 20 + M_PI);

  const Expr derived = Expr::parse("C/(6*N)", {"N", "C"});  // no parameters: a derived column
  EXPECT_TRUE(derived.parameters().empty());
  const double nv[2] = {1e9, 6e21};
  EXPECT_DOUBLE_EQ(derived.eval(none, nv), 1e12);
}

TEST(ExprEval, LogSumExpIsStable) {
  const Expr f = Expr::parse("lse(a, b)", {});
  for (double a : {-3.0, 0.0, 2.5}) {
    for (double b : {-1.0, 0.5, 4.0}) {
      const double p[2] = {a, b};
      EXPECT_NEAR(f.eval(p, none), std::log(std::exp(a) + std::exp(b)), 1e-14);
    }
  }
  const double big[2] = {1000, 1000}, small[2] = {-1000, -1000}, mixed[2] = {1000, -1000};
  EXPECT_DOUBLE_EQ(f.eval(big, none), 1000 + std::log(2.0));
  EXPECT_DOUBLE_EQ(f.eval(small, none), -1000 + std::log(2.0));
  EXPECT_DOUBLE_EQ(f.eval(mixed, none), 1000);
  EXPECT_EQ(with_gradient(f, {1000, 1000}).second, (std::vector<double>{0.5, 0.5}));  // softmax weights
  EXPECT_EQ(with_gradient(f, {-1000, 1000}).second, (std::vector<double>{0, 1}));
  EXPECT_DOUBLE_EQ(value("lse(1000, 1000, 1000)"), 1000 + std::log(3.0));
}

TEST(ExprJet, DerivativesMatchFiniteDifferences) {
  const std::vector<double> nd = {1e9, 2e10};
  expect_derivatives(Expr::parse("E + A/N^alpha + B/D^beta", {"N", "D"}), {1.69, 406.4, 0.34, 410.7, 0.28}, nd);
  expect_derivatives(Expr::parse("lse(a - alpha*log(N), b - beta*log(D), e)", {"N", "D"}),
                     {6.0, 0.34, 6.0, 0.28, 0.5}, nd);
  expect_derivatives(Expr::parse("sqrt(a) * tanh(b) + log10(a) - log2(b) + exp(-b) * abs(c) + max(a, b, c)", {}),
                     {2.0, 0.7, -1.5}, {});
  expect_derivatives(Expr::parse("pow(a, b) + 2^a + a^1.5 + b^-3", {}), {1.7, 0.6}, {});
}

TEST(ExprJet, IntegerPowerOfNegativeBase) {
  const auto [y, g] = with_gradient(Expr::parse("(x-3)^2", {}), {1});
  EXPECT_EQ(y, 4);
  EXPECT_EQ(g[0], -4);  // 2(x - 3)
  const auto [yc, gc] = with_gradient(Expr::parse("(x-3)**-3", {}), {1});
  EXPECT_EQ(yc, -0.125);
  EXPECT_EQ(gc[0], -3.0 / 16);  // -3 (x - 3)^-4
  const auto [yz, gz] = with_gradient(Expr::parse("x^0 + x^2 + pow(x, 3)", {}), {0});
  EXPECT_EQ(yz, 1);
  EXPECT_EQ(gz[0], 0);
  expect_derivatives(Expr::parse("(x-3)^5 + (x-3)^-2 + (x-3)^100", {}), {1.0}, {});
}

TEST(ExprErrors, MessagesNameTheColumn) {
  EXPECT_EQ(error_of("a*(b + c"), "--formula: column 9: expected ')' to close '(' at column 3, found end of formula");
  EXPECT_EQ(error_of("a + * b"), "--formula: column 5: expected a number, a name, '(' or '-', found '*'");
  EXPECT_EQ(error_of("E + sqr(x)", {}, "result.yaml:3"),
            "result.yaml:3: column 5: unknown function 'sqr' (did you mean 'sqrt'?)");
  EXPECT_EQ(error_of("pow(a, b, c)"), "--formula: column 1: pow takes 2 arguments, found 3");
  EXPECT_EQ(error_of("1 + exp()"), "--formula: column 5: exp takes 1 argument, found 0");
  EXPECT_EQ(error_of("lse()"), "--formula: column 1: lse takes at least 1 argument, found 0");
  EXPECT_EQ(error_of(""), "--formula: column 1: expected a formula, found an empty one");
  EXPECT_EQ(error_of("  "), "--formula: column 3: expected a formula, found an empty one");
  EXPECT_EQ(error_of("2 * `Model Size"),
            "--formula: column 16: expected '`' to close the name at column 5, found end of formula");
  EXPECT_EQ(error_of("a $ b"),
            "--formula: column 3: expected a number, a name, an operator or a parenthesis, found '$'");
  EXPECT_EQ(error_of("a b"), "--formula: column 3: expected an operator or end of formula, found 'b'");
  EXPECT_EQ(error_of("max(a b)"), "--formula: column 7: expected ',' or ')' to close '(' at column 4, found 'b'");
  EXPECT_EQ(error_of("exp + 1"), "--formula: column 5: expected '(' after the function 'exp', found '+'");
  EXPECT_EQ(error_of("1e+x"), "--formula: column 4: expected digits after '1e+', found 'x'");
  EXPECT_EQ(error_of("a)"), "--formula: column 2: expected an operator or end of formula, found ')'");
  EXPECT_NE(error_of("1e999").find("column 1:"), std::string::npos);
  EXPECT_NE(error_of("``").find("column 1:"), std::string::npos);
  EXPECT_NE(error_of(std::string(1000, '(') + "a").find("nested"), std::string::npos);
  EXPECT_NE(error_of(std::string(1000, '-') + "a").find("nested"), std::string::npos);

  std::string many = "p0";
  for (int i = 1; i < 65; ++i) many += " + p" + std::to_string(i);
  EXPECT_NE(error_of(many).find("expected at most 64 parameters, found 'p64'"), std::string::npos);
  many.resize(many.rfind(" +"));
  EXPECT_EQ(Expr::parse(many, {}).parameters().size(), 64u);
}

// Random strings over the token alphabet (and random bytes): every parse succeeds or throws
// InputError, and whatever parses evaluates without crashing.
TEST(ExprFuzz, ParseNeverCrashes) {
  const std::vector<std::string> pieces = {
      "a", "b", "N", "x", "E", "e", "pi", "1", "2.5", ".5", "1e3", "1e", "0", "+", "-", "*", "/", "^", "**",
      "(", ")", ",", " ", "exp", "log", "log10", "lse", "min", "max", "pow", "sqrt", "abs", "foo", "`M S`",
      "`", "$", "1e999", "."};
  std::mt19937_64 rng(11);
  std::vector<double> p(Expr::kMaxParameters, 0.7);
  std::vector<double> g(Expr::kMaxParameters);
  const double v[2] = {3.0, -2.0};
  int parsed = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string s;
    const size_t n = rng() % 16;
    if (i % 10 == 9) {
      for (size_t k = 0; k < n; ++k) s += static_cast<char>(rng() % 256);
    } else {
      for (size_t k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
    }
    try {
      const Expr f = Expr::parse(s, {"N", "x"});
      ++parsed;
      const double d = f.eval(p.data(), v);
      const double j = f.eval(p.data(), v, g.data());
      EXPECT_TRUE((std::isnan(d) && std::isnan(j)) || d == j || std::abs(d - j) <= 1e-12 * std::abs(d)) << s;
    } catch (const InputError&) {
    }
  }
  EXPECT_GT(parsed, 1000);  // the generator does reach valid formulas
}

}  // namespace fathom::fit
