#pragma once
// Naive double-precision GEMM with the same epilogue, and helpers shared by the gemm tests.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <mmm/kernels/gemm.hpp>

namespace mmm::test {

struct Matrix {
  index rows = 0, cols = 0, ld = 0;
  std::vector<float> v;
  Matrix() = default;
  Matrix(index r, index c, index pad, std::mt19937& rng) : rows(r), cols(c), ld(c + pad) {
    v.resize(static_cast<std::size_t>(std::max<index>(1, r * ld)));
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (auto& x : v) x = d(rng);
  }
  float at(index i, index j) const { return v[static_cast<std::size_t>(i * ld + j)]; }
  float* data() { return v.data(); }
  const float* data() const { return v.data(); }
};

struct Expected {
  std::vector<float> value;  // m×n, dense
  std::vector<double> scale;  // per element: the size of the terms, for the error bound
};

// op(A)[i][k], op(B)[k][j] read from the stored matrices.
inline Expected reference(bool ta, bool tb, index m, index n, index k, const Matrix& a, const Matrix& b,
                          const std::vector<float>& c_before, index ldc, const kernels::Epilogue& ep) {
  Expected e;
  e.value.resize(static_cast<std::size_t>(m * n));
  e.scale.resize(e.value.size());
  for (index i = 0; i < m; ++i)
    for (index j = 0; j < n; ++j) {
      double s = 0, mag = 0;
      for (index kk = 0; kk < k; ++kk) {
        const double x = ta ? a.at(kk, i) : a.at(i, kk);
        const double y = tb ? b.at(j, kk) : b.at(kk, j);
        s += x * y;
        mag += std::abs(x * y);
      }
      double r = ep.alpha * s;
      mag *= std::abs(ep.alpha);
      if (ep.bias) {
        r += ep.bias[j];
        mag += std::abs(ep.bias[j]);
      }
      if (ep.residual) {
        // A residual aliasing C reads C as it was before the call (c_before).
        const double rv = c_before.empty() ? ep.residual[i * ep.ld_residual + j]
                                           : c_before[static_cast<std::size_t>(i * ldc + j)];
        r += rv;
        mag += std::abs(rv);
      }
      float out = static_cast<float>(r);
      kernels::apply(ep.activation, &out, &out, 1);
      e.value[static_cast<std::size_t>(i * n + j)] = out;
      e.scale[static_cast<std::size_t>(i * n + j)] = mag + std::abs(out) + 1e-3;
    }
  return e;
}

// Largest error relative to the size of the terms; fp32 accumulation over k terms stays
// well below 1e-5 of that for the k used here.
inline double worst_error(const Expected& e, const float* c, index m, index n, index ldc, std::string* where = nullptr) {
  double worst = 0;
  for (index i = 0; i < m; ++i)
    for (index j = 0; j < n; ++j) {
      const std::size_t q = static_cast<std::size_t>(i * n + j);
      const double got = c[i * ldc + j];
      const double err = std::isnan(got) ? 1e30 : std::abs(got - e.value[q]) / e.scale[q];
      if (err > worst) {
        worst = err;
        if (where) {
          char text[128];
          std::snprintf(text, sizeof text, "(%td,%td) got %.8g want %.8g", i, j, got, double(e.value[q]));
          *where = text;
        }
      }
    }
  return worst;
}

}  // namespace mmm::test
