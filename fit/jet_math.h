#pragma once
// Internal to fit/*.cpp: Ceres' Jet type with the few helpers the laws share. Includes Ceres.
#include <algorithm>
#include <cmath>

#include <ceres/jet.h>

#include "fit/law.h"

namespace fathom::fit {

inline double value_of(double x) { return x; }
inline double value_of(const Jet8& x) { return x.a; }

// log(Σ e^{x_k}), shifted by the largest term so that it neither overflows nor underflows.
inline double lse(const double* x, int n) {
  double m = x[0];
  for (int k = 1; k < n; ++k) m = std::max(m, x[k]);
  if (!std::isfinite(m)) return m;
  double s = 0;
  for (int k = 0; k < n; ++k) s += std::exp(x[k] - m);
  return m + std::log(s);
}
// The same on Jets, with the chain rule written once: d lse = Σ softmax_k · dx_k. Three
// exponentials in double instead of three on Jets.
inline Jet8 lse(const Jet8* x, int n) {
  double m = x[0].a;
  for (int k = 1; k < n; ++k) m = std::max(m, x[k].a);
  Jet8 out;
  if (!std::isfinite(m)) {
    out.a = m;
    out.v.setConstant(std::numeric_limits<double>::quiet_NaN());
    return out;
  }
  double w[16];
  double s = 0;
  bool top = false;  // the largest term's weight is exactly 1: one exponential fewer
  for (int k = 0; k < n; ++k) {
    if (!top && x[k].a == m) {
      w[k] = 1;
      top = true;
    } else {
      w[k] = std::exp(x[k].a - m);
    }
    s += w[k];
  }
  out.a = m + std::log(s);
  out.v.setZero();
  for (int k = 0; k < n; ++k) out.v += (w[k] / s) * x[k].v;
  return out;
}

// Three and two terms without building an array (the laws' hot path).
inline double lse3(double a, double b, double c) {
  const double m = std::max(a, std::max(b, c));
  if (!std::isfinite(m)) return m;
  return m + std::log(std::exp(a - m) + std::exp(b - m) + std::exp(c - m));
}
inline Jet8 lse3(const Jet8& a, const Jet8& b, const Jet8& c) {
  const double m = std::max(a.a, std::max(b.a, c.a));
  Jet8 out;
  if (!std::isfinite(m)) {
    out.a = m;
    out.v.setConstant(std::numeric_limits<double>::quiet_NaN());
    return out;
  }
  // The largest term's weight is exactly 1: two exponentials, not three.
  const double wa = a.a == m ? 1.0 : std::exp(a.a - m);
  const double wb = b.a == m && a.a != m ? 1.0 : std::exp(b.a - m);
  const double wc = c.a == m && a.a != m && b.a != m ? 1.0 : std::exp(c.a - m);
  const double s = wa + wb + wc, r = 1.0 / s;
  out.a = m + std::log(s);
  out.v = (wa * r) * a.v + (wb * r) * b.v + (wc * r) * c.v;
  return out;
}
inline double lse2(double a, double b) {
  const double m = std::max(a, b);
  if (!std::isfinite(m)) return m;
  return m + std::log1p(std::exp(-std::abs(a - b)));
}
inline Jet8 lse2(const Jet8& a, const Jet8& b) {
  const double m = std::max(a.a, b.a);
  Jet8 out;
  if (!std::isfinite(m)) {
    out.a = m;
    out.v.setConstant(std::numeric_limits<double>::quiet_NaN());
    return out;
  }
  const double w = std::exp(-std::abs(a.a - b.a));  // weight of the smaller term
  const double big = 1.0 / (1.0 + w), small = w / (1.0 + w);
  out.a = m + std::log1p(w);
  out.v = a.a >= b.a ? big * a.v + small * b.v : small * a.v + big * b.v;
  return out;
}

}  // namespace fathom::fit
