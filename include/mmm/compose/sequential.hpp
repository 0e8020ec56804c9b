#pragma once
// Sequential<M...>: modules applied in turn, as torch.nn.Sequential, with children named
// "0", "1", … in the state_dict. Every join is checked at compile time: when the class is
// instantiated (against the inputs its first module could take) and again for the actual
// input of a call. A Linear (or any module with forward_fused) directly followed by an
// element-wise activation runs as one GEMM with the activation in its epilogue.
//
// Memory: once a step has produced its output, everything the earlier steps allocated
// that the output does not point into is released (core/workspace.hpp states the rule),
// so a deep Sequential holds two activations and one step's scratch at a time.

#include <cstddef>
#include <string>
#include <tuple>
#include <utility>

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
      return step<0>(in, ws, ws.mark());
    }
  }

 private:
  template <std::size_t I>
  using child_t = std::tuple_element_t<I, std::tuple<Ms...>>;

  // Whether child I and the activation after it run as one fused call.
  template <std::size_t I, class X>
  static constexpr bool fuses_next() {
    if constexpr (I + 1 < sizeof...(Ms))
      return detail::FusableActivation<child_t<I + 1>> && detail::FusesActivation<child_t<I>, X>;
    else
      return false;
  }

  template <std::size_t I, class X>
  auto step(const X& x, Workspace& ws, Workspace::Mark start) const {
    if constexpr (I == sizeof...(Ms)) {
      return x;
    } else if constexpr (fuses_next<I, X>()) {
      const auto y = this->template get<I>().forward_fused(x, ws, child_t<I + 1>::fused_activation);
      ws.release_except(start, y);
      return step<I + 2>(y, ws, start);
    } else {
      const auto y = this->template get<I>().forward(x, ws);
      ws.release_except(start, y);
      return step<I + 1>(y, ws, start);
    }
  }
};

}  // namespace mmm
