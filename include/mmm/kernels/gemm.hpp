#pragma once
// The one GEMM every layer uses, behind a small plain API (pointers, sizes, strides).
//
//   C[m×n] = act(alpha · A[m×k] · B[k×n] + bias[n] + residual[m×n])
//
// Weights are packed once at load time (PackedWeights); per-call operands (attention
// scores, values) go through the unpacked overload, which packs into thread-local
// buffers that only grow. Layers never see tile sizes: the register-tiled micro-kernels,
// cache blocking and thread split live in kernels/detail/gemm_*.hpp. The instruction set
// is the best one the including translation unit is compiled for (AVX-512, AVX2+FMA,
// AVX, SSE2, NEON, else scalar), so every translation unit of a program must agree on
// its -march flags, as with any header-only SIMD library.

#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/detail/gemm_driver.hpp"
#include "mmm/kernels/detail/gemv_kernel.hpp"
#include "mmm/kernels/math.hpp"

namespace mmm::kernels {

// What happens to each output element after the product, in this order:
// scale by alpha, add bias[col], add residual[row·ld_residual + col], apply activation.
// residual may alias C (with ld_residual == ldc): that is how to accumulate into C. A and
// B must not overlap C: A may be read in place while C is written.
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
    p.panels_ = detail::PackedPanels<detail::kernel_arch>(true, w, k, n, ldw);
    return p;
  }
  static PackedWeights from_nk(const float* w, index n, index k) { return from_nk(w, n, k, k); }

  // From B[k×n] (ldb ≥ n), already in product orientation.
  static PackedWeights from_kn(const float* b, index k, index n, index ldb) {
    PackedWeights p;
    p.panels_ = detail::PackedPanels<detail::kernel_arch>(false, b, k, n, ldb);
    return p;
  }

  index n() const noexcept { return panels_.n(); }
  index k() const noexcept { return panels_.k(); }
  bool empty() const noexcept { return panels_.empty(); }
  // Whether the columns from `col` on can be used on their own (gemm_columns): `col` is on a
  // boundary of the packed panels. Layers ask this instead of knowing the panel width.
  bool splits_at(index col) const noexcept {
    return col >= 0 && col <= n() && col % detail::PackedPanels<detail::kernel_arch>::nr == 0;
  }
  // The packed panels (kernel layout, not W): for the kernel only.
  const float* data() const noexcept { return panels_.data(); }

 private:
  detail::PackedPanels<detail::kernel_arch> panels_;
};

namespace detail {
inline ProductEpilogue product_epilogue(const Epilogue& ep) {
  return {ep.alpha, ep.bias, ep.residual, ep.ld_residual, ep.activation};
}
}  // namespace detail

// gemv: one row times packed weights, y[n] = epilogue(x[k] · B), B a PackedWeights (as for
// kernels::gemm). A decoder's step (a vocabulary head, a projection of one token) is this
// product, and it is bound by reading B: every weight is used once. So the loop does
// nothing but stream B's panels front to back (they lie one after another in memory), with
// eight accumulators per panel — four depth chains of the panel's two vectors — and leaves
// the fetching to the hardware prefetcher, which keeps up with one sequential stream
// better than software hints do (these cost load slots: 8000×256 weights took 121 µs
// through the blocked GEMM with its hints, 107 µs here, a plain read 87 µs).
//
// The sums are in the GEMM's order for a one-row tile (depth k into chain k mod 4, the
// chains added 0+1, +2, +3), so gemv and gemm give the same bits for depths up to the
// GEMM's depth block (1024). Threads split the panels when the weights are a megabyte or
// more (bandwidth is what a second core adds).

// y[n] = epilogue(x[k] · B) for one row x (a residual, if any, is one row too, and may be
// y). x must not overlap y.
inline void gemv(const float* x, const PackedWeights& b, float* y, const Epilogue& ep = {}) {
  detail::gemv_run(x, b.data(), b.n(), b.k(), y, detail::product_epilogue(ep));
}

// The share `share` of `shares` of gemv's columns (its panels split evenly), for a team of
// threads that computes one row together inside its own parallel region, each member with
// its rank; no threads of its own. The same bits as gemv.
inline void gemv_share(const float* x, const PackedWeights& b, float* y, index share, index shares,
                       const Epilogue& ep = {}) {
  constexpr index nr = detail::PackedPanels<detail::kernel_arch>::nr;
  const index panels = (b.n() + nr - 1) / nr;
  detail::gemv_panels<detail::kernel_arch>(x, b.data(), b.n(), b.k(), panels * share / shares,
                                           panels * (share + 1) / shares, y, detail::product_epilogue(ep));
}

// C[m×n] (ldc) = epilogue(A[m×k] (lda) · B), B packed. A residual aliasing C is honoured.
inline void gemm(index m, const float* a, index lda, const PackedWeights& b, float* c, index ldc,
                 const Epilogue& ep = {}) {
  if (m == 1) return gemv(a, b, c, ep);  // a decoder's token: bound by streaming B

  detail::OperandB bop;
  bop.packed = b.data();
  detail::gemm_run<detail::kernel_arch>(m, b.n(), b.k(), false, a, lda, bop, c, ldc, detail::product_epilogue(ep));
}

// C[m×n] (ldc) = epilogue(A · B[:, first, first + n)): some of the packed columns, e.g. the
// key/value part of a fused query/key/value projection. b.splits_at(first) must hold and
// first + n ≤ b.n(); bias (if any) is indexed from column `first`, i.e. pass bias + first.
inline void gemm_columns(index m, const float* a, index lda, const PackedWeights& b, index first, index n, float* c,
                         index ldc, const Epilogue& ep = {}) {
  if (!b.splits_at(first) || n < 0 || first + n > b.n())
    throw ShapeError("gemm_columns: columns [" + std::to_string(first) + ", " + std::to_string(first + n) +
                     ") do not start on a panel boundary of weights with " + std::to_string(b.n()) + " columns");
  const float* panels = b.data() + first * b.k();  // panel first/NR starts first/NR·k·NR = first·k floats in
  if (m == 1) return detail::gemv_run(a, panels, n, b.k(), c, detail::product_epilogue(ep));
  detail::OperandB bop;
  bop.packed = panels;
  detail::gemm_run<detail::kernel_arch>(m, n, b.k(), false, a, lda, bop, c, ldc, detail::product_epilogue(ep));
}

// The same with op(A) = Aᵀ when ta is Trans::yes: A stored k×m (lda ≥ m), e.g. channel
// planes read as positions × channels.
inline void gemm(Trans ta, index m, const float* a, index lda, const PackedWeights& b, float* c, index ldc,
                 const Epilogue& ep = {}) {
  detail::OperandB bop;
  bop.packed = b.data();
  detail::gemm_run<detail::kernel_arch>(m, b.n(), b.k(), ta == Trans::yes, a, lda, bop, c, ldc,
                                        detail::product_epilogue(ep));
}

// General product on unpacked operands: C = epilogue(op(A)·op(B)), op = transpose or not.
// A is m×k after op, B is k×n after op; lda/ldb are the row strides as stored.
inline void gemm(Trans ta, Trans tb, index m, index n, index k, const float* a, index lda, const float* b, index ldb,
                 float* c, index ldc, const Epilogue& ep = {}) {
  detail::OperandB bop;
  bop.plain = b;
  bop.ldb = ldb;
  bop.trans = tb == Trans::yes;
  detail::gemm_run<detail::kernel_arch>(m, n, k, ta == Trans::yes, a, lda, bop, c, ldc, detail::product_epilogue(ep));
}

// C[m×n] (ldc) = epilogue(A[m×k] (lda) · Wᵀ) for a small W[n×k] stored as torch stores a
// Linear weight (row-major, row stride k) and a few rows: one dot product per output,
// nothing packed, no threads, none of the blocked driver's set-up, which is most of the
// time of a Linear(H→1) on one row (a real-time model's output layer, ~50 ns of 60).
// For products of at most small_product_macs multiply-adds. The residual may alias C.
inline constexpr index small_product_macs = 4096;
inline void gemm_small(index m, const float* a, index lda, const float* w, index n, index k, float* c, index ldc,
                       const Epilogue& ep = {}) {
  using F = simd::Floats<xsimd::default_arch>;
  constexpr index W = static_cast<index>(F::size);
  for (index i = 0; i < m; ++i) {
    const float* x = a + i * lda;
    float* y = c + i * ldc;
    for (index j = 0; j < n; ++j) {
      const float* row = w + j * k;
      F acc(0.0f);
      index d = 0;
      for (; d + W <= k; d += W) acc = detail::Simd<xsimd::default_arch>::fma(F::load_unaligned(x + d), F::load_unaligned(row + d), acc);
      if (d < k) acc = detail::Simd<xsimd::default_arch>::fma(Math::load_partial(x + d, k - d, 0.0f), Math::load_partial(row + d, k - d, 0.0f), acc);
      y[j] = ep.alpha * xsimd::hadd(acc) + (ep.bias ? ep.bias[j] : 0.0f) +
             (ep.residual ? ep.residual[i * ep.ld_residual + j] : 0.0f);
    }
    if (ep.activation != Activation::none) apply(ep.activation, y, y, n);
  }
}

// Where consecutive products of a batch start, in elements (e.g. one attention head after
// another). The bias is shared by all; the residual advances by `residual`.
struct BatchStrides {
  index a = 0, b = 0, c = 0, residual = 0;
};

// `batch` independent products C_i = epilogue(op(A_i)·op(B_i)), A_i = a + i·strides.a and
// so on, as for the unpacked gemm. Threads take whole products when there are enough of
// them (attention heads), and split each product otherwise.
inline void gemm_batched(index batch, Trans ta, Trans tb, index m, index n, index k, const float* a, index lda,
                         const float* b, index ldb, float* c, index ldc, const BatchStrides& strides,
                         const Epilogue& ep = {}) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  auto one = [&](index i) {
    Epilogue e = ep;
    if (e.residual) e.residual += i * strides.residual;
    gemm(ta, tb, m, n, k, a + i * strides.a, lda, b + i * strides.b, ldb, c + i * strides.c, ldc, e);
  };
  if (batch >= num_threads()) {
    // Inside parallel_for each gemm sees num_threads() == 1 and stays on its thread.
    parallel_for(batch, 1, [&](index begin, index end) {
      for (index i = begin; i < end; ++i) one(i);
    });
  } else {
    for (index i = 0; i < batch; ++i) one(i);
  }
}

}  // namespace mmm::kernels
