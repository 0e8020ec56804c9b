#pragma once
// Parallel<M...>: one module per branch, each with its own input. It takes Branches<K...>
// (one kind per branch: an image Map<3> for the vision branch, question Tokens for the text
// branch) and gives Branches of what each branch gives, for a fusion module (FusionConcat)
// to join. Call a model that starts with it as model(image, tokens[, ws]).
//
// state_dict names: the branches are children "0", "1", … as in Sequential, so the torch
// side is any module whose branches are registered under those names — an nn.ModuleList,
// or an nn.Module with add_module("0", ...) — e.g. "0.1.weight" is branch 0's child 1.
//
// Joins: Parallel<A, B> accepts Branches<KA, KB> when A accepts KA and B accepts KB. An
// input that one branch does not take is reported with the branch's position: called
// directly, join_error<in_branch<1, B>, expects<…>, input_is<KB>>; after another module in
// a Sequential, join_error<Parallel<A, B>, expects<in_branch<1, …>>, previous_module_gives<…>>.
// At run time every branch's input must have the same batch (ShapeError naming the branch).

#include <cstddef>
#include <string>
#include <tuple>
#include <utility>

#include "mmm/compose/branches.hpp"
#include "mmm/compose/module_base.hpp"
#include "mmm/compose/sequential.hpp"

namespace mmm {

namespace detail {

template <class In, class... Ms>
struct parallel_fit {
  static constexpr bool ok = false;
};
template <class... Ks, class... Ms>
  requires(sizeof...(Ks) == sizeof...(Ms))
struct parallel_fit<Branches<Ks...>, Ms...> {
  static constexpr bool ok = (Ms::template accepts<Ks> && ...);
};

// Every combination of the branches' candidate inputs, as Branches. A branch that takes
// anything (empty candidates) makes the whole Parallel take anything as far as the eager
// check is concerned.
template <class... Lists>
struct concat_kinds;
template <>
struct concat_kinds<> {
  using type = kinds<>;
};
template <class... As>
struct concat_kinds<kinds<As...>> {
  using type = kinds<As...>;
};
template <class... As, class... Bs, class... Rest>
struct concat_kinds<kinds<As...>, kinds<Bs...>, Rest...> : concat_kinds<kinds<As..., Bs...>, Rest...> {};

template <class Done, class... Lists>
struct branch_product;
template <class... Done>
struct branch_product<kinds<Done...>> {
  using type = kinds<Branches<Done...>>;
};
template <class... Done, class... Ks, class... Lists>
struct branch_product<kinds<Done...>, kinds<Ks...>, Lists...>
    : concat_kinds<typename branch_product<kinds<Done..., Ks>, Lists...>::type...> {};

template <class L>
struct is_empty_list : std::false_type {};
template <>
struct is_empty_list<kinds<>> : std::true_type {};

template <class... Ms>
struct parallel_candidates {
  using type = std::conditional_t<(is_empty_list<typename Ms::candidate_inputs>::value || ...), kinds<>,
                                  typename branch_product<kinds<>, typename Ms::candidate_inputs...>::type>;
};

template <class In, class... Ms>
struct parallel_output {
  using type = void;
};
template <class... Ks, class... Ms>
  requires(sizeof...(Ks) == sizeof...(Ms))
struct parallel_output<Branches<Ks...>, Ms...> {
  using type = Branches<typename Ms::template output<Ks>...>;
};

template <class In, class... Ms>
struct parallel_expects {
  using type = one_input_per_branch<sizeof...(Ms)>;
};
// The first branch that does not take its input, and what it needs.
template <class... Ks, class... Ms>
  requires(sizeof...(Ks) == sizeof...(Ms))
struct parallel_expects<Branches<Ks...>, Ms...> {
  static constexpr std::size_t bad = first_false<Ms::template accepts<Ks>...>();
  using type = std::conditional_t<(bad < sizeof...(Ms)),
                                  in_branch<(bad < sizeof...(Ms) ? bad : 0),
                                            typename nth_t<(bad < sizeof...(Ms) ? bad : 0), Ms...>::template expects<
                                                nth_t<(bad < sizeof...(Ms) ? bad : 0), Ks...>>>,
                                  Branches<typename Ms::template expects<Ks>...>>;
};

}  // namespace detail

template <class... Ms>
class Parallel : public ModuleBase<Parallel<Ms...>>, public Children<Ms...> {
  static_assert(sizeof...(Ms) > 0, "Parallel needs at least one branch");
  static_assert((Module<Ms> && ...), "Parallel<M...>: every branch must be a module");

 public:
  template <class In>
  static constexpr bool accepts = detail::parallel_fit<In, Ms...>::ok;
  template <class In>
  using output = typename detail::parallel_output<In, Ms...>::type;
  template <class In>
  using expects = typename detail::parallel_expects<In, Ms...>::type;
  using candidate_inputs = typename detail::parallel_candidates<Ms...>::type;

  static std::string name() { return "Parallel<" + detail::list_names<Ms...>() + ">"; }

  static void parameters(auto& self, auto&& p) { numbered_children(self.children_, p); }

  template <class... Ks>
  auto forward(const Branches<Ks...>& in, Workspace& ws) const {
    static_assert(sizeof...(Ks) == sizeof...(Ms), "Parallel: give exactly one input per branch");
    detail::check_same_batch<Parallel>(in);
    return run(in, ws, std::index_sequence_for<Ms...>{});
  }

 private:
  // One branch: its join_error when it does not take its input, else its output.
  template <std::size_t I, class K>
  auto branch(const K& x, Workspace& ws) const {
    using M = std::tuple_element_t<I, std::tuple<Ms...>>;
    if constexpr (!M::template accepts<K>) {
      (void)sizeof(join_error<in_branch<I, M>, mmm::expects<typename M::template expects<K>>, input_is<K>>);
      return x;
    } else {
      return this->template get<I>().forward(x, ws);
    }
  }

  // The branches in order; after each, whatever it left besides its output is released,
  // and every branch's output is kept for the join.
  template <class... Ks, std::size_t... I>
  auto run(const Branches<Ks...>& in, Workspace& ws, std::index_sequence<I...>) const {
    const Workspace::Mark start = ws.mark();
    Branches<decltype(branch<I>(std::get<I>(in.items), ws))...> out;
    ((std::get<I>(out.items) = branch<I>(std::get<I>(in.items), ws), ws.release_except(start, out)), ...);
    return out;
  }
};

}  // namespace mmm
