#pragma once
// Fork<M...>: every branch reads the same input. It takes one kind and gives Branches of what
// each branch gives, for a fusion to join — two heads over one feature, a gated mix of two
// views of a sequence, a residual-like join of a body and a projection:
//
//   Sequential<Fork<Sequential<Linear<64, 64>, ReLU>, Linear<64, 64>>, FusionSum>
//
// state_dict names: the branches are children "0", "1", … (an nn.ModuleList whose forward
// applies every member to its one input, as tools/mmm_fusion.py's Fork does).
//
// Joins: Fork<A, B> accepts K when every branch accepts K. Branches that can never share an
// input (Fork<Linear<4, 8>, Embedding<10, 8>>) stop at the type, before any call, with the
// first branch that rejects the first input the others take:
//   join_error<in_branch<1, Embedding<10, 8>>, expects<Tokens>, input_is<Feat<4>>>
// An input that does not fit is reported the same way when the Fork is called directly, and
// as join_error<Fork<…>, expects<in_branch<1, Tokens>>, previous_module_gives<…>> after
// another module in a Sequential.
//
// Memory: the input stays alive for every branch (it was allocated before the Fork began);
// whatever a branch leaves besides its output is released before the next branch runs.

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "mmm/compose/branches.hpp"
#include "mmm/compose/module_base.hpp"
#include "mmm/compose/parallel.hpp"
#include "mmm/compose/sequential.hpp"

namespace mmm {

namespace detail {

template <class Candidates, class... Ms>
struct fork_filter;
template <class... Ms>
struct fork_filter<kinds<>, Ms...> {
  using type = kinds<>;
};
template <class L, class K>
struct lists_kind : std::false_type {};
template <class... Ks, class K>
struct lists_kind<kinds<Ks...>, K> : std::bool_constant<(std::is_same_v<Ks, K> || ...)> {};

template <class K, class... Ks, class... Ms>
struct fork_filter<kinds<K, Ks...>, Ms...> {
  using rest = typename fork_filter<kinds<Ks...>, Ms...>::type;
  using type = std::conditional_t<(Ms::template accepts<K> && ...) && !lists_kind<rest, K>::value,
                                  typename concat_kinds<kinds<K>, rest>::type, rest>;
};

// The candidates of every branch that lists some, kept (once) where all branches accept them; no
// list at all (every branch takes anything) leaves the check to the call.
template <class... Ms>
struct fork_candidates {
  using all = typename concat_kinds<typename Ms::candidate_inputs...>::type;
  static constexpr bool any_listed = !std::is_same_v<all, kinds<>>;
  using type = typename fork_filter<all, Ms...>::type;
  // Branches that can never share an input: some list exists, but nothing in it fits all.
  static constexpr bool impossible = any_listed && std::is_same_v<type, kinds<>>;
};

template <class In, class... Ms>
struct fork_rejection {
  static constexpr std::size_t bad = first_false<Ms::template accepts<In>...>();
  static constexpr std::size_t at = bad < sizeof...(Ms) ? bad : 0;
  using branch = nth_t<at, Ms...>;
  using expects = in_branch<at, typename branch::template expects<In>>;
  using error = join_error<in_branch<at, branch>, mmm::expects<typename branch::template expects<In>>, input_is<In>>;
};

template <class L>
struct first_kind;
template <class K, class... Ks>
struct first_kind<kinds<K, Ks...>> {
  using type = K;
};

}  // namespace detail

template <class... Ms>
class Fork : public ModuleBase<Fork<Ms...>>, public Children<Ms...> {
  static_assert(sizeof...(Ms) > 0, "Fork needs at least one branch");
  static_assert((Module<Ms> && ...), "Fork<M...>: every branch must be a module");
  using candidates = detail::fork_candidates<Ms...>;

  // Branches that no input fits are reported as soon as the type is used.
  static constexpr bool report_eagerly() {
    if constexpr (candidates::impossible) {
      using first = typename detail::first_kind<typename detail::concat_kinds<typename Ms::candidate_inputs...>::type>::type;
      (void)sizeof(typename detail::fork_rejection<first, Ms...>::error);
    }
    return true;
  }
  static_assert(report_eagerly());

 public:
  template <class In>
  static constexpr bool accepts = TensorKind<In> && (Ms::template accepts<In> && ...);
  template <class In>
  using output = Branches<typename Ms::template output<In>...>;
  template <class In>
  using expects = typename detail::fork_rejection<In, Ms...>::expects;
  using candidate_inputs = typename candidates::type;

  static std::string name() { return "Fork<" + detail::list_names<Ms...>() + ">"; }

  static void parameters(auto& self, auto&& p) { numbered_children(self.children_, p); }

  template <class In>
  auto forward(const In& in, Workspace& ws) const {
    if constexpr (!accepts<In>) {
      (void)sizeof(typename detail::fork_rejection<In, Ms...>::error);
      return in;
    } else {
      return run(in, ws, std::index_sequence_for<Ms...>{});
    }
  }

 private:
  template <class In, std::size_t... I>
  auto run(const In& in, Workspace& ws, std::index_sequence<I...>) const {
    const Workspace::Mark start = ws.mark();
    output<In> out;
    ((std::get<I>(out.items) = this->template get<I>().forward(in, ws), ws.release_except(start, out)), ...);
    return out;
  }
};

}  // namespace mmm
