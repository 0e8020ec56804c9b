#pragma once
// What every composition over branches shares (Parallel, Fork, the fusions that join their
// outputs): which branch a join fails in, and the run-time rule that all branches carry the
// same batch.

#include <cstddef>
#include <string>
#include <tuple>

#include "mmm/compose/module.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/core/kinds.hpp"

namespace mmm {

// For messages: a composition of N branches (Parallel, a fusion with one input per branch)
// expects Branches of N kinds.
template <std::size_t N>
struct one_input_per_branch {};

}  // namespace mmm

namespace mmm::detail {

// The position of the first false among Oks, or sizeof...(Oks) when all hold.
template <bool... Oks>
constexpr std::size_t first_false() {
  constexpr bool oks[] = {Oks..., true};
  std::size_t i = 0;
  while (i < sizeof...(Oks) && oks[i]) ++i;
  return i;
}

template <std::size_t I, class... Ts>
using nth_t = std::tuple_element_t<I, std::tuple<Ts...>>;

// The batch of any kind; Branches carry their first element's.
template <class K>
index batch_of(const K& k) noexcept {
  return k.batch;
}
template <class... Ks>
index batch_of(const Branches<Ks...>& b) noexcept {
  return batch_of(std::get<0>(b.items));
}

// Every element of `branches` has branch 0's batch, else a ShapeError from `who` naming the
// first branch that differs.
template <class Who, class... Ks>
void check_same_batch(const Branches<Ks...>& branches) {
  const index batch = batch_of(std::get<0>(branches.items));
  std::size_t i = 0;
  auto check = [&](const auto& k) {
    if (batch_of(k) != batch)
      throw ShapeError(Who::name() + ": branch " + std::to_string(i) + " has batch " + std::to_string(batch_of(k)) +
                       ", branch 0 has " + std::to_string(batch) + "; every branch needs the same batch");
    ++i;
  };
  std::apply([&](const auto&... k) { (check(k), ...); }, branches.items);
}

}  // namespace mmm::detail
