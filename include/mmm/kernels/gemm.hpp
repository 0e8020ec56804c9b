#pragma once
// The one GEMM every layer uses, behind a small plain API (pointers, sizes, strides).
//
//   C[m×n] = act(alpha · A[m×k] · B[k×n] + bias[n] + residual[m×n])
//
// Weights are packed once at load time (PackedWeights); per-call operands (attention
// scores, values) go through the unpacked overload. Layers never see tile sizes.
//
// (Reference version: Eigen products plus a separate epilogue pass; the tuned kernel
// replaces the bodies, never the signatures.)

#include <Eigen/Core>

#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/math.hpp"

namespace mmm::kernels {

// What happens to each output element after the product, in this order:
// scale by alpha, add bias[col], add residual[row·ld_residual + col], apply activation.
// residual may alias C (with ld_residual == ldc): that is how to accumulate into C.
struct Epilogue {
  float alpha = 1.0f;
  const float* bias = nullptr;
  const float* residual = nullptr;
  index ld_residual = 0;
  Activation activation = Activation::none;
};

enum class Trans : bool { no = false, yes = true };

// B packed for the kernel, from weights laid out as PyTorch stores a Linear weight:
// W[n×k] row-major, used as B = Wᵀ. Immutable after packing; share freely.
class PackedWeights {
 public:
  PackedWeights() = default;

  // From W[n×k] (ldw ≥ k): B = Wᵀ. This is nn.Linear's weight.
  static PackedWeights from_nk(const float* w, index n, index k, index ldw) {
    PackedWeights p;
    p.n_ = n;
    p.k_ = k;
    p.data_ = allocate_aligned<float>(n * k);
    for (index j = 0; j < n; ++j) std::copy_n(w + j * ldw, k, p.data_.get() + j * k);
    return p;
  }
  static PackedWeights from_nk(const float* w, index n, index k) { return from_nk(w, n, k, k); }

  // From B[k×n] (ldb ≥ n), already in product orientation.
  static PackedWeights from_kn(const float* b, index k, index n, index ldb) {
    PackedWeights p;
    p.n_ = n;
    p.k_ = k;
    p.data_ = allocate_aligned<float>(n * k);
    for (index kk = 0; kk < k; ++kk)
      for (index j = 0; j < n; ++j) p.data_[static_cast<std::size_t>(j * k + kk)] = b[kk * ldb + j];
    return p;
  }

  index n() const noexcept { return n_; }
  index k() const noexcept { return k_; }
  bool empty() const noexcept { return !data_; }
  const float* data() const noexcept { return data_.get(); }

 private:
  index n_ = 0, k_ = 0;
  AlignedArray<float> data_;  // W[n×k] row-major in this reference version
};

namespace detail {
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapC = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;
using MapA = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;

inline void run_epilogue(index m, index n, float* c, index ldc, const Epilogue& ep) {
  for (index i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (ep.alpha != 1.0f)
      for (index j = 0; j < n; ++j) row[j] *= ep.alpha;
    if (ep.bias)
      for (index j = 0; j < n; ++j) row[j] += ep.bias[j];
    if (ep.residual) {
      const float* r = ep.residual + i * ep.ld_residual;
      if (r != row)
        for (index j = 0; j < n; ++j) row[j] += r[j];
    }
    apply(ep.activation, row, row, n);
  }
}
}  // namespace detail

// C[m×n] (ldc) = epilogue(A[m×k] (lda) · B), B packed. A residual aliasing C is honoured.
inline void gemm(index m, const float* a, index lda, const PackedWeights& b, float* c, index ldc,
                 const Epilogue& ep = {}) {
  const index n = b.n(), k = b.k();
  if (m == 0 || n == 0) return;
  detail::MapC cm(c, m, n, Eigen::OuterStride<>(ldc));
  const bool accumulate = ep.residual == c && ep.ld_residual == ldc;
  detail::MapA am(a, m, k, Eigen::OuterStride<>(lda));
  detail::MapA wm(b.data(), n, k, Eigen::OuterStride<>(k));
  if (accumulate) {
    detail::RowMatrix product = am * wm.transpose();
    detail::MapC pm(product.data(), m, n, Eigen::OuterStride<>(n));
    detail::run_epilogue(m, n, pm.data(), n, {ep.alpha, ep.bias, nullptr, 0, Activation::none});
    cm += pm;
    for (index i = 0; i < m; ++i) apply(ep.activation, c + i * ldc, c + i * ldc, n);
    return;
  }
  cm.noalias() = am * wm.transpose();
  detail::run_epilogue(m, n, c, ldc, ep);
}

// General product on unpacked operands: C = epilogue(op(A)·op(B)), op = transpose or not.
// A is m×k after op, B is k×n after op; lda/ldb are the row strides as stored.
inline void gemm(Trans ta, Trans tb, index m, index n, index k, const float* a, index lda, const float* b, index ldb,
                 float* c, index ldc, const Epilogue& ep = {}) {
  if (m == 0 || n == 0) return;
  detail::MapC cm(c, m, n, Eigen::OuterStride<>(ldc));
  detail::MapA am(a, ta == Trans::no ? m : k, ta == Trans::no ? k : m, Eigen::OuterStride<>(lda));
  detail::MapA bm(b, tb == Trans::no ? k : n, tb == Trans::no ? n : k, Eigen::OuterStride<>(ldb));
  const bool accumulate = ep.residual == c && ep.ld_residual == ldc;
  detail::RowMatrix product(m, n);
  if (ta == Trans::no && tb == Trans::no) product.noalias() = am * bm;
  else if (ta == Trans::no) product.noalias() = am * bm.transpose();
  else if (tb == Trans::no) product.noalias() = am.transpose() * bm;
  else product.noalias() = am.transpose() * bm.transpose();
  Epilogue rest = ep;
  if (accumulate) {
    rest.residual = nullptr;
    rest.activation = Activation::none;
    detail::run_epilogue(m, n, product.data(), n, rest);
    cm += product;
    for (index i = 0; i < m; ++i) apply(ep.activation, c + i * ldc, c + i * ldc, n);
    return;
  }
  cm = product;
  detail::run_epilogue(m, n, c, ldc, ep);
}

}  // namespace mmm::kernels
