#pragma once
// Sequential<M...>: modules applied in turn, as torch.nn.Sequential, with children named
// "0", "1", … in the state_dict. Every join is checked at compile time: when the class is
// instantiated (against the inputs its first module could take) and again for the actual
// input of a call. A Linear (or any module with forward_fused) directly followed by an
// element-wise activation runs as one GEMM with the activation in its epilogue.
//
// A normalization that folds into the module before it (BatchNorm2D after a convolution:
// fold_into) is folded at prepare(), i.e. at load, and skipped by the forward; the
// activation after the pair then goes into the convolution's epilogue. A Sequential whose
// last step takes an activation (and a residual) in its epilogue offers forward_fused too,
// so that an activation after it, or a Residual around it, fuses into that last step.
//
// Memory: once a step has produced its output, everything the earlier steps allocated
// that the output does not point into is released (core/workspace.hpp states the rule),
// so a deep Sequential holds two activations and one step's scratch at a time.

#include <concepts>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "mmm/compose/epilogue.hpp"
#include "mmm/compose/module_base.hpp"
#include "mmm/kernels/activation.hpp"

namespace mmm {

namespace detail {
template <class M>
concept FusableActivation = requires { M::fused_activation; };

template <class M, class In>
concept FusesActivation = requires(const M& m, const In& in, Workspace& ws) {
  m.forward_fused(in, ws, kernels::Activation::relu);
};

// Next is folded into Prev at prepare() (a BatchNorm2D after a convolution).
template <class Next, class Prev>
concept FoldsInto = requires(Next& next, Prev& prev) { next.fold_into(prev); };

template <class... Ms>
std::string list_names() {
  std::string s;
  ((s += (s.empty() ? "" : ", ") + Ms::name()), ...);
  return s;
}
}  // namespace detail

template <class... Ms>
class Sequential : public ModuleBase<Sequential<Ms...>>, public Children<Ms...> {
  static_assert(sizeof...(Ms) > 0, "Sequential needs at least one module");
  using First = std::tuple_element_t<0, std::tuple<Ms...>>;
  using eager_check = detail::any_chain<typename First::candidate_inputs, Ms...>;

  // Reports the first bad join as soon as the model type is used, before any call.
  static constexpr bool report_eagerly() {
    if constexpr (!eager_check::ok) (void)sizeof(typename eager_check::first_error);
    return true;
  }
  static_assert(report_eagerly());

  static constexpr std::size_t size_ = sizeof...(Ms);
  template <std::size_t I>
  using stored_t = std::tuple_element_t<I, std::tuple<Ms...>>;
  // The module that runs as child I: the child itself, or what a Flatten<> resolves to
  // before the child after it (compose/module.hpp).
  template <std::size_t I>
  using child_t =
      typename detail::resolved<stored_t<I>, std::tuple_element_t<(I + 1 < size_ ? I + 1 : size_), std::tuple<Ms..., void>>>::type;

  // What the caller asks the last step to apply: nothing, or an activation and a residual.
  struct NoTail {
    static constexpr bool present = false;
  };
  template <class R>
  struct Tail {
    static constexpr bool present = true;
    using residual_type = R;
    kernels::Activation activation;
    const R* residual;
  };

  // Child I is folded into child I − 1 at prepare() and skipped by the forward.
  template <std::size_t I>
  static constexpr bool folded() {
    if constexpr (I == 0 || I >= size_)
      return false;
    else
      return detail::FoldsInto<child_t<I>, child_t<I - 1>>;
  }
  // The child after step I and what is folded into it.
  template <std::size_t I>
  static constexpr std::size_t after() { return I + 1 + (folded<I + 1>() ? 1 : 0); }

  // Whether step I and the activation after it run as one fused call.
  template <std::size_t I, class X>
  static constexpr bool fuses_activation() {
    if constexpr (after<I>() < size_)
      return detail::FusableActivation<child_t<after<I>()>> && detail::FusesActivation<child_t<I>, X>;
    else
      return false;
  }

  // The child the step after step I starts at.
  template <std::size_t I, class X>
  static constexpr std::size_t next() { return after<I>() + (fuses_activation<I, X>() ? 1 : 0); }

  // Whether the last step, reached from step I with input X, takes an activation (and a
  // residual R, unless R is void) in its epilogue, having no activation of its own.
  template <std::size_t I, class X, class R>
  static constexpr bool tail_fits() {
    if constexpr (I >= size_)
      return false;
    else if constexpr (next<I, X>() < size_)
      return tail_fits<next<I, X>(), typename child_t<I>::template output<X>, R>();
    else if constexpr (fuses_activation<I, X>())
      return false;
    else if constexpr (std::is_void_v<R>)
      return detail::FusesActivation<child_t<I>, X>;
    else
      return detail::FusesResidual<child_t<I>, X, R>;
  }

 public:
  template <class In>
  static constexpr bool accepts = TensorKind<In> && chain_t<In, Ms...>::ok;
  template <class In>
  using output = typename chain_t<In, Ms...>::output;
  template <class In>
  using expects = typename First::template expects<In>;
  using candidate_inputs = typename First::candidate_inputs;

  static std::string name() { return "Sequential<" + detail::list_names<Ms...>() + ">"; }

  static void parameters(auto& self, auto&& p) { numbered_children(self.children_, p); }

  template <class In>
  auto forward(const In& in, Workspace& ws) const {
    using check = chain_t<In, Ms...>;
    if constexpr (!check::ok) {
      (void)sizeof(typename check::error);  // the readable error
      return in;
    } else {
      return step<0>(in, ws, ws.mark(), NoTail{});
    }
  }

  // The forward with `activation`, and a residual of the output's shape added before it,
  // applied by the last step in its output pass; only when that step can take them.
  template <class In>
    requires chain_t<In, Ms...>::ok && (tail_fits<0, In, void>())
  auto forward_fused(const In& in, Workspace& ws, kernels::Activation activation) const {
    return step<0>(in, ws, ws.mark(), Tail<void>{activation, nullptr});
  }
  template <class In, TensorKind R>
    requires chain_t<In, Ms...>::ok && (tail_fits<0, In, R>())
  auto forward_fused(const In& in, Workspace& ws, kernels::Activation activation, const R& residual) const {
    return step<0>(in, ws, ws.mark(), Tail<R>{activation, &residual});
  }

  // Folds every child that folds into the one before it, then prepares them all.
  void prepare() {
    [this]<std::size_t... I>(std::index_sequence<I...>) {
      (fold<I>(), ...);
    }(std::index_sequence_for<Ms...>{});
    this->prepare_children();
  }

 private:
  template <std::size_t I>
  void fold() {
    if constexpr (folded<I>()) this->template get<I>().fold_into(this->template get<I - 1>());
  }

  template <std::size_t I, class X, class T>
  auto step(const X& x, Workspace& ws, Workspace::Mark start, const T& tail) const {
    if constexpr (I == size_) {
      return x;
    } else {
      constexpr std::size_t n = next<I, X>();
      // A resolved child is a stateless stand-in (FlattenTo<D> for Flatten<>).
      const auto& m = [this]() -> decltype(auto) {
        if constexpr (std::same_as<child_t<I>, stored_t<I>>)
          return this->template get<I>();
        else
          return child_t<I>{};
      }();
      const auto y = [&] {
        if constexpr (T::present && n == size_) {
          if constexpr (std::is_void_v<typename T::residual_type>)
            return m.forward_fused(x, ws, tail.activation);
          else
            return detail::forward_with_residual(m, x, ws, tail.activation, *tail.residual);
        } else if constexpr (fuses_activation<I, X>()) {
          return m.forward_fused(x, ws, child_t<after<I>()>::fused_activation);
        } else {
          return m.forward(x, ws);
        }
      }();
      ws.release_except(start, y);
      return step<n>(y, ws, start, tail);
    }
  }
};

}  // namespace mmm
