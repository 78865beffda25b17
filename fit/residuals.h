#pragma once
// Internal to fit/: the residuals of one fitting problem and the solver call, shared by the
// fitter (fitter.cpp) and the resampling methods (resample.cpp: bootstrap, extrapolation).
// Includes Ceres' Jet types; nothing outside fit/ includes this file.
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "fit/fitter.h"
#include "fit/jet_math.h"

namespace fathom::fit::detail {

constexpr int kChunk = 8;  // derivatives carried per Jet pass
const double kNaN = std::numeric_limits<double>::quiet_NaN();

inline std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

// ρ(r) and ρ'(r) of the loss (see law.h).
inline double rho(const Loss& l, double r, double* d) {
  switch (l.kind) {
    case LossKind::None:
      if (d) *d = r;
      return 0.5 * r * r;
    case LossKind::Huber: {
      const double a = std::abs(r), delta = l.scale;
      if (a <= delta) {
        if (d) *d = r;
        return 0.5 * r * r;
      }
      if (d) *d = r > 0 ? delta : -delta;
      return delta * (a - 0.5 * delta);
    }
    case LossKind::Cauchy: {
      const double c2 = l.scale * l.scale, q = 1 + r * r / c2;
      if (d) *d = r / q;
      return 0.5 * c2 * std::log(q);
    }
  }
  return 0;
}

// The residuals of one problem: data with logarithms precomputed, the free parameters and the
// values of the fixed ones.
class Residuals {
 public:
  Residuals(const Law& law, const Dataset& data, const Options& o) : law_(law), o_(o), n_(data.size()) {
    const size_t nv = law.variables.size();
    xs_.resize(n_ * nv);
    lxs_.resize(n_ * nv);
    for (size_t i = 0; i < n_; ++i) {
      for (size_t v = 0; v < nv; ++v) {
        const double x = data.x[v][i];
        xs_[i * nv + v] = x;
        lxs_[i * nv + v] = x > 0 ? std::log(x) : kNaN;
      }
    }
    ys_ = data.y;
    if (o.space == Space::Log)
      for (double& y : ys_) y = std::log(y);
    base_.assign(law.params.size(), 0);
    for (size_t j = 0; j < law.params.size(); ++j) {
      const auto it = o.fixed.find(law.params[j].name);
      if (it == o.fixed.end()) {
        free_.push_back(j);
      } else {
        base_[j] = it->second;
      }
    }
  }

  size_t n() const { return n_; }
  size_t k() const { return free_.size(); }
  const std::vector<size_t>& free_index() const { return free_; }
  const Law& law() const { return law_; }
  const Options& options() const { return o_; }

  std::vector<double> full(const double* u) const {
    std::vector<double> p = base_;
    for (size_t j = 0; j < free_.size(); ++j) p[free_[j]] = u[j];
    return p;
  }
  std::vector<double> reduce(const std::vector<double>& p) const {
    std::vector<double> u(free_.size());
    for (size_t j = 0; j < free_.size(); ++j) u[j] = p[free_[j]];
    return u;
  }
  bool in_bounds(const double* u) const {
    for (size_t j = 0; j < free_.size(); ++j) {
      const ParamSpec& s = law_.params[free_[j]];
      if (!(u[j] >= s.lower && u[j] <= s.upper)) return false;
    }
    return true;
  }

  double residual(size_t i, const double* p) const {
    const size_t nv = law_.variables.size();
    const double* x = &xs_[i * nv];
    const double* lx = &lxs_[i * nv];
    const double f = o_.space == Space::Log ? law_.log_value(p, x, lx) : law_.value(p, x, lx);
    return f - ys_[i];
  }
  // Parameters as Jets carrying d/d u_j for the free parameters j in [c0, c0 + 8).
  void seed(const double* u, size_t c0, std::vector<Jet8>& p) const {
    p.resize(base_.size());
    for (size_t j = 0; j < base_.size(); ++j) p[j] = Jet8(base_[j]);
    for (size_t j = 0; j < free_.size(); ++j) {
      p[free_[j]] = Jet8(u[j]);
      if (j >= c0 && j < c0 + kChunk) p[free_[j]].v[static_cast<int>(j - c0)] = 1.0;
    }
  }
  Jet8 residual_jet(size_t i, const Jet8* p) const {
    const size_t nv = law_.variables.size();
    const double* x = &xs_[i * nv];
    const double* lx = &lxs_[i * nv];
    Jet8 f = o_.space == Space::Log ? law_.log_value(p, x, lx) : law_.value(p, x, lx);
    f.a -= ys_[i];
    return f;
  }

  // Σ ρ(r_i) and its gradient in u; false when not finite or outside the bounds.
  bool objective(const double* u, double* cost, double* grad) const {
    if (!in_bounds(u)) return false;
    const std::vector<double> p = full(u);
    double c = 0;
    if (!grad) {
      for (size_t i = 0; i < n_; ++i) c += rho(o_.loss, residual(i, p.data()), nullptr);
    } else {
      std::fill(grad, grad + k(), 0.0);
      std::vector<Jet8> pj;
      for (size_t c0 = 0; c0 < k(); c0 += kChunk) {
        seed(u, c0, pj);
        const size_t c1 = std::min(k(), c0 + kChunk);
        for (size_t i = 0; i < n_; ++i) {
          const Jet8 r = residual_jet(i, pj.data());
          double d = 0;
          const double v = rho(o_.loss, r.a, &d);
          if (c0 == 0) c += v;
          for (size_t j = c0; j < c1; ++j) grad[j] += d * r.v[static_cast<int>(j - c0)];
        }
      }
    }
    *cost = c;
    if (!std::isfinite(c)) return false;
    if (grad)
      for (size_t j = 0; j < k(); ++j)
        if (!std::isfinite(grad[j])) return false;
    return true;
  }

 private:
  const Law& law_;
  const Options& o_;
  size_t n_;
  std::vector<double> xs_, lxs_, ys_;
  std::vector<double> base_;
  std::vector<size_t> free_;
};

struct Outcome {
  std::vector<double> u;
  double objective = kNaN;
  std::string termination, message;
  bool converged = false;
  int iterations = 0;
};

// Minimises the problem from the free parameters `u` (Levenberg–Marquardt or L-BFGS as the
// options say); `screen` uses the looser screening tolerances.
Outcome solve(const Residuals& r, std::vector<double> u, bool screen = false);

}  // namespace fathom::fit::detail
