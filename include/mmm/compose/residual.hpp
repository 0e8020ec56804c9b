#pragma once
// Residual<Body, Shortcut = Identity, After = Identity>: a residual connection,
//   out = After(Body(x) + Shortcut(x))
// as ResNet's blocks and every transformer layer have. Body and Shortcut take the same
// input and must give the same kind (checked at compile time) and shape (at run time, a
// ShapeError naming both). After is an element-wise activation module (ReLU, ...) or
// Identity for none; a Residual followed by an activation in a Sequential takes it as After.
//
// state_dict names: the body's under "body", the shortcut's under "shortcut" (an Identity
// has none), as a torch module with `self.body` and `self.shortcut` names them. Blocks that
// follow another naming (torchvision's BasicBlock: conv1, bn1, …, downsample) are their own
// modules (models/resnet.hpp) built the same way.
//
// The add costs no pass of its own when the body ends in a module that adds a residual in
// its output pass (a convolution's GEMM epilogue, a BatchNorm2D; or a Sequential ending in
// one): the shortcut is computed first and handed to that last step with After. Otherwise
// the body's output and the shortcut are added and After applied in one pass.
//
// Memory: x (the caller's) and the shortcut's output stay alive until the add, which is all
// the block keeps; whatever else the shortcut and the body allocate is released as soon as
// it is read, and the block's scratch is released before it returns (core/workspace.hpp).

#include <concepts>
#include <string>
#include <type_traits>

#include "mmm/compose/epilogue.hpp"
#include "mmm/compose/module_base.hpp"
#include "mmm/compose/sequential.hpp"
#include "mmm/kernels/math.hpp"
#include "mmm/layers/identity.hpp"

namespace mmm {

// For messages: a Residual whose body and shortcut give different kinds.
template <class BodyGives, class ShortcutGives>
struct body_and_shortcut_give {};

namespace detail {
template <class Body, class Shortcut, class In, bool = Body::template accepts<In> && Shortcut::template accepts<In>>
struct residual_fit {
  static constexpr bool ok = false;
  using expects = std::conditional_t<Body::template accepts<In>, typename Shortcut::template expects<In>,
                                     typename Body::template expects<In>>;
};
template <class Body, class Shortcut, class In>
struct residual_fit<Body, Shortcut, In, true> {
  using body_output = typename Body::template output<In>;
  using shortcut_output = typename Shortcut::template output<In>;
  static constexpr bool ok = std::same_as<body_output, shortcut_output> && FloatKind<body_output>;
  using expects = std::conditional_t<ok, In, body_and_shortcut_give<body_output, shortcut_output>>;
};
}  // namespace detail

template <class Body, class Shortcut = Identity, class After = Identity>
class Residual : public ModuleBase<Residual<Body, Shortcut, After>> {
  static_assert(Module<Body> && Module<Shortcut>, "Residual<Body, Shortcut>: both must be modules");
  static_assert(std::same_as<After, Identity> || detail::FusableActivation<After>,
                "Residual<Body, Shortcut, After>: After must be an element-wise activation module (ReLU, GELU, ...) or Identity");

  static constexpr kernels::Activation after() {
    if constexpr (detail::FusableActivation<After>)
      return After::fused_activation;
    else
      return kernels::Activation::none;
  }

 public:
  template <class In>
  static constexpr bool accepts = detail::residual_fit<Body, Shortcut, In>::ok;
  template <class In>
  using output = typename Body::template output<In>;
  template <class In>
  using expects = typename detail::residual_fit<Body, Shortcut, In>::expects;
  using candidate_inputs = typename Body::candidate_inputs;

  static std::string name() {
    return "Residual<" + Body::name() + (std::same_as<Shortcut, Identity> ? "" : ", " + Shortcut::name()) +
           (std::same_as<After, Identity> ? "" : ", " + After::name()) + ">";
  }

  static void parameters(auto& self, auto&& p) {
    p("body", self.body_);
    p("shortcut", self.shortcut_);
  }

  Body& body() noexcept { return body_; }
  const Body& body() const noexcept { return body_; }
  Shortcut& shortcut() noexcept { return shortcut_; }
  const Shortcut& shortcut() const noexcept { return shortcut_; }

  template <class In>
  auto forward(const In& x, Workspace& ws) const {
    if constexpr (!accepts<In>) {
      (void)sizeof(join_error<Residual, mmm::expects<expects<In>>, input_is<In>>);
      return x;
    } else {
      return add(x, ws, after());
    }
  }

  // With an activation after the add, when After is Identity: a Sequential fuses the
  // activation that follows a Residual this way.
  template <class In>
    requires(accepts<In> && std::same_as<After, Identity>)
  output<In> forward_fused(const In& x, Workspace& ws, kernels::Activation activation) const {
    return add(x, ws, activation);
  }

 private:
  template <class In>
  output<In> add(const In& x, Workspace& ws, kernels::Activation activation) const {
    const Workspace::Mark start = ws.mark();
    const auto shortcut = shortcut_.forward(x, ws);
    ws.release_except(start, shortcut);
    if constexpr (detail::FusesResidual<Body, In, output<In>>) {
      const output<In> y = detail::forward_with_residual(body_, x, ws, activation, shortcut);
      ws.release_except(start, y);
      return y;
    } else {
      const output<In> body = body_.forward(x, ws);
      if (!(body.shape() == shortcut.shape()))
        throw ShapeError(name() + ": the body gives " + body.shape().str() + " and the shortcut " +
                         shortcut.shape().str() + "; they must match to be added");
      float* sum = ws.allocate<float>(body.numel());
      kernels::add(body.data, shortcut.data, sum, body.numel());
      kernels::apply(activation, sum, sum, body.numel());
      const output<In> y = same_shape(body, sum);
      ws.release_except(start, y);
      return y;
    }
  }

  Body body_;
  Shortcut shortcut_;
};

}  // namespace mmm
