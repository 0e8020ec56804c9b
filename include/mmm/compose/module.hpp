#pragma once
// What a module is. A module is a type with
//   - a name for messages:                 static std::string name()
//   - the kinds it takes, and what for:    template <class In> static constexpr bool accepts
//                                          template <class In> using output    (when accepted)
//                                          template <class In> using expects   (for messages)
//                                          using candidate_inputs = kinds<...> (some it accepts)
//   - its parameters under PyTorch's state_dict names:
//                                          visit_parameters(visitor, prefix) (const and not)
//   - a const forward that takes its scratch and output from the caller's Workspace:
//                                          output<In> forward(const In&, Workspace&) const
//   - optionally prepare(), called after loading (pack weights, fold norms).
// Modules do not write these out one by one: compose/module_base.hpp derives them from a
// signature (compose/signature.hpp) and one list of named parameters.
//
// Joins between modules are checked with these facts before any forward is instantiated,
// so a mismatch is reported as one readable error instead of a cascade.

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "mmm/core/kinds.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/core/workspace.hpp"

namespace mmm {

// A type-level list of kinds.
template <class... Ks>
struct kinds {};

// state_dict names: "" + "weight" = "weight", "0" + "weight" = "0.weight".
inline std::string join_name(const std::string& prefix, std::string_view name) {
  std::string full = prefix;
  if (!full.empty()) full += '.';
  return full += name;
}

// The visitor signature modules call: visit(full_name, tensor).
struct ParameterVisitorArchetype {
  void operator()(const std::string&, Tensor&) const {}
  void operator()(const std::string&, const Tensor&) const {}
};

template <class M>
concept Module = requires(M& m, const M& cm, ParameterVisitorArchetype v, const std::string& prefix) {
  { M::name() } -> std::convertible_to<std::string>;
  typename M::candidate_inputs;
  m.visit_parameters(v, prefix);
  cm.visit_parameters(v, prefix);
};

template <class M, class In>
concept ModuleAccepting = Module<M> && TensorKind<In> && M::template accepts<In> &&
                          requires(const M& m, const In& in, Workspace& ws) {
                            { m.forward(in, ws) } -> std::same_as<typename M::template output<In>>;
                          };

template <class M>
concept HasPrepare = requires(M& m) { m.prepare(); };

template <class M>
void prepare_if_needed(M& m) {
  if constexpr (HasPrepare<M>) m.prepare();
}

// Gives every module the two ways to call it directly:
//   m(x, ws)  runs on the caller's Workspace (reset first); the result views into it.
//   m(x)      convenience for one-off calls: its own workspace, an owning result.
// A model whose first module is a Parallel takes one input per branch:
//   m(image, tokens, ws) and m(image, tokens) are m(Branches{image, tokens}, ...).
template <class Derived>
struct Callable {
  template <class In>
  auto operator()(const In& in, Workspace& ws) const {
    ws.reset();
    return self().forward(in, ws);
  }
  template <class In>
  auto operator()(const In& in) const {
    Workspace ws;
    return self().forward(in, ws).to_tensor();
  }
  // Several inputs, optionally followed by the Workspace.
  template <class First, class Second, class... Rest>
    requires TensorKind<First> && TensorKind<std::remove_cvref_t<Second>>
  auto operator()(const First& first, Second&& second, Rest&&... rest) const {
    constexpr std::size_t n = 2 + sizeof...(Rest);
    auto args = std::forward_as_tuple(first, second, rest...);
    using Last = std::remove_cvref_t<std::tuple_element_t<n - 1, decltype(args)>>;
    if constexpr (std::same_as<Last, Workspace>) {
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return (*this)(make_branches(std::get<I>(args)...), std::get<n - 1>(args));
      }(std::make_index_sequence<n - 1>{});
    } else {
      return (*this)(make_branches(first, second, rest...));
    }
  }

 private:
  template <class... Ks>
  static Branches<std::remove_cvref_t<Ks>...> make_branches(const Ks&... ks) {
    return Branches<std::remove_cvref_t<Ks>...>(ks...);
  }
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

// ---- Join checking ----

// These three templates exist to be read in a compiler's error output: a failed join
// shows as join_error<Module, expects<Kind>, previous_module_gives<Kind>>.
template <class Kind>
struct expects {};
// What a module that takes many kinds expects, for those messages.
struct any_float_kind {};
struct any_row_kind {};  // Feat<D> or Seq<D>
template <class Kind>
struct previous_module_gives {};
template <class Kind>
struct input_is {};

template <class Module, class Expected, class Given>
struct join_error {
  static_assert(sizeof(Module) == 0,
                "a module does not accept what comes before it: read the types of join_error<Module, "
                "expects<Kind>, previous_module_gives<Kind> or input_is<Kind>> in the lines above");
};

// A module whose output size is taken from the module after it (Flatten<>, which flattens
// to the size the next module takes): in a chain it stands for M::resolve<Next>, and
// Sequential runs that. Where nothing follows it, it is left as it is and does not fit.
template <class M>
concept SizedByNextModule = M::sized_by_next_module;

namespace detail {

// The module that runs in place of M when Next follows it.
template <class M, class Next>
struct resolved {
  using type = M;
};
template <SizedByNextModule M, class Next>
struct resolved<M, Next> {
  using type = typename M::template resolve<Next>;
};
template <SizedByNextModule M>
struct resolved<M, void> {
  using type = M;
};

template <template <class> class Given, class In, class... Ms>
struct chain;

template <bool Accepts, template <class> class Given, class In, class M, class... Rest>
struct chain_after;

template <template <class> class Given, class In>
struct chain<Given, In> {
  static constexpr bool ok = true;
  using output = In;
  using error = void;
};

template <template <class> class Given, class In, class M, class... Rest>
struct chain<Given, In, M, Rest...> : chain_after<M::template accepts<In>, Given, In, M, Rest...> {};

template <template <class> class Given, class In, SizedByNextModule M, class Next, class... Rest>
struct chain<Given, In, M, Next, Rest...> : chain<Given, In, typename M::template resolve<Next>, Next, Rest...> {};

template <template <class> class Given, class In, class M, class... Rest>
struct chain_after<true, Given, In, M, Rest...> : chain<previous_module_gives, typename M::template output<In>, Rest...> {};

template <template <class> class Given, class In, class M, class... Rest>
struct chain_after<false, Given, In, M, Rest...> {
  static constexpr bool ok = false;
  using output = void;
  using error = join_error<M, expects<typename M::template expects<In>>, Given<In>>;
};

// Whether any of the first module's candidate inputs makes the whole chain fit, and the
// failure of the first candidate when none does.
template <class Candidates, class... Ms>
struct any_chain;
template <class... Ms>
struct any_chain<kinds<>, Ms...> {  // the first module takes anything: check at the call
  static constexpr bool ok = true;
  using first_error = void;
};
template <class K0, class... Ks, class... Ms>
struct any_chain<kinds<K0, Ks...>, Ms...> {
  static constexpr bool ok = chain<input_is, K0, Ms...>::ok || (chain<input_is, Ks, Ms...>::ok || ...);
  using first_error = typename chain<input_is, K0, Ms...>::error;
};

}  // namespace detail

// The output of modules Ms applied in turn to In, and whether every join fits.
template <class In, class... Ms>
using chain_t = detail::chain<input_is, In, Ms...>;

}  // namespace mmm
