#pragma once
// Sequential<M...>: modules applied in turn, as torch.nn.Sequential, with children named
// "0", "1", … in the state_dict. Every join is checked at compile time: when the class is
// instantiated (against the inputs its first module could take) and again for the actual
// input of a call. A Linear (or any module with forward_fused) directly followed by an
// element-wise activation runs as one GEMM with the activation in its epilogue.

#include <cstddef>
#include <string>
#include <tuple>
#include <utility>

#include "mmm/compose/module.hpp"
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
class Sequential : public Callable<Sequential<Ms...>> {
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

  template <std::size_t I>
  auto& get() noexcept { return std::get<I>(children_); }
  template <std::size_t I>
  const auto& get() const noexcept { return std::get<I>(children_); }
  static constexpr std::size_t size() noexcept { return sizeof...(Ms); }

  template <class V>
  void visit_parameters(V&& visit, const std::string& prefix) {
    visit_children(*this, visit, prefix, std::index_sequence_for<Ms...>{});
  }
  template <class V>
  void visit_parameters(V&& visit, const std::string& prefix) const {
    visit_children(*this, visit, prefix, std::index_sequence_for<Ms...>{});
  }

  void prepare() {
    std::apply([](auto&... m) { (prepare_if_needed(m), ...); }, children_);
  }

  template <class In>
  auto forward(const In& in, Workspace& ws) const {
    using check = chain_t<In, Ms...>;
    if constexpr (!check::ok) {
      (void)sizeof(typename check::error);  // the readable error
      return in;
    } else {
      return step<0>(in, ws);
    }
  }

 private:
  template <class Self, class V, std::size_t... I>
  static void visit_children(Self& self, V& visit, const std::string& prefix, std::index_sequence<I...>) {
    (std::get<I>(self.children_).visit_parameters(visit, join_name(prefix, std::to_string(I))), ...);
  }

  template <std::size_t I, class X>
  auto step(const X& x, Workspace& ws) const {
    if constexpr (I == sizeof...(Ms)) {
      return x;
    } else {
      using M = std::tuple_element_t<I, std::tuple<Ms...>>;
      if constexpr (I + 1 < sizeof...(Ms)) {
        using Next = std::tuple_element_t<I + 1, std::tuple<Ms...>>;
        if constexpr (detail::FusableActivation<Next> && detail::FusesActivation<M, X>) {
          return step<I + 2>(std::get<I>(children_).forward_fused(x, ws, Next::fused_activation), ws);
        } else {
          return step<I + 1>(std::get<I>(children_).forward(x, ws), ws);
        }
      } else {
        return step<I + 1>(std::get<I>(children_).forward(x, ws), ws);
      }
    }
  }

  std::tuple<Ms...> children_;
};

}  // namespace mmm
