#pragma once
// What a composition may hand to the module that ends it: an activation and a residual to
// apply in that module's output pass (a GEMM epilogue), instead of two more passes over the
// output. Residual asks its body for this, Sequential passes it on to its last step.
//
// A residual is a tensor kind of the output's shape. A module that adds it takes a pointer
// (forward_fused(x, ws, act, const float*), as Conv2D and BatchNorm2D do) and says its
// output shape beforehand (output_shape(x), or a convolution's output_height(h) and
// output_width(w)), so that a residual of another shape is a
// ShapeError before anything is read; a composition takes the kind itself and checks at
// its last step.

#include <concepts>

#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"
#include "mmm/core/workspace.hpp"
#include "mmm/kernels/activation.hpp"

namespace mmm::detail {

// The shape m gives for x, said before running it: output_shape(x), or a convolution's
// output_height/output_width.
template <class M, class X>
concept SaysOutputShape = requires(const M& m, const X& x) {
  { m.output_shape(x) } -> std::convertible_to<Shape>;
} || requires(const X& x) {
  { M::output_height(x.height) } -> std::convertible_to<index>;
  { M::output_width(x.width) } -> std::convertible_to<index>;
  M::out_channels;
};

template <class M, class X>
Shape output_shape_of(const M& m, const X& x) {
  if constexpr (requires { m.output_shape(x); })
    return m.output_shape(x);
  else
    return {x.batch, M::out_channels, M::output_height(x.height), M::output_width(x.width)};
}

template <class M, class X>
concept AddsResidualInEpilogue = SaysOutputShape<M, X> && requires(const M& m, const X& x, Workspace& ws, const float* r) {
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
    const Shape out = output_shape_of(m, x);
    if (!(out == residual.shape()))
      throw ShapeError(M::name() + ": gives " + out.str() + ", and the residual to add to it is " + residual.shape().str());
    return m.forward_fused(x, ws, activation, residual.data);
  } else {
    return m.forward_fused(x, ws, activation, residual);
  }
}

}  // namespace mmm::detail
