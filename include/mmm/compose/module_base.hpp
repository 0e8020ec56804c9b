#pragma once
// The anatomy every module shares, written once. A module reads as
//
//   template <index In, index Out>
//   class Linear : public ModuleBase<Linear<In, Out>, Rows<In, Out>> {   // takes and gives
//    public:
//     static std::string name() { ... }
//     static void parameters(auto& self, auto&& p) { p(self.params_); }  // state_dict names
//     output<K> forward(const K& x, Workspace& ws) const { ... }
//   };
//
// and ModuleBase derives from the list in parameters() what every module needs:
// visit_parameters() for a const and a mutable model (saving, loading), and prepare(),
// which prepares every child after loading. The list is a function template over `self`
// (const or not) and a sink `p` that takes
//   p("weight", tensor)      a parameter under its state_dict name
//   p("out_proj", child)     a child module (or parameter group) whose names get the prefix
//   p(child)                 a child whose names are this module's own (a parameter group
//                            such as GemmWeights, or a wrapped module such as a head's Linear)
//   p.unused("num_batches_tracked")
//                            a state_dict entry torch saves that mmm does not need (any
//                            dtype): load() accepts it when present and does not ask for it
// A module with more to do after loading (packing, folding) defines prepare() itself and
// calls prepare_children() first.

#include <concepts>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "mmm/compose/module.hpp"
#include "mmm/compose/signature.hpp"

namespace mmm {

// What a visitor is given for a p.unused(name) entry: a name the module knows but reads
// nothing from. Visitors that do not take it (fill every tensor, list the parameters) never
// see these entries.
struct UnusedEntry {};

namespace detail {

template <class T>
concept ParameterTensor = std::same_as<std::remove_const_t<T>, Tensor>;

// Turns the entries of a parameter list into visitor calls with full names.
template <class V>
struct VisitSink {
  V& visit;
  const std::string& prefix;

  template <ParameterTensor T>
  void operator()(std::string_view name, T& tensor) const {
    visit(join_name(prefix, name), tensor);
  }
  template <class Child>
    requires(!ParameterTensor<Child>)
  void operator()(std::string_view name, Child& child) const {
    child.visit_parameters(visit, join_name(prefix, name));
  }
  template <class Child>
  void operator()(Child& child) const {
    child.visit_parameters(visit, prefix);
  }
  void unused(std::string_view name) const {
    if constexpr (std::is_invocable_v<V&, const std::string&, UnusedEntry>) visit(join_name(prefix, name), UnusedEntry{});
  }
};

// Prepares every child of a parameter list; tensors need nothing.
struct PrepareSink {
  template <ParameterTensor T>
  void operator()(std::string_view, T&) const {}
  template <class Child>
    requires(!ParameterTensor<Child>)
  void operator()(std::string_view, Child& child) const {
    prepare_if_needed(child);
  }
  template <class Child>
  void operator()(Child& child) const {
    prepare_if_needed(child);
  }
  void unused(std::string_view) const {}
};

}  // namespace detail

// Entries "0", "1", … for the elements of a tuple of children, as nn.Sequential and
// nn.ModuleList number theirs.
template <class Tuple, class Sink>
void numbered_children(Tuple& children, Sink&& p) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (p(std::to_string(I), std::get<I>(children)), ...);
  }(std::make_index_sequence<std::tuple_size_v<std::remove_const_t<Tuple>>>{});
}

// The children of a composition (Sequential's steps, Parallel's branches), numbered.
template <class... Ms>
class Children {
 public:
  template <std::size_t I>
  auto& get() noexcept { return std::get<I>(children_); }
  template <std::size_t I>
  const auto& get() const noexcept { return std::get<I>(children_); }
  static constexpr std::size_t size() noexcept { return sizeof...(Ms); }

 protected:
  std::tuple<Ms...> children_;
};

// A group of parameters with the visit and prepare machinery but no forward: a module's
// building block (GemmWeights) or the base of a module (ModuleBase).
template <class Self>
struct Parameterized {
  // No parameters unless Self lists them.
  static void parameters(auto&, auto&&) {}

  template <class V>
  void visit_parameters(V&& visit, const std::string& prefix) {
    Self::parameters(static_cast<Self&>(*this), detail::VisitSink<V>{visit, prefix});
  }
  template <class V>
  void visit_parameters(V&& visit, const std::string& prefix) const {
    Self::parameters(static_cast<const Self&>(*this), detail::VisitSink<V>{visit, prefix});
  }

  void prepare() { prepare_children(); }

 protected:
  void prepare_children() { Self::parameters(static_cast<Self&>(*this), detail::PrepareSink{}); }
};

// For modules that state accepts/output/expects/candidate_inputs themselves.
struct OwnSignature {};

// The base of every module: its signature (what it takes and gives), the parameter
// machinery, and the two ways to call it (Callable).
template <class Self, class Signature = OwnSignature>
struct ModuleBase : Signature, Parameterized<Self>, Callable<Self> {};

}  // namespace mmm
