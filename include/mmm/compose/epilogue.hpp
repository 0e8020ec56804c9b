#pragma once
// What a composition may hand to the module that ends it: an activation and a residual to
// apply in that module's output pass (a GEMM epilogue), instead of two more passes over the
// output. Residual asks its body for this, Sequential passes it on to its last step.
//
// A residual is a tensor kind of the output's shape. A module that adds it takes a pointer
// (forward_fused(x, ws, act, const float*), as Conv2D and BatchNorm2D do) and says its
// output shape beforehand (output_shape(x)), so that a residual of another shape is a
// ShapeError before anything is read; a composition takes the kind itself and checks at
// its last step.

#include <concepts>

#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/core/workspace.hpp"
#include "mmm/kernels/activation.hpp"

namespace mmm::detail {

template <class M, class X>
concept AddsResidualInEpilogue = requires(const M& m, const X& x, Workspace& ws, const float* r) {
  { m.output_shape(x) } -> std::convertible_to<Shape>;
  m.forward_fused(x, ws, kernels::Activation::relu, r);
};

template <class M, class X, class R>
concept PassesResidualToEpilogue = TensorKind<R> && requires(const M& m, const X& x, Workspace& ws, const R& r) {
  m.forward_fused(x, ws, kernels::Activation::relu, r);
};

template <class M, class X, class R>
concept FusesResidual = AddsResidualInEpilogue<M, X> || PassesResidualToEpilogue<M, X, R>;

// m(x) + residual, then `activation`, all in m's last output pass.
template <class M, class X, class R>
  requires FusesResidual<M, X, R>
auto forward_with_residual(const M& m, const X& x, Workspace& ws, kernels::Activation activation, const R& residual) {
  if constexpr (AddsResidualInEpilogue<M, X>) {
    const Shape out = m.output_shape(x);
    if (!(out == residual.shape()))
      throw ShapeError(M::name() + ": gives " + out.str() + ", and the residual to add to it is " + residual.shape().str());
    return m.forward_fused(x, ws, activation, residual.data);
  } else {
    return m.forward_fused(x, ws, activation, residual);
  }
}

}  // namespace mmm::detail
